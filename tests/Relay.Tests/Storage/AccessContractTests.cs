using System.Security.Cryptography;
using CtxRelay.Relay.Storage;
using CtxRelay.Relay.Storage.Redis;
using CtxRelay.Relay.Storage.Sqlite;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// The storage contract of plans and quotas: scoped keys, workspace plans, the access revision every relay
/// watches, and usage counters that are exact under concurrency, across relays and across restarts. Each
/// engine passes the same tests; a "peer" is another store on the same storage (another relay, or the same
/// relay after a restart).
/// </summary>
public abstract class AccessContractTests : IAsyncLifetime
{
    private readonly List<IRelayStore> _stores = [];

    private string Workspace { get; } = $"ws-{Guid.NewGuid():N}"[..15];

    private protected IRelayStore Store => _stores[0];

    private protected abstract IRelayStore CreateStore();

    /// <summary>Another store on the same storage, initialized (another relay, or this one restarted).</summary>
    private async Task<IRelayStore> PeerAsync()
    {
        var peer = CreateStore();
        _stores.Add(peer);
        await peer.InitializeAsync(default);
        return peer;
    }

    public async Task InitializeAsync()
    {
        _stores.Add(CreateStore());
        await Store.InitializeAsync(default);
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_key_keeps_its_scope_channel_patterns_and_expiry()
    {
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeMilliseconds());
        var limited = NewKey(KeyScope.PushOnly) with { Channels = "research-*,alerts", ExpiresAt = expires };
        var plain = NewKey(KeyScope.ReadWrite);
        await Store.CreateKeyAsync(limited, default);
        await Store.CreateKeyAsync(plain, default);

        var peer = await PeerAsync();
        var found = await peer.FindKeyAsync(limited.Hash, default);
        Assert.NotNull(found);
        Assert.Equal(KeyScope.PushOnly, found.Scope);
        Assert.Equal("research-*,alerts", found.Channels);
        Assert.Equal(expires, found.ExpiresAt);
        var other = (await peer.ListKeysAsync(default)).Single(k => k.Id == plain.Id);
        Assert.Null(other.Channels);
        Assert.Null(other.ExpiresAt);
    }

    [Fact]
    public async Task The_access_revision_moves_when_a_key_is_revoked_or_a_plan_set_anywhere_and_only_then()
    {
        var peer = await PeerAsync();
        var key = NewKey(KeyScope.ReadWrite);
        var start = await Store.GetAccessRevisionAsync(default);
        await peer.CreateKeyAsync(key, default);
        Assert.Equal(start, await Store.GetAccessRevisionAsync(default));

        await peer.RevokeKeyAsync(key.Id, DateTimeOffset.UtcNow, default);
        var afterRevoke = await Store.GetAccessRevisionAsync(default);
        Assert.NotEqual(start, afterRevoke);
        await peer.RevokeKeyAsync(key.Id, DateTimeOffset.UtcNow, default); // already revoked: nothing changes
        Assert.Equal(afterRevoke, await Store.GetAccessRevisionAsync(default));

        await peer.SetWorkspacePlanAsync(Workspace, "pro", default);
        var afterPlan = await Store.GetAccessRevisionAsync(default);
        Assert.NotEqual(afterRevoke, afterPlan);
        await peer.SetWorkspacePlanAsync(Workspace, "pro", default);
        Assert.NotEqual(afterPlan, await Store.GetAccessRevisionAsync(default));
    }

    [Fact]
    public async Task Workspace_plans_are_set_replaced_and_listed()
    {
        Assert.Null(await Store.GetWorkspacePlanAsync(Workspace, default));
        await Store.SetWorkspacePlanAsync(Workspace, "free", default);
        await Store.SetWorkspacePlanAsync(Workspace + "-b", "team", default);
        await Store.SetWorkspacePlanAsync(Workspace, "pro", default);

        var peer = await PeerAsync();
        Assert.Equal("pro", await peer.GetWorkspacePlanAsync(Workspace, default));
        var plans = await peer.ListWorkspacePlansAsync(default);
        Assert.Equal("pro", plans[Workspace]);
        Assert.Equal("team", plans[Workspace + "-b"]);
    }

    [Fact]
    public async Task Counting_against_a_limit_is_exact_under_concurrency_across_relays_and_after_a_restart()
    {
        var peer = await PeerAsync();
        var key = new UsageKey(Workspace, "pushes", "2026-11");
        const int limit = 300;

        // 2 relays × 16 callers × 25 attempts = 800 attempts at a limit of 300.
        var attempts = new[] { Store, peer }
            .SelectMany(store => Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                var granted = new List<long>();
                for (var i = 0; i < 25; i++)
                {
                    var grant = await store.ConsumeUsageAsync(key, limit, TimeSpan.FromDays(1), default);
                    if (grant.Allowed)
                    {
                        granted.Add(grant.Used);
                    }
                    else
                    {
                        Assert.Equal(limit, grant.Used);
                    }
                }

                return granted;
            })));
        var counts = (await Task.WhenAll(attempts)).SelectMany(g => g).Order().ToList();

        Assert.Equal(Enumerable.Range(1, limit).Select(i => (long)i), counts); // every count from 1 to 300 handed out once
        var restarted = await PeerAsync();
        Assert.Equal(new UsageGrant(false, limit), await restarted.ConsumeUsageAsync(key, limit, TimeSpan.FromDays(1), default));
        Assert.Equal(new UsageGrant(true, limit + 1), await restarted.ConsumeUsageAsync(key, limit + 1, TimeSpan.FromDays(1), default));
    }

    [Fact]
    public async Task Added_amounts_never_go_below_zero_and_are_read_by_period_and_workspace()
    {
        var other = Workspace + "-b";
        await Store.AddUsageAsync(
            [
                new(new UsageKey(Workspace, "pushes", "2026-11"), 5),
                new(new UsageKey(Workspace, "pulls", "2026-11"), 7),
                new(new UsageKey(Workspace, "pulls", "2026-10"), 3),
                new(new UsageKey(other, "pushes", "2026-11"), 2),
            ],
            TimeSpan.FromDays(1),
            default);
        await Store.AddUsageAsync([new(new UsageKey(Workspace, "pushes", "2026-11"), -9)], TimeSpan.FromDays(1), default);

        var mine = await Store.ReadUsageAsync("2026-11", Workspace, default);
        Assert.Equal([("pulls", 7L), ("pushes", 0L)], mine.Select(r => (r.Key.Meter, r.Value)).Order());
        var all = (await Store.ReadUsageAsync("2026-11", null, default)).Where(r => r.Key.Workspace.StartsWith(Workspace, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, all.Count);
        Assert.Contains(all, r => r.Key == new UsageKey(other, "pushes", "2026-11") && r.Value == 2);
        Assert.Equal(3, Assert.Single(await Store.ReadUsageAsync("2026-10", Workspace, default)).Value);
        Assert.False((await Store.ConsumeUsageAsync(new UsageKey(Workspace, "pulls", "2026-11"), 7, TimeSpan.FromDays(1), default)).Allowed);
        Assert.Equal(new UsageGrant(false, 0), await Store.ConsumeUsageAsync(new UsageKey(Workspace, "pushes", "2026-12"), 0, TimeSpan.FromDays(1), default));
    }

    private ApiKeyRecord NewKey(KeyScope scope)
    {
        var secret = "cr_live_" + Guid.NewGuid().ToString("N");
        return new ApiKeyRecord
        {
            Id = $"key-{Guid.NewGuid():N}"[..16],
            Workspace = Workspace,
            Hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)),
            Prefix = secret[..12],
            Plan = "default",
            Scope = scope,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
        };
    }
}

public sealed class SqliteAccessContractTests : AccessContractTests
{
    private readonly TemporaryDirectory _directory = new("access");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private protected override IRelayStore CreateStore() => new SqliteRelayStore(_directory.Path);
}

[Collection(RedisCollection.Name)]
public sealed class RedisAccessContractTests(RedisServerFixture redis) : AccessContractTests
{
    private readonly string _prefix = $"test:{Guid.NewGuid():N}:";

    private protected override IRelayStore CreateStore() => new RedisRelayStore(new StorageOptions { Engine = "redis", Redis = redis.ConnectionString, RedisPrefix = _prefix });
}
