using CtxRelay.Relay.Storage;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Features;

/// <summary>GET /, GET /healthz (the process is alive) and GET /readyz (its storage answers), without authentication.</summary>
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

        // Liveness: answers while the process serves requests, whatever its storage does (a restart would not help).
        app.MapGet("/healthz", (StorageDescription storage, IOptions<RelayOptions> options)
            => TypedResults.Ok(new { status = "ok", storage = storage.Engine, open_mode = options.Value.Open.Enabled })).AllowAnonymous();

        // Readiness: the store answers, so a load balancer sends traffic here; 503 (problem) while it does not.
        app.MapGet("/readyz", async (IRelayStore store, StorageDescription storage, CancellationToken cancellationToken) =>
        {
            await store.ReadEventsAsync("_health", "_health", 0, 1, cancellationToken).ConfigureAwait(false);
            return TypedResults.Ok(new { status = "ready", storage = storage.Engine });
        }).AllowAnonymous();
    }
}

/// <summary>Which engine the relay runs on, for /healthz and the start-up line.</summary>
internal sealed record StorageDescription(string Engine);
