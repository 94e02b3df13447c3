namespace CtxRelay.Relay.Features;

/// <summary>The relay's routes as callers see them, and the prefixes they are served under.</summary>
internal static class RelayRoutes
{
    /// <summary>The hosted relay's base URL ends in <c>/v1</c>; every route answers under it as well.</summary>
    public const string VersionPrefix = "/v1";

    public static readonly string[] All =
    [
        "POST /push", "GET /pull/{id}", "GET /peek/{id}", "DELETE /pull/{id}", "POST /publish/{channel}",
        "GET /ws/{channel}", "GET /channels/{channel}/history", "GET /channels/{channel}/groups", "GET /usage", "GET /console", "GET /healthz", "GET /readyz", "GET /",
    ];

    /// <summary>The configured path base as a <see cref="PathString"/> ("/relay"), or empty.</summary>
    public static PathString PathBase(RelayOptions relay)
        => string.IsNullOrWhiteSpace(relay.PathBase) || relay.PathBase.Trim().Trim('/').Length == 0
            ? PathString.Empty
            : new PathString("/" + relay.PathBase.Trim().Trim('/'));

    public static string NoSuchRoute(HttpRequest request)
        => $"No route for {request.Method} {request.PathBase}{request.Path}. This relay serves {string.Join(", ", All)}"
           + $" — at the root, under {VersionPrefix}, and under a configured path base (Relay:PathBase).";
}
