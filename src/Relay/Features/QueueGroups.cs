using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using CtxRelay.Relay.Auth;
using CtxRelay.Relay.Internal;
using CtxRelay.Relay.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CtxRelay.Relay.Features;

/// <summary>
/// <c>GET /ws/{channel}?group=NAME</c>: members of a queue group share the channel's events — each event
/// goes to one live member, which acknowledges it with a <c>{"type":"ack","seq":N}</c> text frame. An
/// event not acknowledged within the ack timeout (<c>?ack_timeout=</c> seconds, default 30), or held by a
/// member that disconnects, is redelivered to another member: at-least-once. Claims are atomic in the
/// store, so members may be connected to different relays sharing one store. A join that creates the group
/// starts it at the channel's end, or with <c>?since=N</c> after seq N, so tasks pushed before any member
/// ever joined are served too; an existing group ignores <c>since</c>.
/// </summary>
internal static class QueueGroups
{
    private static readonly TimeSpan RedeliveryCheck = TimeSpan.FromMilliseconds(500);

    /// <summary>How often a relay tells the store that a member is still connected.</summary>
    private static readonly TimeSpan MemberRefresh = TimeSpan.FromSeconds(10);

    /// <summary>How long a member stays listed without a refresh (its relay may have crashed).</summary>
    private static readonly TimeSpan MemberSeenFor = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>GET /channels/{channel}/groups</c>: the channel's queue groups with their cursor, backlog,
    /// connected members (across every relay sharing the store) and unacknowledged claims.
    /// </summary>
    public static async Task<Results<Ok<GroupsAnswer>, ProblemHttpResult>> ListAsync(string channel, HttpContext http, IRelayStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        var caller = Caller.From(http.User);
        if (ChannelEndpoints.RefuseChannel(channel, caller) is { } refused)
        {
            return refused;
        }

        var groups = await store.ListGroupsAsync(caller.Workspace, channel, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new GroupsAnswer(channel, [.. groups.Select(g => new GroupAnswer(
            g.Name,
            g.Cursor,
            g.Backlog,
            [.. g.Members.Select(m => new GroupMemberAnswer(m.Id, m.ConnectedAt.ToUnixTimeMilliseconds(), m.Until.ToUnixTimeMilliseconds()))],
            [.. g.Pending.Select(c => new PendingClaimAnswer(c.Seq, c.Member, c.Deliveries, c.Deadline?.ToUnixTimeMilliseconds()))]))]));
    }

    public static async Task<IResult> ServeMemberAsync(
        HttpContext http,
        IRelayStore store,
        RelayOptions relay,
        Caller caller,
        AccessControl.Session session,
        string channel,
        string group,
        long? since,
        CancellationToken cancellationToken)
    {
        if (!Channels.IsValidName(group))
        {
            return Problems.BadRequest("The group name follows the channel name rule: " + Channels.NameRule);
        }

        if (!TryParseQuery(http, "ack_timeout", 30, 1, 3600, out var ackSeconds) || !TryParseQuery(http, "prefetch", 1, 1, 100, out var prefetch))
        {
            return Problems.BadRequest("'ack_timeout' is 1–3600 seconds and 'prefetch' 1–100 events.");
        }

        await store.JoinGroupAsync(caller.Workspace, channel, group, since, cancellationToken).ConfigureAwait(false);

        var member = Guid.NewGuid().ToString("N");
        var ackTimeout = TimeSpan.FromSeconds(ackSeconds);
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        await using var feed = await store.SubscribeAsync(caller.Workspace, channel, _ =>
        {
            wake.Writer.TryWrite(true);
            return ValueTask.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);

        using var socket = await ChannelEndpoints.AcceptAsync(http, relay).ConfigureAwait(false);
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken); // stopping: see AccessControl
        session.Attach(socket, closed);
        var inFlight = new HashSet<long>();
        var receiving = ChannelEndpoints.ReceiveUntilClosedAsync(socket, closed, frame => HandleAckAsync(frame, store, caller.Workspace, channel, group, member, inFlight, wake.Writer, closed.Token));
        var buffer = new ArrayBufferWriter<byte>();
        var clock = http.RequestServices.GetRequiredService<TimeProvider>();
        var telemetry = http.RequestServices.GetRequiredService<RelayTelemetry>();
        var connectedAt = clock.GetUtcNow();
        var nextRefresh = connectedAt;
        try
        {
            while (!closed.IsCancellationRequested)
            {
                // Listed as connected while this relay keeps refreshing it (GET /channels/{channel}/groups).
                if (clock.GetUtcNow() is var now && now >= nextRefresh)
                {
                    await store.SeeGroupMemberAsync(caller.Workspace, channel, group, member, connectedAt, now + MemberSeenFor, closed.Token).ConfigureAwait(false);
                    nextRefresh = now + MemberRefresh;
                }

                while (Count(inFlight) < prefetch)
                {
                    var claim = await store.ClaimGroupEventAsync(caller.Workspace, channel, group, member, clock.GetUtcNow(), ackTimeout, closed.Token).ConfigureAwait(false);
                    if (claim is null)
                    {
                        break;
                    }

                    lock (inFlight)
                    {
                        inFlight.Add(claim.Event.Seq);
                    }

                    telemetry.EventsFannedOut.Add(1);
                    telemetry.ClaimDelay.Record(Math.Max(0, (clock.GetUtcNow() - claim.Event.Timestamp).TotalSeconds));
                    if (claim.Deliveries > 1)
                    {
                        telemetry.Redeliveries.Add(1);
                    }

                    await ChannelEndpoints.SendAsync(socket, buffer, claim.Event, closed.Token, group, claim.Deliveries).ConfigureAwait(false);
                }

                // Wake on a new event or an ack; otherwise look again shortly for claims whose ack timed out.
                using var pause = CancellationTokenSource.CreateLinkedTokenSource(closed.Token);
                pause.CancelAfter(RedeliveryCheck);
                try
                {
                    await wake.Reader.ReadAsync(pause.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!closed.IsCancellationRequested)
                {
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        catch (StorageUnavailableException)
        {
            // Storage went away mid-session: tell the member to come back; its claims expire and are redelivered.
            await ChannelEndpoints.CloseForStorageLossAsync(socket).ConfigureAwait(false);
        }
        finally
        {
            await ChannelEndpoints.StopReceivingAsync(socket, closed, receiving).ConfigureAwait(false);
            try
            {
                await store.ReleaseGroupMemberAsync(caller.Workspace, channel, group, member, CancellationToken.None).ConfigureAwait(false);
            }
            catch (StorageUnavailableException)
            {
                // The claims still expire after the ack timeout and go to another member.
            }

            await ChannelEndpoints.CloseQuietlyAsync(socket, session.EndReason).ConfigureAwait(false);
        }

        return Results.Empty;
    }

    private static int Count(HashSet<long> inFlight)
    {
        lock (inFlight)
        {
            return inFlight.Count;
        }
    }

    /// <summary>Handles one text frame from a member: an ack frees its claim and wakes the claim loop.</summary>
    private static async Task<bool> HandleAckAsync(
        ReadOnlyMemory<byte> frame,
        IRelayStore store,
        string workspace,
        string channel,
        string group,
        string member,
        HashSet<long> inFlight,
        ChannelWriter<bool> wake,
        CancellationToken cancellationToken)
    {
        if (TryReadAck(frame.Span) is not { } seq)
        {
            return true; // not an ack: ignore
        }

        try
        {
            await store.AckGroupEventAsync(workspace, channel, group, member, seq, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException)
        {
            return false; // the ack is lost: the event will be redelivered (at-least-once)
        }

        lock (inFlight)
        {
            inFlight.Remove(seq);
        }

        wake.TryWrite(true);
        return true;
    }

    private static long? TryReadAck(ReadOnlySpan<byte> frame)
    {
        try
        {
            var reader = new Utf8JsonReader(frame);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                   && root.TryGetProperty("type", out var type) && type.ValueEquals("ack")
                   && root.TryGetProperty("seq", out var seq) && seq.TryGetInt64(out var value)
                ? value
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryParseQuery(HttpContext http, string name, int fallback, int min, int max, out int value)
    {
        var text = http.Request.Query[name].FirstOrDefault();
        if (text is null)
        {
            value = fallback;
            return true;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
    }
}

/// <summary>GET /channels/{channel}/groups.</summary>
internal sealed record GroupsAnswer(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("groups")] IReadOnlyList<GroupAnswer> Groups);

/// <summary>One queue group: times are unix milliseconds, like an event's <c>ts</c>.</summary>
internal sealed record GroupAnswer(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("cursor")] long Cursor,
    [property: JsonPropertyName("backlog")] long Backlog,
    [property: JsonPropertyName("members")] IReadOnlyList<GroupMemberAnswer> Members,
    [property: JsonPropertyName("pending")] IReadOnlyList<PendingClaimAnswer> Pending);

internal sealed record GroupMemberAnswer(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("connected_at")] long ConnectedAt,
    [property: JsonPropertyName("seen_until")] long SeenUntil);

internal sealed record PendingClaimAnswer(
    [property: JsonPropertyName("seq")] long Seq,
    [property: JsonPropertyName("member")] string Member,
    [property: JsonPropertyName("deliveries")] int Deliveries,
    [property: JsonPropertyName("ack_deadline")] long? AckDeadline);
