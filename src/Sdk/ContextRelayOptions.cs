namespace CtxRelay;

/// <summary>Settings of a <see cref="ContextRelay"/> client.</summary>
public sealed record ContextRelayOptions
{
    /// <summary>The address a relay listens on when nothing else is configured.</summary>
    public const string DefaultBaseUrl = "http://127.0.0.1:8787";

    public static ContextRelayOptions Default { get; } = new();

    /// <summary>The relay's base address, e.g. <c>http://127.0.0.1:8787</c>.</summary>
    public Uri BaseUrl { get; init; } = new(DefaultBaseUrl);

    /// <summary>A <c>cr_live_…</c> key of the workspace to act in.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Timeout for one HTTP call (not for subscriptions). Large payloads need room.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a subscription waits before it reconnects after losing the relay.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Interval of WebSocket keep-alive pings; a connection whose pong does not come back is reconnected.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Reads <c>CONTEXTRELAY_URL</c> (default <see cref="DefaultBaseUrl"/>) and <c>CONTEXTRELAY_API_KEY</c>.
    /// A URL that is not an absolute http(s) address throws <see cref="ArgumentException"/> naming the variable.
    /// </summary>
    public static ContextRelayOptions FromEnvironment()
    {
        var url = Environment.GetEnvironmentVariable("CONTEXTRELAY_URL");
        return Default with
        {
            BaseUrl = string.IsNullOrWhiteSpace(url) ? new Uri(DefaultBaseUrl) : ParseBaseUrl(url, "CONTEXTRELAY_URL"),
            ApiKey = Environment.GetEnvironmentVariable("CONTEXTRELAY_API_KEY") is { Length: > 0 } key ? key.Trim() : null,
        };
    }

    /// <summary>Parses a relay address, accepting only absolute http and https URLs.</summary>
    public static Uri ParseBaseUrl(string value, string what = "the relay URL")
    {
        ArgumentNullException.ThrowIfNull(value);
        if (Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        throw new ArgumentException($"{what} must be an http:// or https:// address such as {DefaultBaseUrl}, not '{value}'.", nameof(value));
    }
}
