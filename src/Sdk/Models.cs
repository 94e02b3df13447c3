using System.Text.Json.Nodes;

namespace CtxRelay;

/// <summary>What the relay answered to a push.</summary>
/// <param name="Url">The URL to hand on; with <c>#key=…</c> when the payload was encrypted.</param>
public sealed record PushResult(string Url, string Id, string? Channel, DateTimeOffset ExpiresAt, long Size);

/// <summary>What <see cref="ContextRelay.PeekAsync"/> tells about a payload without downloading it.</summary>
public sealed record PayloadInfo
{
    public required string Id { get; init; }

    /// <summary>The metadata object exactly as pushed (empty when none).</summary>
    public required JsonObject Metadata { get; init; }

    /// <summary>Stored size in bytes (of the ciphertext, for an encrypted payload).</summary>
    public long Size { get; init; }

    public string? Channel { get; init; }

    public bool Encrypted { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>The kind of a channel event.</summary>
public enum RelayEventType
{
    /// <summary>A payload was pushed to the channel: <see cref="RelayEvent.Url"/> points at it.</summary>
    Push,

    /// <summary>A message was published to the channel: <see cref="RelayEvent.Data"/> carries it.</summary>
    Message,
}

/// <summary>One event on a channel.</summary>
public sealed record RelayEvent
{
    public required RelayEventType Type { get; init; }

    public required string Channel { get; init; }

    /// <summary>Position in the channel; increases by one per event.</summary>
    public long Seq { get; init; }

    public DateTimeOffset Timestamp { get; init; }

    /// <summary>For a push: the payload's URL (never with a key: keys do not travel through the relay).</summary>
    public string? Url { get; init; }

    /// <summary>For a push: the payload id.</summary>
    public string? Id { get; init; }

    /// <summary>For a message: its text.</summary>
    public string? Data { get; init; }

    public JsonObject Metadata { get; init; } = [];

    /// <summary>For a queue-group subscription: the group that handed this event to this member.</summary>
    public string? Group { get; init; }

    /// <summary>For a queue-group subscription: how many times the event has been handed out (2+ = redelivery).</summary>
    public int Deliveries { get; init; }

    /// <summary>For a push: the payload's stored size in bytes (null from relays that do not send it).</summary>
    public long? Size { get; init; }
}

/// <summary>A queue group of a channel, as <see cref="ContextRelay.GetGroupsAsync"/> reports it.</summary>
public sealed record QueueGroupInfo
{
    public required string Name { get; init; }

    /// <summary>The last seq the group has handed out for the first time.</summary>
    public long Cursor { get; init; }

    /// <summary>Retained events after <see cref="Cursor"/>: waiting for a member to claim them.</summary>
    public long Backlog { get; init; }

    /// <summary>The members connected now (to any relay sharing the store).</summary>
    public IReadOnlyList<QueueGroupMember> Members { get; init; } = [];

    /// <summary>Events handed to a member and not acknowledged yet, oldest first.</summary>
    public IReadOnlyList<PendingGroupClaim> Pending { get; init; } = [];
}

/// <summary>A connected member of a queue group; the relay refreshes <see cref="SeenUntil"/> while it stays.</summary>
public sealed record QueueGroupMember(string Id, DateTimeOffset ConnectedAt, DateTimeOffset SeenUntil);

/// <summary>
/// An unacknowledged event of a queue group: handed to <see cref="Member"/> <see cref="Deliveries"/> times;
/// redelivered after <see cref="AckDeadline"/>, or at once when null (its member left).
/// </summary>
public sealed record PendingGroupClaim(long Seq, string Member, int Deliveries, DateTimeOffset? AckDeadline);

/// <summary>How to subscribe to a channel.</summary>
public sealed record SubscriptionOptions
{
    public static SubscriptionOptions Default { get; } = new();

    /// <summary>
    /// Replay the retained events after this sequence number first, then go live. With
    /// <see cref="Group"/>: when this subscription's join creates the group, the group starts after this
    /// seq instead of at the channel's end (so events pushed before any member ever joined are served);
    /// an existing group keeps its position.
    /// </summary>
    public long? Since { get; init; }

    /// <summary>
    /// Join a queue group: each event goes to exactly one live member of the group, which must
    /// <see cref="RelaySubscription.AckAsync"/> it; unacknowledged events are redelivered to another member.
    /// </summary>
    public string? Group { get; init; }

    /// <summary>For a group: how long the relay waits for an ack before redelivering (default 30 s).</summary>
    public TimeSpan? AckTimeout { get; init; }

    /// <summary>For a group: how many unacknowledged events this member may hold at once (default 1).</summary>
    public int Prefetch { get; init; } = 1;
}
