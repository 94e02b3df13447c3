using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Websocket.Client;

namespace CtxRelay;

/// <summary>
/// A live subscription to one channel over a WebSocket (Websocket.Client) that reconnects by itself
/// and resumes after the last delivered event (<c>?since=seq</c>), dropping anything it has already
/// delivered, so consumers see each event once, in order. Dispose to unsubscribe.
/// </summary>
public sealed class RelaySubscription : IAsyncDisposable
{
    private const int BufferCapacity = 1024;

    private readonly ContextRelay _relay;
    private readonly Channel<RelayEvent> _events;
    private readonly CancellationTokenSource _disposed = new();
    private WebsocketClient? _client;
    private IDisposable? _messages;
    private Task? _handlerLoop;
    private long _lastSeq;
    private int _connections;

    private readonly SubscriptionOptions _options;

    internal RelaySubscription(ContextRelay relay, string channel, SubscriptionOptions options)
    {
        _relay = relay;
        Channel = channel;
        _options = options;
        _lastSeq = options.Since ?? -1;
        _events = System.Threading.Channels.Channel.CreateBounded<RelayEvent>(new BoundedChannelOptions(BufferCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = true,
        });
    }

    public string Channel { get; }

    /// <summary>Sequence number of the last event handed to the consumer (-1 before the first).</summary>
    public long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>How many times the socket connected (1 + reconnects).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>
    /// For a callback subscription (<see cref="ContextRelay.SubscribeAsync(string, Func{RelayEvent, CancellationToken, Task}, CancellationToken)"/>):
    /// completes when delivery ends — when the subscription is disposed, or faulted with the exception
    /// that the handler threw (delivery stops there). Completed at once for other subscriptions.
    /// </summary>
    public Task Completion => _handlerLoop ?? Task.CompletedTask;

    /// <summary>Raised (on a background thread) each time the subscription reconnects.</summary>
    public event Action<RelaySubscription>? Reconnected;

    /// <summary>The events, in order, until the subscription is disposed or the token cancels.</summary>
    public async IAsyncEnumerable<RelayEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        while (true)
        {
            RelayEvent next;
            try
            {
                if (!await _events.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false))
                {
                    yield break;
                }

                if (!_events.Reader.TryRead(out next!))
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (_disposed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            yield return next;
        }
    }

    /// <summary>The queue group this subscription is a member of, if any.</summary>
    public string? Group => _options.Group;

    /// <summary>
    /// Acknowledges a queue-group event: the relay will not hand it to anyone again. Call it once the
    /// work is done; an event not acknowledged in time is redelivered to another member.
    /// </summary>
    public Task AckAsync(RelayEvent relayEvent)
    {
        ArgumentNullException.ThrowIfNull(relayEvent);
        if (Group is null)
        {
            throw new InvalidOperationException("Only queue-group subscriptions (SubscriptionOptions.Group) acknowledge events.");
        }

        var client = _client ?? throw new ObjectDisposedException(nameof(RelaySubscription));
        return client.SendInstant("{\"type\":\"ack\",\"seq\":" + relayEvent.Seq.ToString(CultureInfo.InvariantCulture) + "}");
    }

    /// <summary>Waits for the next event that satisfies <paramref name="predicate"/>.</summary>
    public async Task<RelayEvent> WaitForAsync(Func<RelayEvent, bool> predicate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        await foreach (var relayEvent in ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (predicate(relayEvent))
            {
                return relayEvent;
            }
        }

        throw new ObjectDisposedException(nameof(RelaySubscription), "The subscription was closed before a matching event arrived.");
    }

    /// <summary>The relay's close code for a subscription whose API key was revoked or expired.</summary>
    public const int KeyRevokedCloseStatus = 4401;

    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = _relay.Options;
        _client = new WebsocketClient(BuildUrl(), logger: null, connectionFactory: ConnectAsync)
        {
            ReconnectTimeout = null, // liveness comes from protocol-level keep-alive pings instead
            ErrorReconnectTimeout = options.ReconnectDelay,
            LostReconnectTimeout = options.ReconnectDelay,
            IsReconnectionEnabled = true,
            Name = "contextrelay:" + Channel,
        };
        _messages = _client.MessageReceived.Subscribe(OnMessage);
        _client.DisconnectionHappened.Subscribe(info =>
        {
            // 4401: the relay ended the subscription because the key was revoked or expired. Reconnecting
            // cannot help; the consumer gets the reason instead of a silent retry loop.
            if ((int?)info.CloseStatus == KeyRevokedCloseStatus && _client is { } client)
            {
                client.IsReconnectionEnabled = false;
                _events.Writer.TryComplete(new RelayAuthException(
                    $"The relay ended the subscription to '{Channel}': {info.CloseStatusDescription}. Use a valid API key."));
            }
        });
        _client.ReconnectionHappened.Subscribe(info =>
        {
            if (info.Type != ReconnectionType.Initial)
            {
                Reconnected?.Invoke(this);
            }
        });

        using var registration = cancellationToken.Register(() => _disposed.Cancel());
        try
        {
            await _client.StartOrFail().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RelayException && !cancellationToken.IsCancellationRequested)
        {
            for (var inner = ex; inner is not null; inner = inner.InnerException)
            {
                if (inner is RelayException relayException)
                {
                    throw relayException;
                }
            }

            throw new RelayUnavailableException($"Cannot subscribe to '{Channel}' on {options.BaseUrl}: {ex.GetBaseException().Message}", innerException: ex);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    internal void RunHandler(Func<RelayEvent, CancellationToken, Task> handler)
    {
        _handlerLoop = Task.Run(async () =>
        {
            await foreach (var relayEvent in ReadAllAsync(_disposed.Token).ConfigureAwait(false))
            {
                await handler(relayEvent, _disposed.Token).ConfigureAwait(false);
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested && _client is null)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        _events.Writer.TryComplete();
        _messages?.Dispose();
        if (_client is { } client)
        {
            _client = null;
            try
            {
                await client.Stop(WebSocketCloseStatus.NormalClosure, "unsubscribe").ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
            {
                // Already gone; nothing to close.
            }

            client.Dispose();
        }

        if (_handlerLoop is { } loop)
        {
            // A handler's exception is reported through Completion, not thrown from here.
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _disposed.Dispose();
    }

    private Uri BuildUrl()
    {
        var http = _relay.BuildUri("ws/" + Uri.EscapeDataString(Channel));
        var builder = new UriBuilder(http) { Scheme = http.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        var query = new List<string>();
        if (_options.Group is { } group)
        {
            // A group member gets whatever the group hands it; there is nothing to resume. Since only
            // matters to the join that creates the group: it then starts after that seq, not at the end.
            query.Add("group=" + Uri.EscapeDataString(group));
            if (_options.Since is { } since and >= 0)
            {
                query.Add("since=" + since.ToString(CultureInfo.InvariantCulture));
            }

            query.Add("prefetch=" + _options.Prefetch.ToString(CultureInfo.InvariantCulture));
            if (_options.AckTimeout is { } timeout)
            {
                query.Add("ack_timeout=" + Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture));
            }
        }
        else if (LastSeq >= 0)
        {
            query.Add("since=" + LastSeq.ToString(CultureInfo.InvariantCulture));
        }

        builder.Query = string.Join('&', query);
        return builder.Uri;
    }

    private async Task<WebSocket> ConnectAsync(Uri url, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = _relay.Options.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = _relay.Options.KeepAliveInterval;
        if (_relay.Options.ApiKey is { Length: > 0 } key)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + key);
        }

        try
        {
            // Resume exactly after what was delivered, whatever URL the client had when it dropped.
            await socket.ConnectAsync(BuildUrl(), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _connections);
            return socket;
        }
        catch (WebSocketException) when (socket.HttpStatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            throw ContextRelay.TranslateFailure(status, problem: null, retryAfter: null, what: $"subscribe to '{Channel}'");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void OnMessage(ResponseMessage message)
    {
        if (message.MessageType != WebSocketMessageType.Text || message.Text is null)
        {
            return;
        }

        RelayEvent? relayEvent;
        try
        {
            relayEvent = Parse(message.Text);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return; // a frame this client does not understand (a newer relay); skip it
        }

        if (relayEvent is null || (Group is null && relayEvent.Seq <= LastSeq))
        {
            return; // replayed after a reconnect and already delivered (group members may see redeliveries)
        }

        // Backpressure: when the consumer lags by more than the buffer, hold the socket's receive loop
        // here instead of buffering without bound; the relay then decides about the slow subscriber.
        if (!_events.Writer.TryWrite(relayEvent))
        {
            try
            {
                _events.Writer.WriteAsync(relayEvent, _disposed.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
            {
                return;
            }
        }

        if (relayEvent.Seq > LastSeq)
        {
            Interlocked.Exchange(ref _lastSeq, relayEvent.Seq);
        }
    }

    internal static RelayEvent? Parse(string text)
    {
        if (JsonNode.Parse(text) is not JsonObject frame)
        {
            return null;
        }

        var type = frame["type"]?.GetValue<string>() switch
        {
            "message" => RelayEventType.Message,
            "push" or null => RelayEventType.Push,
            _ => (RelayEventType?)null,
        };
        if (type is null)
        {
            return null;
        }

        return new RelayEvent
        {
            Type = type.Value,
            Channel = frame["channel"]?.GetValue<string>() ?? string.Empty,
            Seq = frame["seq"]?.GetValue<long>() ?? 0,
            Timestamp = frame["ts"] is { } ts ? DateTimeOffset.FromUnixTimeMilliseconds(ts.GetValue<long>()) : default,
            Url = frame["url"]?.GetValue<string>(),
            Id = frame["id"]?.GetValue<string>(),
            Data = frame["data"]?.GetValue<string>(),
            Metadata = frame["metadata"] as JsonObject is { } metadata ? (JsonObject)metadata.DeepClone() : [],
            Group = frame["group"]?.GetValue<string>(),
            Deliveries = frame["deliveries"]?.GetValue<int>() ?? 0,
            Size = frame["size"]?.GetValue<long>(),
        };
    }
}
