namespace CtxRelay.Relay.Internal;

/// <summary>
/// A background loop that runs <see cref="TickAsync"/> every <see cref="Interval"/>. A failed tick is reported
/// and retried at the next one, and stopping (or a host disposed after a failed start) ends the loop quietly:
/// a periodic chore never stops the relay.
/// </summary>
internal abstract class PeriodicService(TimeProvider clock) : BackgroundService
{
    protected TimeProvider Clock { get; } = clock;

    protected abstract TimeSpan Interval { get; }

    /// <summary>Whether the first tick runs at once rather than after one interval.</summary>
    protected virtual bool TickAtStart => false;

    protected abstract Task TickAsync(CancellationToken cancellationToken);

    protected abstract void OnTickFailed(Exception exception);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(Interval, Clock);
            if (TickAtStart)
            {
                await RunTickAsync(stoppingToken).ConfigureAwait(false);
            }

            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RunTickAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping, or the host was disposed without starting (its timer went with it).
        }
    }

    private async Task RunTickAsync(CancellationToken stoppingToken)
    {
        try
        {
            await TickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            OnTickFailed(ex);
        }
    }
}
