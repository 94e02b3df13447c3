namespace CtxRelay.Mcp.Internal;

/// <summary>
/// How this server reaches the relay, read once from <c>CONTEXTRELAY_URL</c> and
/// <c>CONTEXTRELAY_API_KEY</c>. A bad setting is kept as <see cref="ConfigurationError"/> instead of
/// thrown, so the server still starts and every tool call can tell the model what to fix.
/// </summary>
internal sealed record RelaySettings
{
    public const string UrlVariable = "CONTEXTRELAY_URL";
    public const string ApiKeyVariable = "CONTEXTRELAY_API_KEY";

    public required ContextRelayOptions Options { get; init; }

    /// <summary>What is wrong with the configuration, in words a model can pass on; null when usable.</summary>
    public string? ConfigurationError { get; init; }

    public bool HasApiKey => !string.IsNullOrWhiteSpace(Options.ApiKey);

    /// <summary>How the tools' error texts name these settings: the variables in this MCP server's configuration.</summary>
    public RelaySetup Setup => new()
    {
        ApiKeyName = ApiKeyVariable,
        UrlName = UrlVariable,
        Speaker = "this server",
        MissingKeyFix = $"Add {ApiKeyVariable}=<a cr_live_ key of your workspace> to the env of this MCP server's configuration and restart the server",
        WrongKeyFix = $"Set {ApiKeyVariable} in this MCP server's configuration to a valid cr_live_ key of your workspace and restart the server",
        UrlFix = $"fix {UrlVariable} in this MCP server's configuration",
        ConfigurationError = ConfigurationError,
    };

    public static RelaySettings FromEnvironment()
        => From(Environment.GetEnvironmentVariable(UrlVariable), Environment.GetEnvironmentVariable(ApiKeyVariable));

    public static RelaySettings From(string? url, string? apiKey)
    {
        var options = ContextRelayOptions.Default with { ApiKey = string.IsNullOrWhiteSpace(apiKey) ? null : apiKey.Trim() };
        if (string.IsNullOrWhiteSpace(url))
        {
            return new RelaySettings { Options = options };
        }

        if (Uri.TryCreate(url.Trim(), UriKind.Absolute, out var baseUrl)
            && (baseUrl.Scheme == Uri.UriSchemeHttp || baseUrl.Scheme == Uri.UriSchemeHttps))
        {
            return new RelaySettings { Options = options with { BaseUrl = baseUrl } };
        }

        return new RelaySettings
        {
            Options = options,
            ConfigurationError = $"{UrlVariable}='{url}' is not an http:// or https:// URL. Set it in this MCP server's "
                + $"configuration to the relay's base address (e.g. {ContextRelayOptions.DefaultBaseUrl}) and restart the server.",
        };
    }
}
