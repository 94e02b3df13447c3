namespace CtxRelay.Relay.Auth;

/// <summary>
/// Browsers cannot set headers on a WebSocket, and a key in the URL would end up in logs. A browser offers two
/// subprotocols instead: <c>new WebSocket(url, ["contextrelay.v1", "contextrelay.bearer." + key])</c>. The relay
/// reads the key from the <c>Sec-WebSocket-Protocol</c> request header (never logged) and answers with
/// <c>contextrelay.v1</c>, so the key is never echoed back.
/// </summary>
internal static class BrowserAuth
{
    public const string Protocol = "contextrelay.v1";
    public const string BearerProtocolPrefix = "contextrelay.bearer.";

    /// <summary>The key a WebSocket upgrade carries in its subprotocols, or null.</summary>
    public static string? KeyFromSubprotocols(HttpRequest request)
    {
        foreach (var header in request.Headers.SecWebSocketProtocol)
        {
            foreach (var offered in (header ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (offered.StartsWith(BearerProtocolPrefix, StringComparison.Ordinal))
                {
                    return offered[BearerProtocolPrefix.Length..];
                }
            }
        }

        return null;
    }
}
