using CtxRelay.Relay.Storage;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Features;

/// <summary>GET / and GET /healthz, without authentication.</summary>
internal static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        var version = typeof(HealthEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        app.MapGet("/", (IOptions<RelayOptions> options) => TypedResults.Ok(new
        {
            name = "ContextRelay",
            version,
            open_mode = options.Value.Open.Enabled,
            endpoints = RelayRoutes.All,
            docs = "https://github.com/contextrelay/contextrelay/blob/main/docs/protocol.md",
        })).AllowAnonymous();

        app.MapGet("/healthz", async (IRelayStore store, StorageDescription storage, IOptions<RelayOptions> options, CancellationToken cancellationToken) =>
        {
            // Touch the store so a relay whose storage is gone reports unhealthy.
            await store.ReadEventsAsync("_health", "_health", 0, 1, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(new { status = "ok", storage = storage.Engine, open_mode = options.Value.Open.Enabled });
        }).AllowAnonymous();
    }
}

/// <summary>Which engine the relay runs on, for /healthz and the start-up line.</summary>
internal sealed record StorageDescription(string Engine);
