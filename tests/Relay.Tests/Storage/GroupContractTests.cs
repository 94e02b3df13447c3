using System.Collections.Concurrent;
using System.Diagnostics;
using CtxRelay.Relay.Storage;
using CtxRelay.Relay.Storage.Redis;
using CtxRelay.Relay.Storage.Sqlite;
using CtxRelay.Testing;
using StackExchange.Redis;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// The queue-group part of the storage contract (join, claim, ack, release), tested on
/// <see cref="IRelayStore"/> directly with explicit clocks, so deadlines pass without waiting. Every
/// engine inherits this class; a shared engine also runs the claims from two store instances ("relays").
/// </summary>
public abstract class GroupContractTests : IAsyncLifetime
{
    protected static readonly TimeSpan LongTimeout = TimeSpan.FromHours(1);
    private readonly List<IRelayStore> _stores = [];

    protected string Workspace { get; } = NewName("ws");

    private protected IRelayStore Store => _stores.Count > 0 ? _stores[0] : throw new InvalidOperationException("The store has not been created.");

    /// <summary>A new, empty store of the engine; the suite initializes and disposes it.</summary>
    private protected abstract Task<IRelayStore> CreateStoreAsync();

    /// <summary>
    /// Another relay's store on the same storage, or null when the engine serves one relay only (then
    /// the tests use <see cref="Store"/> again).
    /// </summary>
    private protected virtual Task<IRelayStore?> CreatePeerAsync() => Task.FromResult<IRelayStore?>(null);

    public async Task InitializeAsync()
    {
        var store = await CreateStoreAsync();
        _stores.Add(store);
        await store.InitializeAsync(CancellationToken.None);
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_group_starts_at_the_channel_s_current_end_and_gets_what_follows()
    {
        var channel = NewName("ch");
        await AppendAsync(channel, 3);

        await Store.JoinGroupAsync(Workspace, channel, "g", null, default);
        Assert.Null(await ClaimAsync(channel, "g", "m1", Now));

        await AppendAsync(channel, 2);
        var fourth = await ClaimAsync(channel, "g", "m1", Now);
        Assert.NotNull(fourth);
        Assert.Equal((4L, 1, "m4"), (fourth.Event.Seq, fourth.Deliveries, fourth.Event.Data));
        Assert.Equal(channel, fourth.Event.Channel);
        Assert.Equal(5, (await ClaimAsync(channel, "g", "m2", Now))?.Event.Seq);
        Assert.Null(await ClaimAsync(channel, "g", "m1", Now));

        // Joining again does not move an existing group.
        await AppendAsync(channel, 1);
        await Store.JoinGroupAsync(Workspace, channel, "g", null, default);
        Assert.Equal(6, (await ClaimAsync(channel, "g", "m1", Now))?.Event.Seq);
    }

    [Fact]
    public async Task A_group_created_with_since_gets_the_retained_events_after_it_and_an_existing_group_ignores_since()
    {
        var channel = NewName("ch");
        await AppendAsync(channel, 3);

        await Store.JoinGroupAsync(Workspace, channel, "from-1", 1, default);
        Assert.Equal([2L, 3L], await DrainAsync(channel, "from-1"));

        await Store.JoinGroupAsync(Workspace, channel, "from-0", 0, default);
        Assert.Equal([1L, 2L, 3L], await DrainAsync(channel, "from-0"));

        // The group exists now: joining with since again neither replays nor moves it.
        await Store.JoinGroupAsync(Workspace, channel, "from-0", 0, default);
        await Store.JoinGroupAsync(Workspace, channel, "from-1", 0, default);
        Assert.Empty(await DrainAsync(channel, "from-0"));
        Assert.Empty(await DrainAsync(channel, "from-1"));

        // A since beyond the channel's end starts at the end, so nothing later is skipped.
        await Store.JoinGroupAsync(Workspace, channel, "ahead", 10, default);
        await AppendAsync(channel, 1);
        Assert.Equal([4L], await DrainAsync(channel, "ahead"));
        Assert.Equal([4L], await DrainAsync(channel, "from-0"));
    }

    [Fact]
    public async Task A_group_created_with_since_zero_on_a_channel_no_group_ever_joined_gets_its_first_event()
    {
        var channel = NewName("ch");
        await AppendAsync(channel, 1); // pushed before anyone joined: at the channel's end it would be lost

        await Store.JoinGroupAsync(Workspace, channel, "late", 0, default);
        await Store.JoinGroupAsync(Workspace, channel, "plain", null, default);

        Assert.Equal([1L], await DrainAsync(channel, "late"));
        Assert.Empty(await DrainAsync(channel, "plain"));

        // An unused channel: since 0 is simply its start.
        var unused = NewName("ch");
        await Store.JoinGroupAsync(Workspace, unused, "late", 0, default);
        await AppendAsync(unused, 1);
        Assert.Equal([1L], await DrainAsync(unused, "late"));
    }

    [Fact]
    public async Task Two_relays_claiming_at_once_hand_out_every_event_exactly_once()
    {
        const int events = 300;
        var channel = NewName("ch");
        var peer = await PeerAsync();
        await Store.JoinGroupAsync(Workspace, channel, "pool", null, default);
        await peer.JoinGroupAsync(Workspace, channel, "pool", null, default);
        await Task.WhenAll(Enumerable.Range(1, events).Select(i =>
            (i % 2 == 0 ? Store : peer).AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: $"t{i}"), default)));

        var claimed = new ConcurrentBag<(string Member, GroupClaim Claim)>();
        var claimers = Enumerable.Range(0, 8).Select(n => Task.Run(async () =>
        {
            var store = n % 2 == 0 ? Store : peer;
            var member = $"m{n}";
            while (await store.ClaimGroupEventAsync(Workspace, channel, "pool", member, Now, LongTimeout, default) is { } claim)
            {
                claimed.Add((member, claim));
                Assert.True(await store.AckGroupEventAsync(Workspace, channel, "pool", member, claim.Event.Seq, default));
            }
        }));
        await Task.WhenAll(claimers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(Enumerable.Range(1, events).Select(i => (long)i), claimed.Select(c => c.Claim.Event.Seq).Order());
        Assert.All(claimed, c => Assert.Equal(1, c.Claim.Deliveries));
        Assert.Equal(Enumerable.Range(1, events).Select(i => $"t{i}").Order(), claimed.Select(c => c.Claim.Event.Data!).Order());

        // Everything was acked: nothing comes back, however late.
        Assert.Null(await ClaimAsync(channel, "pool", "late", Now.AddDays(1)));
    }

    [Fact]
    public async Task An_unacked_claim_is_redelivered_after_its_deadline_with_deliveries_counted()
    {
        var channel = NewName("ch");
        await Store.JoinGroupAsync(Workspace, channel, "g", null, default);
        await AppendAsync(channel, 1);
        var t0 = Now;
        var timeout = TimeSpan.FromSeconds(1);

        var first = await ClaimAsync(channel, "g", "m1", t0, timeout);
        Assert.Equal((1L, 1), (first?.Event.Seq, first?.Deliveries));
        Assert.Null(await ClaimAsync(channel, "g", "m2", t0.AddMilliseconds(999), timeout)); // not due yet

        var second = await ClaimAsync(channel, "g", "m2", t0 + timeout, timeout); // due at the deadline
        Assert.Equal((1L, 2, "m1"), (second?.Event.Seq, second?.Deliveries, second?.Event.Data));
        Assert.False(await Store.AckGroupEventAsync(Workspace, channel, "g", "m1", 1, default)); // m1 lost it

        var third = await ClaimAsync(channel, "g", "m3", t0 + timeout + timeout, timeout);
        Assert.Equal((1L, 3), (third?.Event.Seq, third?.Deliveries));
        Assert.False(await Store.AckGroupEventAsync(Workspace, channel, "g", "m2", 1, default));
        Assert.True(await Store.AckGroupEventAsync(Workspace, channel, "g", "m3", 1, default));
        Assert.Null(await ClaimAsync(channel, "g", "m4", t0.AddDays(1), timeout));
    }

    [Fact]
    public async Task Release_makes_the_member_s_claims_claimable_at_once_oldest_first()
    {
        var channel = NewName("ch");
        await Store.JoinGroupAsync(Workspace, channel, "g", null, default);
        await AppendAsync(channel, 3);
        var t0 = Now;
        for (var seq = 1; seq <= 3; seq++)
        {
            Assert.Equal(seq, (await ClaimAsync(channel, "g", "leaver", t0))?.Event.Seq);
        }

        Assert.Null(await ClaimAsync(channel, "g", "stayer", t0));
        await Store.ReleaseGroupMemberAsync(Workspace, channel, "g", "leaver", default);

        var again = new List<GroupClaim>();
        while (await ClaimAsync(channel, "g", "stayer", t0) is { } claim)
        {
            again.Add(claim);
            Assert.InRange(again.Count, 1, 3);
        }

        Assert.Equal([(1L, 2), (2L, 2), (3L, 2)], again.Select(c => (c.Event.Seq, c.Deliveries)));

        // Releasing a member touches only its own claims.
        await Store.ReleaseGroupMemberAsync(Workspace, channel, "g", "leaver", default);
        Assert.Null(await ClaimAsync(channel, "g", "third", t0));
    }

    [Fact]
    public async Task Only_the_member_holding_a_claim_can_ack_it_and_an_acked_event_never_comes_back()
    {
        var channel = NewName("ch");
        await Store.JoinGroupAsync(Workspace, channel, "g", null, default);
        await AppendAsync(channel, 2);
        var t0 = Now;
        Assert.Equal(1, (await ClaimAsync(channel, "g", "m1", t0))?.Event.Seq);

        Assert.False(await Store.AckGroupEventAsync(Workspace, channel, "g", "m2", 1, default));
        Assert.False(await Store.AckGroupEventAsync(Workspace, channel, "g", "m1", 2, default)); // not claimed yet
        Assert.False(await Store.AckGroupEventAsync(Workspace, channel, "other", "m1", 1, default));
        Assert.True(await Store.AckGroupEventAsync(Workspace, channel, "g", "m1", 1, default));
        Assert.False(await Store.AckGroupEventAsync(Workspace, channel, "g", "m1", 1, default)); // once

        var next = await ClaimAsync(channel, "g", "m2", t0.AddDays(1));
        Assert.Equal((2L, 1), (next?.Event.Seq, next?.Deliveries));
        Assert.Null(await ClaimAsync(channel, "g", "m2", t0.AddDays(1)));
    }

    [Fact]
    public async Task Claims_of_events_that_retention_removed_are_dropped_and_the_cursor_skips_them()
    {
        var channel = NewName("ch");
        await Store.JoinGroupAsync(Workspace, channel, "g", null, default);
        await AppendAsync(channel, 3);
        var t0 = Now;
        Assert.Equal(1, (await ClaimAsync(channel, "g", "m1", t0, TimeSpan.FromSeconds(1)))?.Event.Seq);

        await Store.SweepAsync(Now, new ChannelRetention(1, TimeSpan.FromDays(1)), default); // keeps seq 3 only

        var claim = await ClaimAsync(channel, "g", "m2", t0.AddHours(1));
        Assert.Equal((3L, 1), (claim?.Event.Seq, claim?.Deliveries));
        Assert.Null(await ClaimAsync(channel, "g", "m2", t0.AddHours(1)));
    }

    [Fact]
    public async Task Groups_are_independent_and_belong_to_their_channel_and_workspace()
    {
        var channel = NewName("ch");
        var otherChannel = NewName("ch");
        var otherWorkspace = NewName("ws");
        await Store.JoinGroupAsync(Workspace, channel, "g1", null, default);
        await Store.JoinGroupAsync(Workspace, channel, "g2", null, default);
        await Store.JoinGroupAsync(Workspace, otherChannel, "g1", null, default);
        await Store.JoinGroupAsync(otherWorkspace, channel, "g1", null, default);
        await AppendAsync(channel, 2);

        foreach (var group in new[] { "g1", "g2" })
        {
            Assert.Equal(1, (await ClaimAsync(channel, group, "m", Now))?.Event.Seq);
            Assert.Equal(2, (await ClaimAsync(channel, group, "m", Now))?.Event.Seq);
            Assert.Null(await ClaimAsync(channel, group, "m", Now));
        }

        Assert.Null(await ClaimAsync(otherChannel, "g1", "m", Now));
        Assert.Null(await Store.ClaimGroupEventAsync(otherWorkspace, channel, "g1", "m", Now, LongTimeout, default));
    }

    [Fact]
    public async Task Listing_shows_each_group_s_cursor_backlog_connected_members_and_pending_claims()
    {
        var channel = NewName("ch");
        await AppendAsync(channel, 3);
        await Store.JoinGroupAsync(Workspace, channel, "a", 0, default);
        await Store.JoinGroupAsync(Workspace, channel, "b", null, default);
        await Store.JoinGroupAsync(Workspace, NewName("ch"), "elsewhere", null, default);
        var t0 = Now;
        await Store.SeeGroupMemberAsync(Workspace, channel, "a", "m1", t0, t0.AddSeconds(30), default);
        await Store.SeeGroupMemberAsync(Workspace, channel, "a", "m2", t0.AddSeconds(1), t0.AddSeconds(30), default);
        Assert.Equal(1, (await ClaimAsync(channel, "a", "m1", t0, TimeSpan.FromMinutes(1)))?.Event.Seq);
        Assert.Equal(2, (await ClaimAsync(channel, "a", "m2", t0, TimeSpan.FromMinutes(2)))?.Event.Seq);

        var groups = await Store.ListGroupsAsync(Workspace, channel, t0, default);
        Assert.Equal(["a", "b"], groups.Select(g => g.Name));
        var a = groups[0];
        Assert.Equal((2L, 1L), (a.Cursor, a.Backlog));
        Assert.Equal([("m1", t0), ("m2", t0.AddSeconds(1))], a.Members.Select(m => (m.Id, m.ConnectedAt)));
        Assert.All(a.Members, m => Assert.Equal(t0.AddSeconds(30), m.Until));
        Assert.Equal([new PendingClaim(1, "m1", 1, t0.AddMinutes(1)), new PendingClaim(2, "m2", 1, t0.AddMinutes(2))], a.Pending);
        Assert.Equal(("b", 3L, 0L), (groups[1].Name, groups[1].Cursor, groups[1].Backlog));
        Assert.Empty(groups[1].Members);
        Assert.Empty(groups[1].Pending);

        // An ack clears its claim; a member that leaves is no longer listed and its claim waits, released (no deadline).
        Assert.True(await Store.AckGroupEventAsync(Workspace, channel, "a", "m1", 1, default));
        await Store.ReleaseGroupMemberAsync(Workspace, channel, "a", "m2", default);
        await AppendAsync(channel, 1);
        a = (await Store.ListGroupsAsync(Workspace, channel, t0, default))[0];
        Assert.Equal((2L, 2L), (a.Cursor, a.Backlog));
        Assert.Equal(["m1"], a.Members.Select(m => m.Id));
        Assert.Equal([new PendingClaim(2, "m2", 1, null)], a.Pending);

        // Groups belong to their channel and workspace.
        Assert.Empty(await Store.ListGroupsAsync(NewName("ws"), channel, t0, default));
        Assert.Empty(await Store.ListGroupsAsync(Workspace, NewName("ch"), t0, default));
    }

    [Fact]
    public async Task A_member_not_seen_again_in_time_drops_out_and_a_refresh_keeps_its_first_connection_time()
    {
        var channel = NewName("ch");
        await AppendAsync(channel, 2);
        var t0 = Now;

        // Seeing a member of a group nobody joined creates the group at the channel's end.
        await Store.SeeGroupMemberAsync(Workspace, channel, "g", "m1", t0, t0.AddSeconds(10), default);
        var group = Assert.Single(await Store.ListGroupsAsync(Workspace, channel, t0.AddSeconds(9), default));
        Assert.Equal(("g", 2L, 0L, "m1"), (group.Name, group.Cursor, group.Backlog, Assert.Single(group.Members).Id));

        // Its relay crashed: nobody refreshed it.
        Assert.Empty(Assert.Single(await Store.ListGroupsAsync(Workspace, channel, t0.AddSeconds(10), default)).Members);

        await Store.SeeGroupMemberAsync(Workspace, channel, "g", "m2", t0, t0.AddSeconds(10), default);
        await Store.SeeGroupMemberAsync(Workspace, channel, "g", "m2", t0.AddSeconds(8), t0.AddSeconds(40), default);
        var member = Assert.Single(Assert.Single(await Store.ListGroupsAsync(Workspace, channel, t0.AddSeconds(20), default)).Members);
        Assert.Equal(new GroupMemberStatus("m2", t0, t0.AddSeconds(40)), member);
    }

    // ---- helpers ----------------------------------------------------------------------------------

    protected static DateTimeOffset Now => DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    protected static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private protected async Task<IRelayStore> PeerAsync()
    {
        var peer = await CreatePeerAsync();
        if (peer is null)
        {
            return Store;
        }

        _stores.Add(peer);
        await peer.InitializeAsync(CancellationToken.None);
        return peer;
    }

    private protected Task<GroupClaim?> ClaimAsync(string channel, string group, string member, DateTimeOffset now, TimeSpan? ackTimeout = null)
        => Store.ClaimGroupEventAsync(Workspace, channel, group, member, now, ackTimeout ?? LongTimeout, default);

    /// <summary>Claims and acks until the group has nothing left; returns the seqs in claim order.</summary>
    private protected async Task<List<long>> DrainAsync(string channel, string group)
    {
        var seqs = new List<long>();
        while (await ClaimAsync(channel, group, "drain", Now) is { } claim)
        {
            seqs.Add(claim.Event.Seq);
            Assert.True(await Store.AckGroupEventAsync(Workspace, channel, group, "drain", claim.Event.Seq, default));
            Assert.InRange(seqs.Count, 1, 100);
        }

        return seqs;
    }

    private protected async Task AppendAsync(string channel, int count)
    {
        var existing = await Store.ReadEventsAsync(Workspace, channel, 0, 10_000, default);
        var last = existing.Count > 0 ? existing[^1].Seq : 0;
        for (var i = 1; i <= count; i++)
        {
            await Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: $"m{last + i}"), default);
        }
    }
}

/// <summary>Queue groups on the embedded engine (one relay per database).</summary>
public sealed class SqliteGroupContractTests : GroupContractTests
{
    private readonly TemporaryDirectory _directory = new("groups");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private protected override Task<IRelayStore> CreateStoreAsync() => Task.FromResult<IRelayStore>(new SqliteRelayStore(_directory.Path));
}

/// <summary>Queue groups on Redis: claims from two store instances ("relays"), key expiry, outages.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisGroupContractTests(RedisServerFixture redis) : GroupContractTests
{
    private readonly string _prefix = $"test:{Guid.NewGuid():N}:";

    private protected override Task<IRelayStore> CreateStoreAsync() => Task.FromResult<IRelayStore>(CreateRedisStore(redis.ConnectionString));

    private protected override Task<IRelayStore?> CreatePeerAsync() => Task.FromResult<IRelayStore?>(CreateRedisStore(redis.ConnectionString));

    [Fact]
    public async Task A_group_s_keys_expire_when_nobody_serves_it_and_stay_in_the_workspace_slot()
    {
        var channel = NewName("ch");
        await Store.JoinGroupAsync(Workspace, channel, "g", null, default);
        await AppendAsync(channel, 1);
        Assert.NotNull(await ClaimAsync(channel, "g", "m", Now));
        await Store.SeeGroupMemberAsync(Workspace, channel, "g", "m", Now, Now.AddSeconds(30), default);

        await using var raw = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = raw.GetServer(raw.GetEndPoints()[0]);
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: $"{_prefix}ws:*:g*"))
        {
            keys.Add(key);
        }

        Assert.Equal(4, keys.Count); // the group hash, its claims, its members and the channel's group index
        foreach (var key in keys)
        {
            Assert.StartsWith($"{_prefix}ws:{{{Workspace}}}:", key.ToString(), StringComparison.Ordinal);
            var ttl = await raw.GetDatabase().KeyTimeToLiveAsync(key);
            Assert.NotNull(ttl);
            Assert.InRange(ttl.Value, TimeSpan.FromDays(6), TimeSpan.FromDays(8));
        }
    }

    [Fact]
    public async Task A_forgotten_group_leaves_the_channel_s_index_when_the_groups_are_listed()
    {
        var channel = NewName("ch");
        await Store.JoinGroupAsync(Workspace, channel, "kept", null, default);
        await Store.JoinGroupAsync(Workspace, channel, "gone", null, default);
        await using var raw = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var database = raw.GetDatabase();
        var workspace = $"{_prefix}ws:{{{Workspace}}}:";

        // What the idle expiry does to a group nobody served: its keys go, the index entry stays behind.
        await database.KeyDeleteAsync([$"{workspace}g:{channel}/gone", $"{workspace}gd:{channel}/gone", $"{workspace}gm:{channel}/gone"]);
        Assert.Equal(2, await database.SetLengthAsync($"{workspace}gi:{channel}"));

        Assert.Equal(["kept"], (await Store.ListGroupsAsync(Workspace, channel, Now, default)).Select(g => g.Name));
        Assert.Equal(["kept"], (await database.SetMembersAsync($"{workspace}gi:{channel}")).Select(v => v.ToString()));

        // A claim on the forgotten group creates it again, back in the index.
        Assert.Null(await ClaimAsync(channel, "gone", "m", Now));
        Assert.Equal(["gone", "kept"], (await Store.ListGroupsAsync(Workspace, channel, Now, default)).Select(g => g.Name));
    }

    [Fact]
    public async Task Group_calls_fail_fast_while_redis_is_down_and_work_again_when_it_is_back()
    {
        await using var server = await RedisServerProcess.StartAsync();
        await using var store = CreateRedisStore(server.ConnectionString);
        await store.InitializeAsync(default);
        var channel = NewName("ch");
        await store.JoinGroupAsync(Workspace, channel, "g", null, default);

        await server.StopAsync();

        await AssertFailsFastAsync(() => store.JoinGroupAsync(Workspace, channel, "g", null, default));
        await AssertFailsFastAsync(() => store.ClaimGroupEventAsync(Workspace, channel, "g", "m", Now, LongTimeout, default));
        await AssertFailsFastAsync(() => store.AckGroupEventAsync(Workspace, channel, "g", "m", 1, default));
        await AssertFailsFastAsync(() => store.ReleaseGroupMemberAsync(Workspace, channel, "g", "m", default));

        await server.StartAsync();

        // No persistence here: the group and the channel are gone, and the group starts again at the end.
        await Wait.Until(
            async () =>
            {
                try
                {
                    await store.JoinGroupAsync(Workspace, channel, "g", null, default);
                    return true;
                }
                catch (StorageUnavailableException)
                {
                    return false;
                }
            },
            "the store to reconnect");
        await store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "after"), default);
        var claim = await store.ClaimGroupEventAsync(Workspace, channel, "g", "m", Now, LongTimeout, default);
        Assert.Equal("after", claim?.Event.Data);
    }

    private RedisRelayStore CreateRedisStore(string connectionString)
        => new(new StorageOptions { Engine = "redis", Redis = connectionString, RedisPrefix = _prefix });

    private static async Task AssertFailsFastAsync(Func<Task> call)
    {
        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<StorageUnavailableException>(call);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Contains("Redis", failure.Message, StringComparison.Ordinal);
    }
}
