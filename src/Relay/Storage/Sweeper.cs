using CtxRelay.Relay.Internal;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Storage;

/// <summary>Deletes expired payloads and channel events past retention, every <see cref="RelayOptions.SweepInterval"/>.</summary>
internal sealed class Sweeper(IRelayStore store, IOptions<RelayOptions> options, TimeProvider clock, ILogger<Sweeper> logger) : PeriodicService(clock)
{
    private readonly ChannelRetention _retention = new(options.Value.ChannelRetentionEvents, options.Value.ChannelRetentionAge);

    protected override TimeSpan Interval => options.Value.SweepInterval;

    protected override bool TickAtStart => true;

    protected override async Task TickAsync(CancellationToken cancellationToken)
    {
        var removed = await store.SweepAsync(Clock.GetUtcNow(), _retention, cancellationToken).ConfigureAwait(false);
        if (removed > 0)
        {
            Log.Swept(logger, removed);
        }
    }

    protected override void OnTickFailed(Exception exception) => Log.SweepFailed(logger, exception);
}
