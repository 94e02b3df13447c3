namespace CtxRelay.Relay.Storage.Redis;

/// <summary>Queue groups on Redis: not implemented yet — a group subscription on the redis engine is refused.</summary>
internal sealed partial class RedisRelayStore
{
    private const string GroupsPending = "Queue groups (?group=) are not available on the redis engine yet; use the sqlite engine or plain subscriptions.";

    public Task JoinGroupAsync(string workspace, string channel, string group, CancellationToken cancellationToken)
        => throw new NotSupportedException(GroupsPending);

    public Task<GroupClaim?> ClaimGroupEventAsync(string workspace, string channel, string group, string member, DateTimeOffset now, TimeSpan ackTimeout, CancellationToken cancellationToken)
        => throw new NotSupportedException(GroupsPending);

    public Task<bool> AckGroupEventAsync(string workspace, string channel, string group, string member, long seq, CancellationToken cancellationToken)
        => throw new NotSupportedException(GroupsPending);

    public Task ReleaseGroupMemberAsync(string workspace, string channel, string group, string member, CancellationToken cancellationToken)
        => throw new NotSupportedException(GroupsPending);
}
