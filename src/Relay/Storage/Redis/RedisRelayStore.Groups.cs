using System.Globalization;
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
            [.. GroupKeys(workspace, channel, group), _keys.Seq(workspace, channel)],
            [GroupIdleMilliseconds(), since is { } from ? from : -1, group]).ConfigureAwait(false);

    private async Task<GroupClaim?> ClaimGroupEventCoreAsync(string workspace, string channel, string group, string member, DateTimeOffset now, TimeSpan ackTimeout)
    {
        var result = await Database.ScriptEvaluateAsync(
            RedisGroupScripts.Claim,
            [.. GroupKeys(workspace, channel, group), _keys.Events(workspace, channel), _keys.Seq(workspace, channel)],
            [member, now.ToUnixTimeMilliseconds(), (now + ackTimeout).ToUnixTimeMilliseconds(), GroupIdleMilliseconds(), group]).ConfigureAwait(false);
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
            GroupKeys(workspace, channel, group),
            [member, seq, GroupIdleMilliseconds()]).ConfigureAwait(false);
        return (long)acked == 1;
    }

    private async Task ReleaseGroupMemberCoreAsync(string workspace, string channel, string group, string member)
        => await Database.ScriptEvaluateAsync(
            RedisGroupScripts.Release,
            GroupKeys(workspace, channel, group),
            [member, GroupIdleMilliseconds()]).ConfigureAwait(false);

    public Task SeeGroupMemberAsync(string workspace, string channel, string group, string member, DateTimeOffset connectedAt, DateTimeOffset until, CancellationToken cancellationToken)
        => Guard(SeeGroupMemberCoreAsync(workspace, channel, group, member, connectedAt, until));

    public Task<IReadOnlyList<GroupStatus>> ListGroupsAsync(string workspace, string channel, DateTimeOffset now, CancellationToken cancellationToken)
        => Guard(ListGroupsCoreAsync(workspace, channel, now));

    private async Task SeeGroupMemberCoreAsync(string workspace, string channel, string group, string member, DateTimeOffset connectedAt, DateTimeOffset until)
        => await Database.ScriptEvaluateAsync(
            RedisGroupScripts.SeeMember,
            [.. GroupKeys(workspace, channel, group), _keys.Seq(workspace, channel)],
            [GroupIdleMilliseconds(), member, connectedAt.ToUnixTimeMilliseconds(), until.ToUnixTimeMilliseconds(), group]).ConfigureAwait(false);

    private async Task<IReadOnlyList<GroupStatus>> ListGroupsCoreAsync(string workspace, string channel, DateTimeOffset now)
    {
        var result = await Database.ScriptEvaluateAsync(
            RedisGroupScripts.List,
            [GroupIndexKey(workspace, channel), _keys.Events(workspace, channel)],
            [_keys.WorkspacePrefix(workspace), channel, now.ToUnixTimeMilliseconds()]).ConfigureAwait(false);
        var groups = new List<GroupStatus>();
        foreach (var entry in (RedisResult[])result!)
        {
            var parts = (RedisResult[])entry!;
            var claimParts = (RedisResult[])parts[3]!;
            var claims = new List<PendingClaim>();
            for (var i = 0; i + 2 < claimParts.Length; i += 3)
            {
                var (deliveries, holder) = SplitPair((string)claimParts[i + 1]!);
                var deadline = (long)claimParts[i + 2];
                claims.Add(new PendingClaim((long)claimParts[i], holder, (int)deliveries, deadline == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(deadline)));
            }

            var memberParts = (RedisResult[])parts[4]!;
            var members = new List<GroupMemberStatus>();
            for (var i = 0; i + 1 < memberParts.Length; i += 2)
            {
                var (connected, until) = SplitPair((string)memberParts[i + 1]!);
                members.Add(new GroupMemberStatus((string)memberParts[i]!, DateTimeOffset.FromUnixTimeMilliseconds(connected), DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(until, CultureInfo.InvariantCulture))));
            }

            groups.Add(new GroupStatus(
                (string)parts[0]!,
                (long)parts[1],
                (long)parts[2],
                [.. members.OrderBy(m => m.ConnectedAt).ThenBy(m => m.Id, StringComparer.Ordinal)],
                [.. claims.OrderBy(c => c.Seq)]));
        }

        return [.. groups.OrderBy(g => g.Name, StringComparer.Ordinal)];
    }

    /// <summary>Splits "number:rest" as the scripts store it.</summary>
    private static (long Number, string Text) SplitPair(string entry)
    {
        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        return (long.Parse(entry.AsSpan(0, colon), CultureInfo.InvariantCulture), entry[(colon + 1)..]);
    }

    /// <summary>The keys every group script takes first: group, claims, members, the channel's group index.</summary>
    private RedisKey[] GroupKeys(string workspace, string channel, string group)
    {
        var prefix = _keys.WorkspacePrefix(workspace);
        return [$"{prefix}g:{channel}/{group}", $"{prefix}gd:{channel}/{group}", $"{prefix}gm:{channel}/{group}", GroupIndexKey(workspace, channel)];
    }

    private RedisKey GroupIndexKey(string workspace, string channel) => $"{_keys.WorkspacePrefix(workspace)}gi:{channel}";

    private long GroupIdleMilliseconds()
    {
        var retention = Volatile.Read(ref _retention);
        var idle = retention is null || retention.MaxAge * 2 < MinimumGroupIdle ? MinimumGroupIdle : retention.MaxAge * 2;
        return (long)idle.TotalMilliseconds;
    }
}
