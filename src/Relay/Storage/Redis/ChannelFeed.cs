using CtxRelay.Relay.Internal;
using StackExchange.Redis;

namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// One Redis pub/sub subscription per channel per relay process, feeding the local subscribers (a
/// <see cref="LocalFanout"/>) in seq order. Messages are handled one at a time; an event that arrives
/// with a gap before it (lost while the subscription connection was down) first has the gap filled from
/// the retained set, and a restored connection triggers the same catch-up, so live subscribers do not
/// silently miss retained events. Duplicates (seq already delivered) are dropped.
/// </summary>
internal sealed class ChannelFeed(RedisRelayStore store, string workspace, string channel)
{
    private const int FillPage = 500;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ChannelMessageQueue? _queue;
    private long _lastSeq;

    public LocalFanout Fanout { get; } = new();

    /// <summary>Local subscribers; changed only under the store's feed gate.</summary>
    public int References { get; set; }

    /// <summary>Subscribes in Redis; returns once the subscription is confirmed.</summary>
    public async Task StartAsync(IDatabase database, ISubscriber subscriber, RedisKeys keys)
    {
        var current = await database.StringGetAsync(keys.Seq(workspace, channel)).ConfigureAwait(false);
        _lastSeq = current.IsNull ? 0 : (long)current;
        _queue = await subscriber.SubscribeAsync(keys.Live(workspace, channel)).ConfigureAwait(false);
        _queue.OnMessage(OnMessageAsync);

        // Events appended between reading the counter and the confirmed SUBSCRIBE.
        await CatchUpAsync().ConfigureAwait(false);
    }

    /// <summary>Delivers retained events after the last delivered seq (after a reconnect, for example).</summary>
    public async Task CatchUpAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = await store.ReadSeqAsync(workspace, channel).ConfigureAwait(false);
            if (current < _lastSeq)
            {
                _lastSeq = 0; // the counter went back: Redis lost its data (restart without persistence)
            }

            await FillAsync(long.MaxValue).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisRelayStore.IsUnavailable(ex))
        {
            // Still unreachable: the next message or reconnect fills the gap.
            Log.CatchUpFailed(store.Logger, workspace, channel, ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopAsync()
    {
        if (_queue is null)
        {
            return;
        }

        try
        {
            await _queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisRelayStore.IsUnavailable(ex))
        {
            // The subscription is gone locally; the server forgets it with the connection.
        }
    }

    private async Task OnMessageAsync(ChannelMessage message)
    {
        if (!RedisEvents.TryDecode(channel, message.Message, out var channelEvent))
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (channelEvent.Seq > _lastSeq + 1)
            {
                try
                {
                    await FillAsync(channelEvent.Seq).ConfigureAwait(false);
                }
                catch (Exception ex) when (RedisRelayStore.IsUnavailable(ex))
                {
                    // Cannot read the gap now; deliver what arrived rather than hold it back.
                    Log.GapUnfilled(store.Logger, workspace, channel, _lastSeq, channelEvent.Seq, ex);
                }
            }

            if (channelEvent.Seq > _lastSeq)
            {
                await Fanout.PublishAsync(workspace, channel, channelEvent).ConfigureAwait(false);
                _lastSeq = channelEvent.Seq;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Delivers retained events with _lastSeq &lt; seq &lt; <paramref name="before"/>. Call under the gate.</summary>
    private async Task FillAsync(long before)
    {
        while (true)
        {
            var page = await store.ReadEventsCoreAsync(workspace, channel, _lastSeq, FillPage).ConfigureAwait(false);
            foreach (var channelEvent in page)
            {
                if (channelEvent.Seq >= before)
                {
                    return;
                }

                await Fanout.PublishAsync(workspace, channel, channelEvent).ConfigureAwait(false);
                _lastSeq = channelEvent.Seq;
            }

            if (page.Count < FillPage)
            {
                return;
            }
        }
    }
}
