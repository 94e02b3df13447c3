using StackExchange.Redis;

namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// Queue groups on Redis: per group a hash (cursor + claims) and a sorted set of claims by ack deadline,
/// changed only by the Lua scripts of <see cref="RedisGroupScripts"/>, so a claim is atomic across every
/// relay sharing this Redis — the same semantics as the SQLite engine's claim transaction.
/// </summary>
internal sealed partial class RedisRelayStore
{
    /// <summary>
    /// A group nobody has joined, claimed from, acked or left for this long (or twice the channel
    /// retention age, when that is longer) is forgotten; joining again creates it anew (at the channel's end, or after the join's since).
    /// </summary>
    private static readonly TimeSpan MinimumGroupIdle = TimeSpan.FromDays(7);

    public Task JoinGroupAsync(string workspace, string channel, string group, long? since, CancellationToken cancellationToken)
        => Guard(JoinGroupCoreAsync(workspace, channel, group, since));

    public Task<GroupClaim?> ClaimGroupEventAsync(string workspace, string channel, string group, string member, DateTimeOffset now, TimeSpan ackTimeout, CancellationToken cancellationToken)
        => Guard(ClaimGroupEventCoreAsync(workspace, channel, group, member, now, ackTimeout));

    public Task<bool> AckGroupEventAsync(string workspace, string channel, string group, string member, long seq, CancellationToken cancellationToken)
        => Guard(AckGroupEventCoreAsync(workspace, channel, group, member, seq));

    public Task ReleaseGroupMemberAsync(string workspace, string channel, string group, string member, CancellationToken cancellationToken)
        => Guard(ReleaseGroupMemberCoreAsync(workspace, channel, group, member));

    private async Task JoinGroupCoreAsync(string workspace, string channel, string group, long? since)
        => await Database.ScriptEvaluateAsync(
            RedisGroupScripts.Join,
            [GroupKey(workspace, channel, group), GroupClaimsKey(workspace, channel, group), _keys.Seq(workspace, channel)],
            [GroupIdleMilliseconds(), since is { } from ? from : -1]).ConfigureAwait(false);

    private async Task<GroupClaim?> ClaimGroupEventCoreAsync(string workspace, string channel, string group, string member, DateTimeOffset now, TimeSpan ackTimeout)
    {
        var result = await Database.ScriptEvaluateAsync(
            RedisGroupScripts.Claim,
            [GroupKey(workspace, channel, group), GroupClaimsKey(workspace, channel, group), _keys.Events(workspace, channel), _keys.Seq(workspace, channel)],
            [member, now.ToUnixTimeMilliseconds(), (now + ackTimeout).ToUnixTimeMilliseconds(), GroupIdleMilliseconds()]).ConfigureAwait(false);
        if (result.IsNull)
        {
            return null;
        }

        var parts = (RedisResult[])result!;
        return RedisEvents.TryDecode(channel, (string?)parts[2], out var channelEvent)
            ? new GroupClaim(channelEvent, (int)parts[1])
            : null;
    }

    private async Task<bool> AckGroupEventCoreAsync(string workspace, string channel, string group, string member, long seq)
    {
        var acked = await Database.ScriptEvaluateAsync(
            RedisGroupScripts.Ack,
            [GroupKey(workspace, channel, group), GroupClaimsKey(workspace, channel, group)],
            [member, seq, GroupIdleMilliseconds()]).ConfigureAwait(false);
        return (long)acked == 1;
    }

    private async Task ReleaseGroupMemberCoreAsync(string workspace, string channel, string group, string member)
        => await Database.ScriptEvaluateAsync(
            RedisGroupScripts.Release,
            [GroupKey(workspace, channel, group), GroupClaimsKey(workspace, channel, group)],
            [member, GroupIdleMilliseconds()]).ConfigureAwait(false);

    private RedisKey GroupKey(string workspace, string channel, string group) => $"{_keys.WorkspacePrefix(workspace)}g:{channel}/{group}";

    private RedisKey GroupClaimsKey(string workspace, string channel, string group) => $"{_keys.WorkspacePrefix(workspace)}gd:{channel}/{group}";

    private long GroupIdleMilliseconds()
    {
        var retention = Volatile.Read(ref _retention);
        var idle = retention is null || retention.MaxAge * 2 < MinimumGroupIdle ? MinimumGroupIdle : retention.MaxAge * 2;
        return (long)idle.TotalMilliseconds;
    }
}
