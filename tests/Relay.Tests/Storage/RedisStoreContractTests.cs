using System.Diagnostics;
using System.Security.Cryptography;
using CtxRelay.Relay.Storage;
using CtxRelay.Relay.Storage.Redis;
using CtxRelay.Testing;

namespace CtxRelay.Relay.Tests;

/// <summary>
/// The storage contract on the Redis engine against a real redis-server (one key prefix per test), plus
/// what only a shared engine has to do: native expiry, fan-out across relays, and riding out an outage.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreContractTests(RedisServerFixture redis) : StoreContractTests
{
    private readonly string _prefix = $"test:{Guid.NewGuid():N}:";

    private protected override Task<IRelayStore> CreateStoreAsync() => Task.FromResult<IRelayStore>(CreateRedisStore(redis.ConnectionString));

    [Fact]
    public async Task The_record_script_refuses_a_payload_whose_chunk_is_missing_and_stores_nothing()
    {
        // A push sends its record right behind its chunk writes without waiting for their answers: if a chunk
        // write failed, the record must not appear (a pull would find a record without its bytes).
        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var database = connection.GetDatabase();
        var keys = new RedisKeys(_prefix);
        var id = Guid.NewGuid().ToString();
        await database.StringSetAsync(keys.Chunk(Workspace, id, 0), "first of two chunks");
        StackExchange.Redis.RedisKey[] recordKeys = [keys.Record(Workspace, id), keys.Expiries(Workspace), keys.Sizes(Workspace), keys.Bytes(Workspace)];
        StackExchange.Redis.RedisValue[] values = [id, DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds(), 40, 2, keys.WorkspacePrefix(Workspace), "meta", "{}"];

        var refused = await Assert.ThrowsAsync<StackExchange.Redis.RedisServerException>(() => database.ScriptEvaluateAsync(RedisScripts.SavePayload, recordKeys, values));
        Assert.Contains("chunk 1", refused.Message, StringComparison.Ordinal);
        Assert.False(await database.KeyExistsAsync(keys.Record(Workspace, id)));
        Assert.Equal(0, await Store.GetStoredBytesAsync(Workspace, default));
        Assert.Null(await Store.GetPayloadAsync(Workspace, id, Now, default));

        // With both chunks there, the same call publishes the record.
        await database.StringSetAsync(keys.Chunk(Workspace, id, 1), "second");
        Assert.Equal(1, (long)await database.ScriptEvaluateAsync(RedisScripts.SavePayload, recordKeys, values));
        Assert.True(await database.KeyExistsAsync(keys.Record(Workspace, id)));
    }

    [Fact]
    public async Task Redis_expires_a_payload_by_itself()
    {
        var record = await SaveAsync(RandomNumberGenerator.GetBytes(600_000), ttl: TimeSpan.FromSeconds(3));
        Assert.Equal(600_000, await Store.GetStoredBytesAsync(Workspace, default));

        // Asked "as of creation", so only Redis's own expiry can hide it.
        await Wait.Until(
            async () => await Store.GetPayloadAsync(Workspace, record.Id, record.CreatedAt, default) is null,
            "Redis to expire the payload record",
            TimeSpan.FromSeconds(15));
        Assert.Null(await Store.OpenPayloadAsync(Workspace, record.Id, record.CreatedAt, default));
        Assert.Equal(0, await Store.GetStoredBytesAsync(Workspace, default));
    }

    [Fact]
    public async Task A_small_payload_deleted_through_another_relay_is_gone_for_this_one_at_once_and_an_empty_one_reads_empty()
    {
        // Pulls read the record and the first chunk in one round trip: nothing may be kept between pulls.
        await using var otherRelay = CreateRedisStore(redis.ConnectionString);
        await otherRelay.InitializeAsync(default);
        var data = RandomNumberGenerator.GetBytes(1024);
        var record = await SaveAsync(data);
        for (var i = 0; i < 3; i++)
        {
            await using var content = await Store.OpenPayloadAsync(Workspace, record.Id, Now, default);
            Assert.Equal(data, await ReadAllAsync(content!.Content));
        }

        Assert.True(await otherRelay.DeletePayloadAsync(Workspace, record.Id, default));
        Assert.Null(await Store.OpenPayloadAsync(Workspace, record.Id, Now, default));
        Assert.Null(await Store.GetPayloadAsync(Workspace, record.Id, Now, default));

        var empty = await SaveAsync([]);
        await using var none = await Store.OpenPayloadAsync(Workspace, empty.Id, Now, default);
        Assert.Empty(await ReadAllAsync(none!.Content));
    }

    [Fact]
    public async Task Events_appended_through_one_relay_reach_subscribers_of_another_in_order()
    {
        await using var otherRelay = CreateRedisStore(redis.ConnectionString);
        await otherRelay.InitializeAsync(default);
        var channel = NewName("ch");
        var received = new Collector(20);
        await using var subscription = await otherRelay.SubscribeAsync(Workspace, channel, received.Add, default);

        await Task.WhenAll(Enumerable.Range(1, 20).Select(i =>
            Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: $"m{i}"), default)));

        var events = await Wait.For(received.Completed, "20 events at the other relay");
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), events.Select(e => e.Seq));
    }

    [Fact]
    public async Task While_redis_is_down_calls_fail_fast_and_everything_recovers_when_it_is_back()
    {
        var directory = Path.Combine(Path.GetTempPath(), "contextrelay-tests", "redis-" + Guid.NewGuid().ToString("N"));
        await using var server = await RedisServerProcess.StartAsync(directory);
        await using var store = CreateRedisStore(server.ConnectionString);
        await store.InitializeAsync(default);
        var channel = NewName("ch");
        var data = RandomNumberGenerator.GetBytes(300_000);
        var record = NewRecord(data);
        await store.SavePayloadAsync(record, new MemoryStream(data), null, default);
        var received = new Collector(2);
        await using var subscription = await store.SubscribeAsync(Workspace, channel, received.Add, default);
        await store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "before"), default);

        await server.StopAsync();

        await AssertFailsFastAsync(() => store.GetPayloadAsync(Workspace, record.Id, Now, default));
        await AssertFailsFastAsync(() => store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "lost"), default));
        await AssertFailsFastAsync(() => store.SubscribeAsync(Workspace, NewName("ch"), _ => ValueTask.CompletedTask, default));
        await AssertFailsFastAsync(() => store.SavePayloadAsync(NewRecord(data), new MemoryStream(data), null, default));

        await server.StartAsync();

        await Wait.Until(async () => await SucceedsAsync(() => store.GetPayloadAsync(Workspace, record.Id, Now, default)), "the store to reconnect");
        await using (var content = await store.OpenPayloadAsync(Workspace, record.Id, Now, default))
        {
            Assert.Equal(data, await ReadAllAsync(content!.Content));
        }

        // The live subscription is back too (the first appends may race the resubscription).
        await Wait.Until(
            async () =>
            {
                await SucceedsAsync(() => store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "after"), default));
                return received.Completed.IsCompleted;
            },
            "an event after the outage to reach the subscriber");
        var events = await received.Completed;
        Assert.Equal(["before", "after"], events.Select(e => e.Data));
        Assert.Equal(2, events[1].Seq);
    }

    private RedisRelayStore CreateRedisStore(string connectionString)
        => new(new StorageOptions { Engine = "redis", Redis = connectionString, RedisPrefix = _prefix });

    private PayloadRecord NewRecord(byte[] data) => new()
    {
        Workspace = Workspace,
        Id = Guid.NewGuid().ToString(),
        MetadataJson = "{}",
        ContentType = "application/octet-stream",
        Size = data.Length,
        ETag = Convert.ToBase64String(SHA256.HashData(data)),
        CreatedAt = Now,
        ExpiresAt = Now.AddHours(1),
    };

    private static async Task AssertFailsFastAsync(Func<Task> call)
    {
        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<StorageUnavailableException>(call);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Contains("Redis", failure.Message, StringComparison.Ordinal);
    }

    private static async Task<bool> SucceedsAsync(Func<Task> call)
    {
        try
        {
            await call();
            return true;
        }
        catch (StorageUnavailableException)
        {
            return false;
        }
    }
}
