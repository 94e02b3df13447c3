using CtxRelay.Relay.Internal;

namespace CtxRelay.Relay.Features;

/// <summary>
/// Refusals that apply to every request before it reaches an endpoint: API keys in the URL (they would land
/// in proxy and access logs) and compressed request bodies (a small gzip body can expand without bound).
/// </summary>
internal static class RequestGuards
{
    public static IApplicationBuilder UseRequestGuards(this IApplicationBuilder app)
        => app.Use(static (http, next) =>
        {
            foreach (var (name, values) in http.Request.Query)
            {
                foreach (var value in values)
                {
                    if (value is not null && value.Contains(Auth.ApiKeys.Prefix, StringComparison.Ordinal))
                    {
                        return Problems.WriteAsync(
                            http,
                            StatusCodes.Status400BadRequest,
                            "key-in-url",
                            "API key in the URL",
                            $"The query parameter '{name}' holds an API key. URLs end up in logs and browser history: send the key as 'Authorization: Bearer cr_live_…' instead, and revoke this one.");
                    }
                }
            }

            if (http.Request.Headers.ContentEncoding is { Count: > 0 } encoding
                && !encoding.All(e => string.Equals(e, "identity", StringComparison.OrdinalIgnoreCase)))
            {
                return Problems.WriteAsync(
                    http,
                    StatusCodes.Status415UnsupportedMediaType,
                    "compressed-body",
                    "Compressed request bodies are not accepted",
                    $"The relay does not decompress request bodies (Content-Encoding: {encoding}). Send the payload uncompressed; responses are compressed when you send Accept-Encoding.");
            }

            return next(http);
        });
}
