namespace CtxRelay.Relay.Storage;

/// <summary>
/// Everything the relay keeps: payloads with a time to live, channel events with per-channel sequence
/// numbers and live fan-out, API keys and workspace usage. Engines: SQLite (embedded, the default) and
/// Redis (shared by many relays). Both pass the same contract suite (StoreContractTests).
/// </summary>
internal interface IRelayStore : IAsyncDisposable
{
    /// <summary>Creates the schema / checks the connection. Called once at start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    // ---- payloads -------------------------------------------------------------------------------

    /// <summary>
    /// Stores a payload durably: when this returns, a crash of the process loses nothing, and until it
    /// returns no reader can see a partial payload.
    /// </summary>
    Task SavePayloadAsync(PayloadRecord payload, Stream content, CancellationToken cancellationToken)
        => SavePayloadAsync(payload, content, channelEvent: null, cancellationToken);

    /// <summary>
    /// Stores a payload durably and, with <paramref name="channelEvent"/>, appends that event to the payload's
    /// channel in the same atomic step: both are stored or neither (a crash between them cannot keep the
    /// payload and lose its event). Returns the appended event, fanned out live once stored.
    /// </summary>
    Task<ChannelEvent?> SavePayloadAsync(PayloadRecord payload, Stream content, NewChannelEvent? channelEvent, CancellationToken cancellationToken);

    /// <summary>The payload's record, or null when it is unknown, expired, deleted or another workspace's.</summary>
    Task<PayloadRecord?> GetPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Opens the payload's bytes for reading, or null (same rules as <see cref="GetPayloadAsync"/>).</summary>
    Task<PayloadContent?> OpenPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken);

    Task<bool> DeletePayloadAsync(string workspace, string id, CancellationToken cancellationToken);

    /// <summary>Bytes of live payloads the workspace holds (for its storage quota).</summary>
    Task<long> GetStoredBytesAsync(string workspace, CancellationToken cancellationToken);

    /// <summary>Deletes expired payloads and channel events beyond retention; returns how many payloads went.</summary>
    Task<int> SweepAsync(DateTimeOffset now, ChannelRetention retention, CancellationToken cancellationToken);

    // ---- channels -------------------------------------------------------------------------------

    /// <summary>Appends an event to a channel, assigning its sequence number and time, and fans it out live.</summary>
    Task<ChannelEvent> AppendEventAsync(string workspace, string channel, NewChannelEvent channelEvent, CancellationToken cancellationToken);

    /// <summary>Retained events with seq &gt; <paramref name="afterSeq"/>, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ChannelEvent>> ReadEventsAsync(string workspace, string channel, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Calls <paramref name="onEvent"/> for every event appended to the channel from now on (by this or
    /// any other relay sharing the store), in seq order. Dispose to stop.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(string workspace, string channel, Func<ChannelEvent, ValueTask> onEvent, CancellationToken cancellationToken);

    // ---- queue groups -------------------------------------------------------------------------

    /// <summary>
    /// Creates the group on first use, positioned at the channel's current end — or, with
    /// <paramref name="since"/>, after that seq (never beyond the end), so the retained events after it go
    /// to the group too. From then on it receives every event, whether or not a member is connected. An
    /// existing group keeps its position (<paramref name="since"/> is ignored).
    /// </summary>
    Task JoinGroupAsync(string workspace, string channel, string group, long? since, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically hands one event to <paramref name="member"/>: first an unacknowledged claim whose ack
    /// deadline has passed (a redelivery), else the group's next unclaimed event. Null when there is none.
    /// </summary>
    Task<GroupClaim?> ClaimGroupEventAsync(string workspace, string channel, string group, string member, DateTimeOffset now, TimeSpan ackTimeout, CancellationToken cancellationToken);

    /// <summary>Marks the member's claim of <paramref name="seq"/> done; false when it is not (or no longer) that member's.</summary>
    Task<bool> AckGroupEventAsync(string workspace, string channel, string group, string member, long seq, CancellationToken cancellationToken);

    /// <summary>
    /// A member left: its unacknowledged claims become claimable by the others at once, and it is no
    /// longer listed as connected.
    /// </summary>
    Task ReleaseGroupMemberAsync(string workspace, string channel, string group, string member, CancellationToken cancellationToken);

    /// <summary>
    /// Records that <paramref name="member"/> (connected since <paramref name="connectedAt"/>; a refresh keeps
    /// the first time) is connected to the group until <paramref name="until"/>: a relay refreshes this while the member stays, so the
    /// members of a relay that crashed drop out of <see cref="ListGroupsAsync"/> by themselves.
    /// Creates the group (like <see cref="JoinGroupAsync"/> without since) when it does not exist.
    /// </summary>
    Task SeeGroupMemberAsync(string workspace, string channel, string group, string member, DateTimeOffset connectedAt, DateTimeOffset until, CancellationToken cancellationToken);

    /// <summary>
    /// The channel's queue groups, by name: cursor, backlog, the members seen until after
    /// <paramref name="now"/> and the unacknowledged claims.
    /// </summary>
    Task<IReadOnlyList<GroupStatus>> ListGroupsAsync(string workspace, string channel, DateTimeOffset now, CancellationToken cancellationToken);

    // ---- keys -----------------------------------------------------------------------------------

    Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>The key whose SHA-256 is <paramref name="hash"/>, revoked or not; null when unknown.</summary>
    Task<ApiKeyRecord?> FindKeyAsync(byte[] hash, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken);

    /// <summary>Revokes the key with this id; false when there is none.</summary>
    Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// A number that changes whenever a key is revoked or a workspace's plan is set (by any relay or the
    /// command line), so every relay can drop what it cached about keys at once.
    /// </summary>
    Task<long> GetAccessRevisionAsync(CancellationToken cancellationToken);

    // ---- workspaces and usage -------------------------------------------------------------------

    /// <summary>Sets the plan of a workspace (<c>workspaces set-plan</c>).</summary>
    Task SetWorkspacePlanAsync(string workspace, string plan, CancellationToken cancellationToken);

    /// <summary>The plan set for the workspace, or null when none was set.</summary>
    Task<string?> GetWorkspacePlanAsync(string workspace, CancellationToken cancellationToken);

    /// <summary>Every workspace whose plan was set, with that plan.</summary>
    Task<IReadOnlyDictionary<string, string>> ListWorkspacePlansAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Adds one to the counter unless it has reached <paramref name="limit"/>, atomically — exact under
    /// concurrency, across relays sharing the store, and across restarts. The counter is kept at least
    /// <paramref name="lifetime"/>.
    /// </summary>
    Task<UsageGrant> ConsumeUsageAsync(UsageKey key, long limit, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>Adds the amounts (negative to give back) to the counters, without a limit.</summary>
    Task AddUsageAsync(IReadOnlyCollection<KeyValuePair<UsageKey, long>> amounts, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>The counters of <paramref name="period"/>, of one workspace or (null) of all.</summary>
    Task<IReadOnlyList<KeyValuePair<UsageKey, long>>> ReadUsageAsync(string period, string? workspace, CancellationToken cancellationToken);
}

/// <summary>A usage counter: what (<c>pushes</c>, <c>pulls</c>, <c>requests</c>) a workspace did in a period (<c>2026-11</c>).</summary>
internal readonly record struct UsageKey(string Workspace, string Meter, string Period);

/// <summary>Whether a counted operation may go ahead, and the counter's value after it.</summary>
internal readonly record struct UsageGrant(bool Allowed, long Used);

internal sealed record PayloadRecord
{
    public required string Workspace { get; init; }
    public required string Id { get; init; }
    public string? Channel { get; init; }

    /// <summary>The metadata object's JSON text exactly as pushed ("{}" when none).</summary>
    public required string MetadataJson { get; init; }
    public required string ContentType { get; init; }
    public required long Size { get; init; }

    /// <summary>Strong validator: base64 SHA-256 of the bytes.</summary>
    public required string ETag { get; init; }
    public bool Encrypted { get; init; }

    /// <summary>Whether the text is itself shaped like the hosted envelope, and how it was pushed (docs/protocol.md).</summary>
    public EnvelopeShape Shape { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>
/// Whether a payload's text is itself an object <c>{"data": "…", "metadata"?: {…}}</c> — which the hosted
/// product's clients unwrap on pull — and how it came in. Stored as a number: values are never reused.
/// </summary>
internal enum EnvelopeShape
{
    /// <summary>Any other text: every client reads it as it is.</summary>
    None = 0,

    /// <summary>Envelope-shaped, pushed as the raw request body.</summary>
    PushedRaw = 1,

    /// <summary>Envelope-shaped, pushed as the <c>data</c> of a JSON envelope (the hosted SDKs' push).</summary>
    PushedAsJson = 2,
}

/// <summary>An open payload. Dispose it when the bytes have been copied out.</summary>
internal sealed class PayloadContent(PayloadRecord record, Stream content, IAsyncDisposable? owner = null) : IAsyncDisposable
{
    public PayloadRecord Record { get; } = record;

    public Stream Content { get; } = content;

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync().ConfigureAwait(false);
        if (owner is not null)
        {
            await owner.DisposeAsync().ConfigureAwait(false);
        }
    }
}

internal enum ChannelEventType
{
    Push,
    Message,
}

/// <summary>An event to append; <paramref name="Size"/> is a push's payload size in bytes.</summary>
internal sealed record NewChannelEvent(ChannelEventType Type, string MetadataJson, string? PayloadId = null, string? Url = null, string? Data = null, long? Size = null);

/// <summary>A stored event; <paramref name="Size"/> is a push's payload size (null for messages and for events stored before sizes were kept).</summary>
internal sealed record ChannelEvent(
    string Channel,
    long Seq,
    DateTimeOffset Timestamp,
    ChannelEventType Type,
    string MetadataJson,
    string? PayloadId,
    string? Url,
    string? Data,
    long? Size = null);

/// <summary>An event handed to one member of a queue group; <see cref="Deliveries"/> counts redeliveries too.</summary>
internal sealed record GroupClaim(ChannelEvent Event, int Deliveries);

/// <summary>
/// A queue group as <see cref="IRelayStore.ListGroupsAsync"/> sees it: <see cref="Cursor"/> is the last seq
/// handed out for the first time, <see cref="Backlog"/> the retained events after it (not claimed yet).
/// </summary>
internal sealed record GroupStatus(string Name, long Cursor, long Backlog, IReadOnlyList<GroupMemberStatus> Members, IReadOnlyList<PendingClaim> Pending);

/// <summary>A member connected to a group (seen until <see cref="Until"/>).</summary>
internal sealed record GroupMemberStatus(string Id, DateTimeOffset ConnectedAt, DateTimeOffset Until);

/// <summary>An unacknowledged claim; <see cref="Deadline"/> is null when its member left (claimable at once).</summary>
internal sealed record PendingClaim(long Seq, string Member, int Deliveries, DateTimeOffset? Deadline);

/// <summary>How long channels keep their events for replay.</summary>
internal sealed record ChannelRetention(int MaxEvents, TimeSpan MaxAge);

internal enum KeyScope
{
    /// <summary>Push, publish, delete, pull, peek, subscribe.</summary>
    ReadWrite,

    /// <summary>Pull, peek and subscribe only.</summary>
    ReadOnly,

    /// <summary>Push and publish only: it cannot read anything back.</summary>
    PushOnly,
}

internal sealed record ApiKeyRecord
{
    public required string Id { get; init; }
    public required string Workspace { get; init; }
    public required byte[] Hash { get; init; }

    /// <summary>The first characters of the key, shown by <c>keys list</c> to tell keys apart.</summary>
    public required string Prefix { get; init; }
    public required string Plan { get; init; }
    public KeyScope Scope { get; init; }

    /// <summary>Channel patterns the key is limited to (<c>research-*,alerts</c>), or null for every channel.</summary>
    public string? Channels { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the key stops working by itself, or null.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
}
