using CtxRelay.Relay.Internal;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Storage;

/// <summary>Deletes expired payloads and channel events past retention, every <see cref="RelayOptions.SweepInterval"/>.</summary>
internal sealed class Sweeper(IRelayStore store, IOptions<RelayOptions> options, TimeProvider clock, ILogger<Sweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var relay = options.Value;
        var retention = new ChannelRetention(relay.ChannelRetentionEvents, relay.ChannelRetentionAge);
        using var timer = new PeriodicTimer(relay.SweepInterval, clock);
        do
        {
            try
            {
                var removed = await store.SweepAsync(clock.GetUtcNow(), retention, stoppingToken).ConfigureAwait(false);
                if (removed > 0)
                {
                    Log.Swept(logger, removed);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.SweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
