using System.Net.WebSockets;
using CtxRelay.Relay.Storage;

namespace CtxRelay.Relay.Features;

/// <summary>
/// The events waiting for one plain WebSocket subscriber, and the loop that sends them. The queue is
/// bounded (<paramref name="capacity"/> events; a subscriber further behind is closed with 1008 once what
/// is queued has been sent, and resumes with since=), allocated on the first event, and the send loop runs
/// on the thread pool only while events wait: an idle subscriber holds this object and no channel, pending
/// read or task (with 10,000 idle subscribers those were ~1 KB each).
/// </summary>
/// <remarks>
/// Events posted before <see cref="Start"/> only queue (the endpoint replays history first); events with a
/// seq already sent are skipped, so replay and live delivery do not repeat an event.
/// </remarks>
internal sealed class SubscriberOutbox(int capacity, CancellationTokenSource closed)
{
    /// <summary>How long a subscriber closed for falling behind has to answer the close.</summary>
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private Queue<ChannelEvent>? _queue;
    private bool _sending = true; // a send loop runs, or Start has not been called yet
    private bool _stopped;
    private Task _loop = Task.CompletedTask;
    private WebSocket? _socket;
    private long _lastSent;

    /// <summary>True once the subscriber fell a whole buffer behind (it is closed with 1008).</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Queues an event (called on the publishing thread: never blocks, never sends).</summary>
    public void Post(ChannelEvent channelEvent)
    {
        lock (_lock)
        {
            if (_stopped || Overflowed)
            {
                return;
            }

            _queue ??= new Queue<ChannelEvent>();
            if (_queue.Count >= capacity)
            {
                Overflowed = true; // the send loop sends what is queued, then closes
            }
            else
            {
                _queue.Enqueue(channelEvent);
            }

            StartLoopLocked();
        }
    }

    /// <summary>Starts live delivery on <paramref name="socket"/> after <paramref name="lastSent"/> (the last replayed seq).</summary>
    public void Start(WebSocket socket, long lastSent)
    {
        lock (_lock)
        {
            _socket = socket;
            _lastSent = lastSent;
            _sending = false;
            if (Overflowed || _queue is { Count: > 0 })
            {
                StartLoopLocked();
            }
        }
    }

    /// <summary>Stops delivery; completes when a send under way has ended (the socket can then be disposed).</summary>
    public Task StopAsync()
    {
        lock (_lock)
        {
            _stopped = true;
            _queue = null;
            return _loop;
        }
    }

    private void StartLoopLocked()
    {
        if (!_sending && !_stopped)
        {
            _sending = true;
            _loop = Task.Run(SendQueuedAsync);
        }
    }

    private async Task SendQueuedAsync()
    {
        var overflowed = false;
        try
        {
            while (true)
            {
                ChannelEvent? next;
                lock (_lock)
                {
                    overflowed = Overflowed;
                    if (_stopped || _queue is null || !_queue.TryDequeue(out next))
                    {
                        // Idle again (or overflowed: no loop starts after this one).
                        _sending = overflowed;
                        break;
                    }
                }

                if (next.Seq > _lastSent)
                {
                    await ChannelEndpoints.SendPlainAsync(_socket!, next, closed.Token).ConfigureAwait(false);
                    _lastSent = next.Seq;
                }
            }

            if (overflowed)
            {
                // Close with 1008 and give the client a moment to answer (so it reads the reason rather than
                // a reset); the receive loop ends the session on its answer, or the deadline does.
                closed.CancelAfter(CloseTimeout);
                await _socket!.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "subscriber too slow; reconnect with since=<last seq>", closed.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // The client went away, or the relay has sent its close frame (stopping, key revoked): the session ends.
            await ChannelEndpoints.EndSessionAsync(_socket!, closed).ConfigureAwait(false);
        }
    }
}
