using CtxRelay.Relay.Storage;

namespace CtxRelay.Relay.Features;

/// <summary>GET / and GET /healthz, without authentication.</summary>
internal static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        var version = typeof(HealthEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        app.MapGet("/", () => TypedResults.Ok(new
        {
            name = "ContextRelay",
            version,
            endpoints = new[] { "POST /push", "GET /pull/{id}", "GET /peek/{id}", "DELETE /pull/{id}", "POST /publish/{channel}", "GET /ws/{channel}", "GET /channels/{channel}/history" },
            docs = "https://github.com/contextrelay/contextrelay/blob/main/docs/protocol.md",
        })).AllowAnonymous();

        app.MapGet("/healthz", async (IRelayStore store, StorageDescription storage, CancellationToken cancellationToken) =>
        {
            // Touch the store so a relay whose storage is gone reports unhealthy.
            await store.ReadEventsAsync("_health", "_health", 0, 1, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(new { status = "ok", storage = storage.Engine });
        }).AllowAnonymous();
    }
}

/// <summary>Which engine the relay runs on, for /healthz and the start-up line.</summary>
internal sealed record StorageDescription(string Engine);
