using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CtxRelay.Relay.Features;

/// <summary>Channel names and event frames.</summary>
internal static class Channels
{
    public const string NameRule = "A channel name is 1–200 characters: letters, digits and . _ - : @ (starting with a letter or digit).";

    public static bool IsValidName(string name)
        => name.Length is > 0 and <= 200
           && char.IsAsciiLetterOrDigit(name[0])
           && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '@');

    /// <summary>
    /// One event as a JSON frame. Push frames carry <c>url</c> and <c>ts</c> (what existing clients read),
    /// plus type, channel, id, size (when stored with the event), metadata and seq; message frames carry
    /// data instead of url, id and size.
    /// </summary>
    public static void WriteFrame(Utf8JsonWriter writer, ChannelEvent channelEvent, string? group = null, int deliveries = 0)
    {
        writer.WriteStartObject();
        writer.WriteString("type", channelEvent.Type == ChannelEventType.Push ? "push" : "message");
        writer.WriteString("channel", channelEvent.Channel);
        if (channelEvent.Type == ChannelEventType.Push)
        {
            writer.WriteString("id", channelEvent.PayloadId);
            writer.WriteString("url", channelEvent.Url);
            if (channelEvent.Size is { } size)
            {
                writer.WriteNumber("size", size);
            }
        }
        else
        {
            writer.WriteString("data", channelEvent.Data);
        }

        writer.WritePropertyName("metadata");
        writer.WriteRawValue(channelEvent.MetadataJson, skipInputValidation: true);
        writer.WriteNumber("seq", channelEvent.Seq);
        writer.WriteNumber("ts", channelEvent.Timestamp.ToUnixTimeMilliseconds());
        if (group is not null)
        {
            writer.WriteString("group", group);
            writer.WriteNumber("deliveries", deliveries);
        }

        writer.WriteEndObject();
    }
}

/// <summary>POST /publish/{channel}, GET /ws/{channel} (WebSocket), GET /channels/{channel}/history.</summary>
internal static class ChannelEndpoints
{
    private const int ReplayPage = 500;

    /// <summary>
    /// The channel bridges announce themselves on (docs/protocol.md, "Bridge announcements"). Its messages
    /// count against the plan's per-minute rate but not its monthly pushes (a bridge's heartbeat would use
    /// up a small plan's month), so the relay accepts only small announcements there.
    /// </summary>
    internal const string BridgeAnnouncements = "contextrelay.bridges";

    /// <summary>Data plus metadata of one bridge announcement, at most.</summary>
    private const int MaxAnnouncementBytes = 4096;

    public static void MapChannels(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(string.Empty).RequireAuthorization();
        group.MapPost("/publish/{channel}", PublishAsync)
            .RequireAuthorization(ApiKeyAuthentication.WritePolicy)
            .Metered(Metering.Pushes, uncounted: http => http.Request.RouteValues["channel"] is BridgeAnnouncements);
        group.MapGet("/ws/{channel}", SubscribeAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy);
        group.MapGet("/channels/{channel}/history", HistoryAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy).Metered();
        group.MapGet("/channels/{channel}/groups", QueueGroups.ListAsync).RequireAuthorization(ApiKeyAuthentication.ReadPolicy).Metered();
    }

    private static async Task<Results<Accepted<PublishAnswer>, ProblemHttpResult>> PublishAsync(
        string channel,
        HttpContext http,
        IRelayStore store,
        IOptions<RelayOptions> options,
        CancellationToken cancellationToken)
    {
        if (!Channels.IsValidName(channel))
        {
            return Problems.BadRequest(Channels.NameRule);
        }

        if (Caller.From(http.User).ChannelRefusal(channel) is { } refusal)
        {
            return Problems.Forbidden(refusal);
        }

        var relay = options.Value;
        var limit = relay.MaxMetadataBytes + (1024 * 1024);
        if (http.Request.ContentLength > limit)
        {
            return Problems.Create(StatusCodes.Status413PayloadTooLarge, "message-too-large", "Message too large", $"A published message is at most {limit:N0} bytes; push large content and publish its URL.");
        }

        string data;
        string metadata;
        try
        {
            using var document = await JsonDocument.ParseAsync(http.Request.Body, default, cancellationToken).ConfigureAwait(false);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var d) || d.ValueKind != JsonValueKind.String)
            {
                return Problems.BadRequest("Send a JSON object {\"data\": \"…\", \"metadata\"?: {…}}; 'data' must be a string.");
            }

            data = d.GetString()!;
            metadata = root.TryGetProperty("metadata", out var m) && m.ValueKind != JsonValueKind.Null
                ? PayloadEndpoints.NormalizeMetadata(m.GetRawText(), relay)
                : "{}";
            if (channel == BridgeAnnouncements
                && (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("kind", out var kind) || !kind.ValueEquals("contextrelay.bridge")
                    || System.Text.Encoding.UTF8.GetByteCount(data) + System.Text.Encoding.UTF8.GetByteCount(metadata) > MaxAnnouncementBytes))
            {
                return Problems.BadRequest($"'{BridgeAnnouncements}' carries bridge announcements only: metadata with \"kind\": \"contextrelay.bridge\", data and metadata at most {MaxAnnouncementBytes:N0} bytes (docs/protocol.md). Publish other messages to another channel.");
            }
        }
        catch (JsonException)
        {
            return Problems.BadRequest("The body is not valid JSON. Send {\"data\": \"…\", \"metadata\"?: {…}}.");
        }
        catch (PushRejectedException ex)
        {
            return Problems.BadRequest(ex.Message);
        }

        var caller = Caller.From(http.User);
        var appended = await store.AppendEventAsync(caller.Workspace, channel, new NewChannelEvent(ChannelEventType.Message, metadata, Data: data), cancellationToken).ConfigureAwait(false);
        return TypedResults.Accepted((string?)null, new PublishAnswer(channel, appended.Seq, appended.Timestamp.ToUnixTimeMilliseconds()));
    }

    /// <summary>A problem (400, 403) when the channel name is malformed or out of the caller's key's channels; else null.</summary>
    internal static ProblemHttpResult? RefuseChannel(string channel, Caller caller)
        => !Channels.IsValidName(channel) ? Problems.BadRequest(Channels.NameRule)
            : caller.ChannelRefusal(channel) is { } refusal ? Problems.Forbidden(refusal)
            : null;

    private static async Task<IResult> HistoryAsync(string channel, long? since, int? limit, HttpContext http, IRelayStore store, CancellationToken cancellationToken)
    {
        var caller = Caller.From(http.User);
        if (RefuseChannel(channel, caller) is { } refused)
        {
            return refused;
        }

        var events = await store.ReadEventsAsync(caller.Workspace, channel, since ?? 0, Math.Clamp(limit ?? 100, 1, 1000), cancellationToken).ConfigureAwait(false);
        var buffer = new ArrayBufferWriter<byte>();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("channel", channel);
            writer.WriteStartArray("events");
            foreach (var channelEvent in events)
            {
                Channels.WriteFrame(writer, channelEvent);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Results.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }

    /// <summary>
    /// Registers the subscriber before the handshake completes (so a client that has connected cannot
    /// miss a later event), replays after <c>since</c> when asked, then streams live events; a
    /// subscriber that falls a whole buffer behind is closed and can resume with since=.
    /// </summary>
    private static async Task<IResult> SubscribeAsync(
        string channel,
        HttpContext http,
        IRelayStore store,
        IOptions<RelayOptions> options,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.Headers.Upgrade = "websocket";
            return Problems.UpgradeRequired();
        }

        if (!Channels.IsValidName(channel))
        {
            return Problems.BadRequest(Channels.NameRule);
        }

        var sinceText = http.Request.Query["since"].FirstOrDefault() ?? http.Request.Headers["Last-Event-ID"].FirstOrDefault();
        long? since = null;
        if (sinceText is not null)
        {
            if (!long.TryParse(sinceText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Problems.BadRequest("'since' must be a sequence number (0 replays everything retained).");
            }

            since = parsed;
        }

        var relay = options.Value;
        var logger = loggers.CreateLogger("CtxRelay.Relay.Channels");
        var caller = Caller.From(http.User);
        if (caller.ChannelRefusal(channel) is { } refusal)
        {
            return Problems.Forbidden(refusal);
        }

        using var session = http.RequestServices.GetRequiredService<AccessControl>().TryOpen(caller);
        if (session is null)
        {
            return Problems.Create(
                StatusCodes.Status429TooManyRequests,
                "too-many-websockets",
                "Too many WebSockets",
                $"This API key holds {relay.MaxWebSocketsPerKey:N0} WebSockets open on this relay already. Close some, or share one subscription per channel.");
        }

        if (http.Request.Query["group"].FirstOrDefault() is { } group)
        {
            return await QueueGroups.ServeMemberAsync(http, store, relay, caller, session, channel, group, since, cancellationToken).ConfigureAwait(false);
        }

        // Not linked to the relay's stopping: AccessControl ends every session then, close frame (1012) first.
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var telemetry = http.RequestServices.GetRequiredService<RelayTelemetry>();
        var outbox = new SubscriberOutbox(relay.SubscriberBuffer, closed);
        await using var subscription = await store.SubscribeAsync(
            caller.Workspace,
            channel,
            channelEvent =>
            {
                telemetry.EventsFannedOut.Add(1);
                outbox.Post(channelEvent);
                return ValueTask.CompletedTask;
            },
            cancellationToken).ConfigureAwait(false);

        using var socket = await AcceptAsync(http, relay).ConfigureAwait(false);
        Log.SubscriberJoined(logger, caller.Workspace, channel, since ?? -1);

        session.Attach(socket, closed);
        var receiving = ReceiveUntilClosedAsync(socket, closed);
        try
        {
            var lastSent = since ?? long.MinValue;
            if (since is { } from)
            {
                while (true)
                {
                    var page = await store.ReadEventsAsync(caller.Workspace, channel, lastSent, ReplayPage, closed.Token).ConfigureAwait(false);
                    foreach (var channelEvent in page)
                    {
                        await SendPlainAsync(socket, channelEvent, closed.Token).ConfigureAwait(false);
                        lastSent = channelEvent.Seq;
                    }

                    if (page.Count < ReplayPage)
                    {
                        break;
                    }
                }

                lastSent = Math.Max(lastSent, from);
            }

            // Live events from here on go out through the outbox's send loop; this request waits for the end.
            outbox.Start(socket, lastSent);
            await receiving.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client went away or the relay is stopping.
        }
        catch (StorageUnavailableException)
        {
            // Replay failed because storage went away: the client reconnects and resumes with since=.
            await CloseForStorageLossAsync(socket).ConfigureAwait(false);
        }
        finally
        {
            await StopReceivingAsync(socket, closed, receiving).ConfigureAwait(false);
            await outbox.StopAsync().ConfigureAwait(false);
            if (outbox.Overflowed)
            {
                Log.SubscriberTooSlow(logger, caller.Workspace, channel, relay.SubscriberBuffer);
            }
            else
            {
                // Answer the client's close, or tell it the relay is going away (it reconnects with since=).
                await CloseQuietlyAsync(socket, session.EndReason).ConfigureAwait(false);
            }

            Log.SubscriberLeft(logger, caller.Workspace, channel);
        }

        return Results.Empty;
    }

    /// <summary>
    /// The frame of an event as every plain subscriber gets it, serialized once per event however many
    /// subscribers it goes to (and dropped with the event).
    /// </summary>
    private static readonly ConditionalWeakTable<ChannelEvent, byte[]> PlainFrames = [];

    /// <summary>Sends an event's frame as plain subscribers get it.</summary>
    internal static ValueTask SendPlainAsync(WebSocket socket, ChannelEvent channelEvent, CancellationToken cancellationToken)
    {
        var frame = PlainFrames.GetValue(channelEvent, static e =>
        {
            var bytes = new ArrayBufferWriter<byte>(256);
            using (var writer = new Utf8JsonWriter(bytes))
            {
                Channels.WriteFrame(writer, e);
            }

            return bytes.WrittenSpan.ToArray();
        });
        return socket.SendAsync(frame.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
    }

    internal static async Task SendAsync(WebSocket socket, ArrayBufferWriter<byte> buffer, ChannelEvent channelEvent, CancellationToken cancellationToken, string? group = null, int deliveries = 0)
    {
        if (group is null)
        {
            await SendPlainAsync(socket, channelEvent, cancellationToken).ConfigureAwait(false);
            return;
        }

        buffer.ResetWrittenCount();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            Channels.WriteFrame(writer, channelEvent, group, deliveries);
        }

        await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Completes the upgrade with keep-alive pings; a browser that authenticated with the
    /// <see cref="BrowserAuth.BearerProtocolPrefix"/> subprotocol gets <see cref="BrowserAuth.Protocol"/> echoed.
    /// </summary>
    internal static Task<WebSocket> AcceptAsync(HttpContext http, RelayOptions relay)
        => http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = relay.KeepAliveInterval,
            KeepAliveTimeout = relay.KeepAliveInterval,
            SubProtocol = http.WebSockets.WebSocketRequestedProtocols.Contains(BrowserAuth.Protocol) ? BrowserAuth.Protocol : null,
        });

    /// <summary>How long the relay waits for a client to answer its close frame before it cuts the connection.</summary>
    internal static readonly TimeSpan CloseAnswerWait = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Ends a session: at once, unless the relay has sent its close frame and waits for the client's answer.
    /// Cancelling then aborts the socket, and a close frame still on its way out is lost: with events flowing,
    /// 17 of 50 subscribers of a stopping relay saw a connection reset instead of 1012. The session then gets
    /// until the answer, or <see cref="CloseAnswerWait"/>.
    /// </summary>
    internal static Task EndSessionAsync(WebSocket socket, CancellationTokenSource closed)
    {
        if (socket.State == WebSocketState.CloseSent)
        {
            closed.CancelAfter(CloseAnswerWait);
            return Task.CompletedTask;
        }

        return closed.CancelAsync();
    }

    /// <summary>Ends the session (<see cref="EndSessionAsync"/>) and waits for its receive loop to finish.</summary>
    internal static async Task StopReceivingAsync(WebSocket socket, CancellationTokenSource closed, Task receiving)
    {
        await EndSessionAsync(socket, closed).ConfigureAwait(false);
        await receiving.ConfigureAwait(false);
    }

    /// <summary>Storage went away mid-session: close with 1011 so the client reconnects (and resumes).</summary>
    internal static Task CloseForStorageLossAsync(WebSocket socket)
        => socket.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, "storage unavailable; reconnect", CancellationToken.None);

    /// <summary>
    /// Completes the close handshake: answers a client's close, closes with 4401 when the relay ended the
    /// session because its key was revoked or expired (<paramref name="endReason"/>), or with 1001 when the
    /// relay is stopping (1012: reconnect, to another relay).
    /// </summary>
    internal static async Task CloseQuietlyAsync(WebSocket socket, string? endReason = null)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        var (status, reason) = socket.State == WebSocketState.CloseReceived
            ? (WebSocketCloseStatus.NormalClosure, "bye")
            : endReason is not null and not AccessControl.RestartReason
                ? ((WebSocketCloseStatus)AccessControl.KeyRevokedCloseStatus, endReason)
                : ((WebSocketCloseStatus)AccessControl.RestartCloseStatus, AccessControl.RestartReason);
        try
        {
            await socket.CloseOutputAsync(status, reason, CancellationToken.None).ConfigureAwait(false);
        }
        catch (WebSocketException)
        {
        }
    }

    /// <summary>
    /// Reads what the client sends until it closes (so close frames and pongs are processed), passing each
    /// complete text frame (up to <see cref="MaxClientFrame"/> bytes; longer ones are skipped) to
    /// <paramref name="onText"/>; a handler returning false ends the session. Cancels
    /// <paramref name="closed"/> when it ends.
    /// </summary>
    /// <remarks>
    /// Waits for each frame with a zero-byte read and rents a buffer only once a frame has arrived, so an
    /// idle socket holds no receive buffer (10,000 idle subscribers held 40 MB of them).
    /// </remarks>
    internal static async Task ReceiveUntilClosedAsync(WebSocket socket, CancellationTokenSource closed, Func<ReadOnlyMemory<byte>, Task<bool>>? onText = null)
    {
        try
        {
            while (!closed.IsCancellationRequested)
            {
                var header = await socket.ReceiveAsync(Memory<byte>.Empty, closed.Token).ConfigureAwait(false);
                if (header.MessageType == WebSocketMessageType.Close
                    || !await ReceiveMessageAsync(socket, header, onText, closed.Token).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            await closed.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The largest text frame from a client that is handed on (acks are far smaller).</summary>
    internal const int MaxClientFrame = 4096;

    /// <summary>A client message longer than this closes the session with 1009 (Message Too Big).</summary>
    internal const int MaxClientMessage = 64 * 1024;

    /// <summary>Closes the session because of what the client sent, with the code and reason that say so.</summary>
    private static async Task RefuseAsync(WebSocket socket, WebSocketCloseStatus status, string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or InvalidOperationException)
        {
        }
    }

    /// <summary>Reads the rest of a message whose header has arrived; false when the session should end.</summary>
    private static async ValueTask<bool> ReceiveMessageAsync(WebSocket socket, ValueWebSocketReceiveResult header, Func<ReadOnlyMemory<byte>, Task<bool>>? onText, CancellationToken cancellationToken)
    {
        if (header.MessageType == WebSocketMessageType.Binary)
        {
            // Clients send JSON text (acks); anything binary is a broken or hostile client.
            await RefuseAsync(socket, WebSocketCloseStatus.InvalidMessageType, "binary frames are not accepted; send JSON text").ConfigureAwait(false);
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(MaxClientFrame);
        try
        {
            var filled = 0;
            var total = 0L;
            var tooLong = false;
            var result = header;
            while (!result.EndOfMessage)
            {
                if (filled == MaxClientFrame)
                {
                    tooLong = true; // read and drop the rest
                    filled = 0;
                }

                result = await socket.ReceiveAsync(buffer.AsMemory(filled, MaxClientFrame - filled), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return false;
                }

                filled += result.Count;
                if ((total += result.Count) > MaxClientMessage)
                {
                    await RefuseAsync(socket, WebSocketCloseStatus.MessageTooBig, $"messages from clients are at most {MaxClientMessage / 1024} KiB (acks are tiny)").ConfigureAwait(false);
                    return false;
                }
            }

            return onText is null || tooLong || header.MessageType != WebSocketMessageType.Text
                || await onText(buffer.AsMemory(0, filled)).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

internal sealed record PublishAnswer(
    [property: System.Text.Json.Serialization.JsonPropertyName("channel")] string Channel,
    [property: System.Text.Json.Serialization.JsonPropertyName("seq")] long Seq,
    [property: System.Text.Json.Serialization.JsonPropertyName("ts")] long Ts);
