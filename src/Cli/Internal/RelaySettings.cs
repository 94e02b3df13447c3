namespace CtxRelay.Cli.Internal;

/// <summary>
/// Where the relay is and which key to send: <c>--url</c> / <c>--api-key</c>, else
/// <c>CONTEXTRELAY_URL</c> / <c>CONTEXTRELAY_API_KEY</c>, else the local default relay and no key (which an
/// open-mode relay accepts).
/// </summary>
internal sealed record RelaySettings(Uri BaseUrl, string? ApiKey)
{
    public static RelaySettings Resolve(string? url, string? apiKey)
    {
        Uri baseUrl;
        if (!string.IsNullOrWhiteSpace(url))
        {
            baseUrl = Parse(url, "--url");
        }
        else if (Environment.GetEnvironmentVariable("CONTEXTRELAY_URL") is { } fromEnvironment && !string.IsNullOrWhiteSpace(fromEnvironment))
        {
            baseUrl = Parse(fromEnvironment, "CONTEXTRELAY_URL");
        }
        else
        {
            baseUrl = new Uri(ContextRelayOptions.DefaultBaseUrl);
        }

        var key = !string.IsNullOrWhiteSpace(apiKey) ? apiKey : Environment.GetEnvironmentVariable("CONTEXTRELAY_API_KEY");
        return new RelaySettings(baseUrl, string.IsNullOrWhiteSpace(key) ? null : key.Trim());
    }

    /// <summary>The local default relay and no key: what an error names when the settings themselves were bad.</summary>
    public static RelaySettings Default { get; } = new(new Uri(ContextRelayOptions.DefaultBaseUrl), null);

    public ContextRelay CreateClient() => new(ContextRelayOptions.Default with { BaseUrl = BaseUrl, ApiKey = ApiKey });

    /// <summary>A relay address, or a usage error that says where the bad value came from.</summary>
    private static Uri Parse(string value, string source)
    {
        if (Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        throw new UsageException($"{source} '{value}' is not an http(s) address: set it to your relay's base URL, e.g. {ContextRelayOptions.DefaultBaseUrl}.");
    }
}
