using CtxRelay.Relay.Storage;
using CtxRelay.Relay.Storage.Sqlite;
using CtxRelay.Testing;
using Microsoft.Data.Sqlite;

namespace CtxRelay.Relay.Tests;

/// <summary>The storage contract on the embedded engine, one temporary database per test.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly TemporaryDirectory _directory = new("store");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    private protected override Task<IRelayStore> CreateStoreAsync() => Task.FromResult<IRelayStore>(new SqliteRelayStore(_directory.Path));

    private SqliteRelayStore Sqlite => (SqliteRelayStore)Store;

    [Fact]
    public async Task Small_payloads_served_from_memory_match_the_database_after_a_restart_and_deletes_reach_both()
    {
        var small = await SaveAsync("small and hot"u8.ToArray(), metadataJson: """{"k":1}""");
        var large = await SaveAsync(new byte[(64 * 1024) + 1]);

        // A second store on the same folder has nothing in memory: it reads the database, then keeps the small one.
        await using var restarted = new SqliteRelayStore(Sqlite.DatabasePath[..^"/relay.db".Length]);
        foreach (var store in new IRelayStore[] { Store, restarted, restarted })
        {
            Assert.Equal(small, await store.GetPayloadAsync(Workspace, small.Id, Now, default));
            await using var content = await store.OpenPayloadAsync(Workspace, small.Id, Now, default);
            Assert.Equal(small, content!.Record);
            Assert.Equal("small and hot"u8.ToArray(), await ReadAllAsync(content.Content));
            await using var big = await store.OpenPayloadAsync(Workspace, large.Id, Now, default);
            Assert.Equal(large.Size, (await ReadAllAsync(big!.Content)).Length);
            Assert.Null(await store.GetPayloadAsync("another-workspace", small.Id, Now, default));
        }

        Assert.True(await restarted.DeletePayloadAsync(Workspace, small.Id, default));
        Assert.Null(await restarted.GetPayloadAsync(Workspace, small.Id, Now, default));
        Assert.Null(await restarted.OpenPayloadAsync(Workspace, small.Id, Now, default));
        Assert.Null(await restarted.GetPayloadAsync(Workspace, small.Id, small.ExpiresAt.AddSeconds(1), default));
    }

    [Fact]
    public async Task Payloads_up_to_4_KiB_are_kept_in_their_row_larger_ones_in_chunks_and_all_read_back_whole()
    {
        const int inline = SqliteRelayStore.InlineBytes;
        var saved = new List<(PayloadRecord Record, byte[] Data)>();
        foreach (var size in new[] { 0, 1, inline - 1, inline, inline + 1, (64 * 1024) + 1, SqliteRelayStore.ChunkSize + 1 })
        {
            var data = System.Security.Cryptography.RandomNumberGenerator.GetBytes(size);
            saved.Add((await SaveAsync(data), data));
        }

        await using (var connection = new SqliteConnection($"Data Source={Sqlite.DatabasePath}"))
        {
            await connection.OpenAsync();
            foreach (var (record, _) in saved)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT p.data IS NOT NULL, (SELECT COUNT(*) FROM chunks c WHERE c.payload_id = p.id) FROM payloads p WHERE p.id = $id";
                command.Parameters.AddWithValue("$id", record.Id);
                await using var reader = await command.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                var chunks = record.Size <= inline ? 0 : (record.Size + SqliteRelayStore.ChunkSize - 1) / SqliteRelayStore.ChunkSize;
                Assert.Equal((record.Size, record.Size <= inline, chunks), (record.Size, reader.GetBoolean(0), reader.GetInt64(1)));
            }
        }

        // A second store on the folder has nothing in memory: every read comes from the database.
        await using var restarted = new SqliteRelayStore(Path.GetDirectoryName(Sqlite.DatabasePath)!);
        foreach (var (record, data) in saved)
        {
            await using var content = await restarted.OpenPayloadAsync(Workspace, record.Id, Now, default);
            Assert.Equal(record, content!.Record);
            Assert.Equal(data, await ReadInSmallPiecesAsync(content.Content, 1_000));
        }

        Assert.True(await restarted.DeletePayloadAsync(Workspace, saved[2].Record.Id, default));
        Assert.Null(await restarted.OpenPayloadAsync(Workspace, saved[2].Record.Id, Now, default));
    }

    [Fact]
    public async Task A_data_folder_from_before_small_payloads_lived_in_their_row_is_upgraded_in_place_and_reads_back()
    {
        using var folder = new TemporaryDirectory("old-store");
        var old = Guid.NewGuid().ToString();
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(folder.Path, "relay.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();

            // The schema of those data folders: no data column, every payload's bytes in chunks.
            command.CommandText = """
                PRAGMA journal_mode = WAL;
                CREATE TABLE payloads (
                    id TEXT PRIMARY KEY, workspace TEXT NOT NULL, channel TEXT NULL, metadata TEXT NOT NULL,
                    content_type TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, encrypted INTEGER NOT NULL,
                    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, shape INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE chunks (payload_id TEXT NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (payload_id, idx));
                INSERT INTO payloads VALUES ($id, $ws, NULL, '{"k":1}', 'text/plain', 5, 'etag', 0, $now, $expires, 0);
                INSERT INTO chunks VALUES ($id, 0, X'68656C6C6F');
                """;
            command.Parameters.AddWithValue("$id", old);
            command.Parameters.AddWithValue("$ws", Workspace);
            command.Parameters.AddWithValue("$now", Now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$expires", Now.AddHours(1).ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync();
        }

        await using var store = new SqliteRelayStore(folder.Path);
        await store.InitializeAsync(default);
        var data = "new and small"u8.ToArray();
        var record = new PayloadRecord
        {
            Workspace = Workspace,
            Id = Guid.NewGuid().ToString(),
            MetadataJson = "{}",
            ContentType = "text/plain",
            Size = data.Length,
            ETag = "e",
            CreatedAt = Now,
            ExpiresAt = Now.AddHours(1),
        };
        await store.SavePayloadAsync(record, new MemoryStream(data), channelEvent: null, default);

        await using var restarted = new SqliteRelayStore(folder.Path);
        await using (var content = await restarted.OpenPayloadAsync(Workspace, old, Now, default))
        {
            Assert.Equal("""{"k":1}""", content!.Record.MetadataJson);
            Assert.Equal("hello"u8.ToArray(), await ReadAllAsync(content.Content));
        }

        await using (var content = await restarted.OpenPayloadAsync(Workspace, record.Id, Now, default))
        {
            Assert.Equal(data, await ReadAllAsync(content!.Content));
        }
    }

    [Fact]
    public async Task A_data_folder_from_before_stored_bytes_were_counted_gets_its_counts_once_and_keeps_them()
    {
        using var folder = new TemporaryDirectory("uncounted");
        var other = NewName("other");
        var path = Path.Combine(folder.Path, "relay.db");
        await using (var made = new SqliteRelayStore(folder.Path))
        {
            await made.InitializeAsync(default);
        }

        // Back to the schema of those folders: no counters, no triggers, the old workspace index; three payloads.
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                DROP TRIGGER payloads_bytes_in; DROP TRIGGER payloads_bytes_out; DROP TABLE workspace_bytes;
                DROP INDEX payloads_workspace_expiry; CREATE INDEX payloads_workspace ON payloads (workspace);
                INSERT INTO payloads (id, workspace, metadata, content_type, size, etag, encrypted, created_at, expires_at, data)
                VALUES ('a', $ws, '{}', 'text/plain', 1000, 'e', 0, $now, $live, X'00'),
                       ('b', $ws, '{}', 'text/plain', 300, 'e', 0, $now, $expired, X'00'),
                       ('c', $other, '{}', 'text/plain', 70, 'e', 0, $now, $live, X'00');
                """;
            command.Parameters.AddWithValue("$ws", Workspace);
            command.Parameters.AddWithValue("$other", other);
            command.Parameters.AddWithValue("$now", Now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$live", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$expired", DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync();
        }

        await using (var upgraded = new SqliteRelayStore(folder.Path))
        {
            await upgraded.InitializeAsync(default);
            Assert.Equal(1000, await upgraded.GetStoredBytesAsync(Workspace, default)); // the expired one does not count
            Assert.Equal(70, await upgraded.GetStoredBytesAsync(other, default));
            var record = new PayloadRecord
            {
                Workspace = Workspace,
                Id = Guid.NewGuid().ToString(),
                MetadataJson = "{}",
                ContentType = "text/plain",
                Size = 5,
                ETag = "e",
                CreatedAt = Now,
                ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
            };
            await upgraded.SavePayloadAsync(record, new MemoryStream("hello"u8.ToArray()), channelEvent: null, default);
            Assert.True(await upgraded.DeletePayloadAsync(Workspace, "a", default));
            Assert.Equal(5, await upgraded.GetStoredBytesAsync(Workspace, default));
        }

        // Counted once: starting again neither counts the payloads a second time nor loses them.
        await using var again = new SqliteRelayStore(folder.Path);
        await again.InitializeAsync(default);
        Assert.Equal(5, await again.GetStoredBytesAsync(Workspace, default));
        Assert.Equal(70, await again.GetStoredBytesAsync(other, default));
        await again.SweepAsync(DateTimeOffset.UtcNow, KeepEverything, default); // the expired one goes, and its count with it
        Assert.Equal(5, await again.GetStoredBytesAsync(Workspace, default));

        await using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        await check.OpenAsync();
        await using var indexes = check.CreateCommand();
        indexes.CommandText = "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payloads' AND name NOT LIKE 'sqlite_%' ORDER BY name)";
        Assert.Equal("payloads_expiry,payloads_workspace_expiry", await indexes.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_quota_check_reads_the_workspace_counter_and_the_expired_range_never_every_payload()
    {
        for (var i = 0; i < 50; i++)
        {
            await SaveAsync(new byte[100]);
        }

        await using var connection = new SqliteConnection($"Data Source={Sqlite.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var plan = connection.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN " + SqliteRelayStore.StoredBytesSql;
        plan.Parameters.AddWithValue("$ws", Workspace);
        plan.Parameters.AddWithValue("$now", Now.ToUnixTimeMilliseconds());
        var steps = new List<string>();
        await using (var reader = await plan.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                steps.Add(reader.GetString(3));
            }
        }

        Assert.Contains(steps, s => s.StartsWith("SEARCH workspace_bytes", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Contains("SEARCH payloads USING COVERING INDEX payloads_workspace_expiry (workspace=? AND expires_at<?)", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.StartsWith("SCAN payloads", StringComparison.Ordinal) || s.StartsWith("SCAN workspace_bytes", StringComparison.Ordinal));
        Assert.Equal(5000, await Store.GetStoredBytesAsync(Workspace, default));
    }

    [Fact]
    public async Task A_sweep_deletes_in_batches_and_a_write_queued_behind_it_commits_between_them()
    {
        const int Expired = 6 * SqliteRelayStore.SweepBatch;
        await Task.WhenAll(Enumerable.Range(0, Expired).Select(i => SaveAsync([(byte)i], ttl: TimeSpan.FromMinutes(1))));
        var sweepAt = Now.AddMinutes(2);

        // A subscriber's callback runs on the writer right after the commit of the event, before the next
        // transaction: what it counts is what that commit left.
        var leftAtCommit = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = NewName("ch");
        await using var subscription = await Store.SubscribeAsync(Workspace, channel, async _ => leftAtCommit.TrySetResult(await CountExpiredAsync()), default);

        var sweep = Store.SweepAsync(sweepAt, KeepEverything, default);
        var message = Store.AppendEventAsync(Workspace, channel, new NewChannelEvent(ChannelEventType.Message, "{}", Data: "m"), default);
        await Task.WhenAll(sweep, message);

        Assert.True(await leftAtCommit.Task > 0, "the message committed only after the whole sweep: one transaction held the writer");
        Assert.Equal(Expired, await sweep);
        Assert.Equal(0, await CountExpiredAsync());

        async Task<long> CountExpiredAsync()
        {
            await using var connection = new SqliteConnection($"Data Source={Sqlite.DatabasePath};Pooling=False");
            await connection.OpenAsync();
            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT COUNT(*) FROM payloads WHERE expires_at <= $at";
            count.Parameters.AddWithValue("$at", sweepAt.ToUnixTimeMilliseconds());
            return (long)(await count.ExecuteScalarAsync())!;
        }
    }

    [Fact]
    public async Task Retention_by_count_seeks_each_channel_by_key_instead_of_reading_every_event()
    {
        await AppendMessagesAsync(NewName("ch"), 3);

        await using var connection = new SqliteConnection($"Data Source={Sqlite.DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var plan = connection.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN " + SqliteRelayStore.EventsOverCountSql;
        plan.Parameters.AddWithValue("$bound", 1000);
        plan.Parameters.AddWithValue("$batch", SqliteRelayStore.SweepBatch);
        var steps = new List<string>();
        await using (var reader = await plan.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                steps.Add(reader.GetString(3));
            }
        }

        Assert.Contains(steps, s => s.StartsWith("SCAN c", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Contains("SEARCH e USING ", StringComparison.Ordinal) && s.Contains("(workspace=? AND channel=? AND seq<?)", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.StartsWith("SCAN e", StringComparison.Ordinal) || s.StartsWith("SCAN events", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_large_payload_is_checkpointed_into_the_database_file_after_its_commit_and_reads_back_mapped()
    {
        var before = Sqlite.Checkpoints;
        var small = await SaveAsync("small"u8.ToArray());
        await Task.Delay(300);
        Assert.Equal(before, Sqlite.Checkpoints); // a small write is left to SQLite's own auto-checkpoint

        var data = System.Security.Cryptography.RandomNumberGenerator.GetBytes((2 * SqliteRelayStore.ChunkSize) + 77);
        var large = await SaveAsync(data);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Sqlite.Checkpoints == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(Sqlite.Checkpoints > before, "a payload over 64 KB is checkpointed right after its commit");

        // Read from the database file (memory-mapped) now, by several readers at once and while more writes commit.
        var writes = Enumerable.Range(0, 20).Select(i => SaveAsync(new byte[100_000 + i])).ToList();
        var reads = Enumerable.Range(0, 4).Select(async _ =>
        {
            await using var content = await Store.OpenPayloadAsync(Workspace, large.Id, Now, default);
            return await ReadInSmallPiecesAsync(content!.Content, 65_536);
        }).ToList();
        Assert.All(await Task.WhenAll(reads), read => Assert.Equal(data, read));
        foreach (var written in await Task.WhenAll(writes))
        {
            await using var content = await Store.OpenPayloadAsync(Workspace, written.Id, Now, default);
            Assert.Equal(written.Size, (await ReadAllAsync(content!.Content)).Length);
        }

        await using var first = await Store.OpenPayloadAsync(Workspace, small.Id, Now, default);
        Assert.Equal("small"u8.ToArray(), await ReadAllAsync(first!.Content));
    }

    [Fact]
    public async Task Writes_queued_while_a_commit_is_pending_share_one_commit_and_a_failing_one_fails_alone()
    {
        var duplicate = await SaveAsync("first"u8.ToArray());

        // Alone in its transaction (no savepoint): the failure rolls back only itself, and the next write works.
        await Assert.ThrowsAsync<SqliteException>(() => Store.SavePayloadAsync(duplicate with { ETag = "alone" }, new MemoryStream("alone"u8.ToArray()), default));
        var after = await SaveAsync("after"u8.ToArray());
        Assert.Equal(after, await Store.GetPayloadAsync(Workspace, after.Id, Now, default));
        var before = Sqlite.Commits;

        // Hold SQLite's write lock from another connection so the writer loop waits on BEGIN while writes queue.
        var blocker = new SqliteConnection($"Data Source={Sqlite.DatabasePath}");
        await blocker.OpenAsync();
        await using (var command = blocker.CreateCommand())
        {
            command.CommandText = "BEGIN IMMEDIATE";
            await command.ExecuteNonQueryAsync();
        }

        var writes = Enumerable.Range(0, 100).Select(i => SaveAsync(BitConverter.GetBytes(i))).ToList();
        var events = Enumerable.Range(0, 50).Select(_ => Store.AppendEventAsync(Workspace, "batched", new NewChannelEvent(ChannelEventType.Message, "{}", Data: "m"), default)).ToList();
        var failing = Store.SavePayloadAsync(duplicate with { ETag = "other" }, new MemoryStream("again"u8.ToArray()), default); // same id: a constraint violation
        await Task.Delay(200);
        Assert.All(writes, w => Assert.False(w.IsCompleted, "nothing is acknowledged before its commit"));

        await using (var command = blocker.CreateCommand())
        {
            command.CommandText = "ROLLBACK"; // releases the lock
            await command.ExecuteNonQueryAsync();
        }

        await blocker.DisposeAsync();
        var saved = await Task.WhenAll(writes);
        var appended = await Task.WhenAll(events);
        await Assert.ThrowsAsync<SqliteException>(() => failing);

        Assert.InRange(Sqlite.Commits - before, 1, 3); // 151 writes queued behind one lock: a handful of commits, not 151
        foreach (var record in saved)
        {
            Assert.Equal(record, await Store.GetPayloadAsync(Workspace, record.Id, Now, default));
        }

        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), appended.Select(e => e.Seq).Order());
        await using var content = await Store.OpenPayloadAsync(Workspace, duplicate.Id, Now, default);
        Assert.Equal(duplicate, content!.Record); // the failed write changed nothing
    }
}
