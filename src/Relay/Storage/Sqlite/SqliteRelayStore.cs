using System.Buffers;
using System.Data;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace CtxRelay.Relay.Storage.Sqlite;

/// <summary>
/// The embedded engine: one SQLite database (WAL, synchronous=FULL) in the data folder. A payload of up to
/// <see cref="InlineBytes"/> lives in its record's row; larger ones live in 1 MiB chunks. Both are written by
/// the group-committing writer loop after the upload has been spooled, so a slow uploader never holds the
/// write lock and a reader never sees half a payload. Live fan-out is in process: one relay per data folder.
/// </summary>
internal sealed class SqliteRelayStore : IRelayStore
{
    internal const int ChunkSize = 1024 * 1024;

    /// <summary>
    /// Payloads up to this size are stored in their record's row (<c>payloads.data</c>) instead of the chunks
    /// table: a small push then writes one row instead of two rows and two index entries, so a batch of them
    /// dirties fewer pages, each a WAL frame fsync'd at commit (7.8 -> 4.6 <c>pwrite</c> calls per push at 64
    /// clients). Data folders written before keep their small payloads in chunks; both are read.
    /// </summary>
    internal const int InlineBytes = 4 * 1024;

    private readonly string _connectionString;
    private readonly LocalFanout _fanout = new();
    private const int MaxBatch = 256;

    /// <summary>How much of the database file payload reads map into memory (address space, not RAM: the pages are the page cache's).</summary>
    private const long MapBytes = 1L << 30;
    private long _commits;
    private readonly SmallPayloadCache _cache = new(budgetBytes: 64L * 1024 * 1024, maxPayloadBytes: 64 * 1024);
    private readonly Channel<WriteOperation> _writes = Channel.CreateUnbounded<WriteOperation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly SqliteUsageCounters _usage;

    /// <summary>Prepared statements of the writer loop's connection (see <see cref="Prepared"/>).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, Dictionary<string, SqliteCommand>> WriterStatements = [];

    /// <summary>Pooled SQLite handles whose memory map is set (a pooled connection keeps its handle).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> MappedHandles = [];
    private readonly WalCheckpointer _checkpointer;

    private readonly long? _maxBytes;
    private readonly bool _exclusive;
    private DataFolderLock? _folderLock;

    /// <param name="exclusive">Take the data folder's lock at <see cref="InitializeAsync"/> (a serving relay; see <see cref="DataFolderLock"/>).</param>
    public SqliteRelayStore(string dataDirectory, long? maxBytes = null, ILogger? logger = null, bool exclusive = false)
    {
        _maxBytes = maxBytes;
        _exclusive = exclusive;
        Directory.CreateDirectory(dataDirectory);
        DatabasePath = Path.Combine(dataDirectory, "relay.db");
        _usage = new SqliteUsageCounters(dataDirectory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _checkpointer = new WalCheckpointer(_connectionString, logger);
        _writer = Task.Run(WriteLoopAsync);
    }

    public string DatabasePath { get; }

    /// <summary>Transactions the writer loop has committed (each one fsync), for tests of group commit.</summary>
    internal long Commits => Interlocked.Read(ref _commits);

    /// <summary>Background WAL checkpoints completed (for tests).</summary>
    internal long Checkpoints => _checkpointer.Checkpoints;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_exclusive)
        {
            _folderLock ??= DataFolderLock.Acquire(Path.GetDirectoryName(DatabasePath)!);
        }

        await using var connection = await OpenAsync(cancellationToken, writer: true).ConfigureAwait(false);
        await ExecuteAsync(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS api_keys (
                id TEXT PRIMARY KEY, workspace TEXT NOT NULL, hash BLOB NOT NULL UNIQUE, prefix TEXT NOT NULL,
                plan TEXT NOT NULL, scope INTEGER NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER NULL);
            CREATE TABLE IF NOT EXISTS payloads (
                id TEXT PRIMARY KEY, workspace TEXT NOT NULL, channel TEXT NULL, metadata TEXT NOT NULL,
                content_type TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, encrypted INTEGER NOT NULL,
                created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, shape INTEGER NOT NULL DEFAULT 0, data BLOB NULL);
            CREATE INDEX IF NOT EXISTS payloads_expiry ON payloads (expires_at);
            CREATE INDEX IF NOT EXISTS payloads_workspace_expiry ON payloads (workspace, expires_at, size);
            DROP INDEX IF EXISTS payloads_workspace;
            CREATE TABLE IF NOT EXISTS workspace_bytes (workspace TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS chunks (
                payload_id TEXT NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (payload_id, idx));
            CREATE TABLE IF NOT EXISTS channels (
                workspace TEXT NOT NULL, channel TEXT NOT NULL, last_seq INTEGER NOT NULL, PRIMARY KEY (workspace, channel));
            CREATE TABLE IF NOT EXISTS events (
                workspace TEXT NOT NULL, channel TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, type INTEGER NOT NULL,
                metadata TEXT NOT NULL, payload_id TEXT NULL, url TEXT NULL, data TEXT NULL,
                PRIMARY KEY (workspace, channel, seq));
            CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
            CREATE TABLE IF NOT EXISTS groups (
                workspace TEXT NOT NULL, channel TEXT NOT NULL, grp TEXT NOT NULL, cursor INTEGER NOT NULL,
                PRIMARY KEY (workspace, channel, grp));
            CREATE TABLE IF NOT EXISTS group_claims (
                workspace TEXT NOT NULL, channel TEXT NOT NULL, grp TEXT NOT NULL, seq INTEGER NOT NULL,
                member TEXT NOT NULL, deadline INTEGER NOT NULL, deliveries INTEGER NOT NULL,
                PRIMARY KEY (workspace, channel, grp, seq));
            CREATE TABLE IF NOT EXISTS group_members (
                workspace TEXT NOT NULL, channel TEXT NOT NULL, grp TEXT NOT NULL, member TEXT NOT NULL,
                connected_at INTEGER NOT NULL, until INTEGER NOT NULL,
                PRIMARY KEY (workspace, channel, grp, member));
            CREATE TABLE IF NOT EXISTS workspaces (
                name TEXT PRIMARY KEY, plan TEXT NOT NULL, revision INTEGER NOT NULL);
            """, cancellationToken).ConfigureAwait(false);

        // Data folders made before a column existed get it added (with its default) in place.
        await AddColumnAsync(connection, "payloads", "shape", "INTEGER NOT NULL DEFAULT 0", cancellationToken).ConfigureAwait(false);
        await AddColumnAsync(connection, "api_keys", "channels", "TEXT NULL", cancellationToken).ConfigureAwait(false);
        await AddColumnAsync(connection, "api_keys", "expires_at", "INTEGER NULL", cancellationToken).ConfigureAwait(false);
        await AddColumnAsync(connection, "events", "size", "INTEGER NULL", cancellationToken).ConfigureAwait(false);
        await AddColumnAsync(connection, "payloads", "data", "BLOB NULL", cancellationToken).ConfigureAwait(false);
        await CountWorkspaceBytesAsync(connection, cancellationToken).ConfigureAwait(false);
        await _usage.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Keeps each workspace's stored bytes in <c>workspace_bytes</c>, by triggers on every insert into and delete
    /// from <c>payloads</c> — whichever process or code path writes — so that a quota check reads one row instead
    /// of summing every live payload of the workspace (which took pushes to a quota'd workspace from 627 to 166
    /// a second at 16 clients once it held 9,000 payloads). A data folder from before gets the counts of its
    /// payloads and the triggers in one transaction, once.
    /// </summary>
    private static async Task CountWorkspaceBytesAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "BEGIN IMMEDIATE", cancellationToken).ConfigureAwait(false);
        try
        {
            if (await CountAsync(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ('payloads_bytes_in', 'payloads_bytes_out')", cancellationToken).ConfigureAwait(false) < 2)
            {
                await ExecuteAsync(connection, """
                    DROP TRIGGER IF EXISTS payloads_bytes_in;
                    DROP TRIGGER IF EXISTS payloads_bytes_out;
                    DELETE FROM workspace_bytes;
                    INSERT INTO workspace_bytes (workspace, bytes) SELECT workspace, SUM(size) FROM payloads GROUP BY workspace;
                    CREATE TRIGGER payloads_bytes_in AFTER INSERT ON payloads BEGIN
                        INSERT INTO workspace_bytes (workspace, bytes) VALUES (NEW.workspace, NEW.size)
                            ON CONFLICT (workspace) DO UPDATE SET bytes = bytes + excluded.bytes;
                    END;
                    CREATE TRIGGER payloads_bytes_out AFTER DELETE ON payloads BEGIN
                        UPDATE workspace_bytes SET bytes = bytes - OLD.size WHERE workspace = OLD.workspace;
                    END;
                    """, cancellationToken).ConfigureAwait(false);
            }

            await ExecuteAsync(connection, "COMMIT", cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ExecuteAsync(connection, "ROLLBACK", CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task AddColumnAsync(SqliteConnection connection, string table, string column, string definition, CancellationToken cancellationToken)
    {
        if (await CountAsync(connection, $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'", cancellationToken).ConfigureAwait(false) == 0)
        {
            await ExecuteAsync(connection, $"ALTER TABLE {table} ADD COLUMN {column} {definition}", cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<ChannelEvent?> SavePayloadAsync(PayloadRecord payload, Stream content, NewChannelEvent? channelEvent, CancellationToken cancellationToken)
    {
        // Pooled, and no larger than the payload: a 1 KB push must not allocate (and zero) a 1 MiB buffer.
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(payload.Size, 1, ChunkSize));
        var chunkSize = Math.Min(buffer.Length, ChunkSize);
        byte[]? small = null;
        ChannelEvent? appended;
        try
        {
            appended = await WriteAsync<ChannelEvent?>(async connection =>
            {
                var inline = payload.Size <= InlineBytes;
                {
                    var insert = Prepared(connection, """
                    INSERT INTO payloads (id, workspace, channel, metadata, content_type, size, etag, encrypted, shape, created_at, expires_at, data)
                    VALUES ($id, $ws, $channel, $metadata, $type, $size, $etag, $encrypted, $shape, $created, $expires, $data)
                    """);
                    insert.Parameters.AddWithValue("$id", payload.Id);
                    insert.Parameters.AddWithValue("$ws", payload.Workspace);
                    insert.Parameters.AddWithValue("$channel", (object?)payload.Channel ?? DBNull.Value);
                    insert.Parameters.AddWithValue("$metadata", payload.MetadataJson);
                    insert.Parameters.AddWithValue("$type", payload.ContentType);
                    insert.Parameters.AddWithValue("$size", payload.Size);
                    insert.Parameters.AddWithValue("$etag", payload.ETag);
                    insert.Parameters.AddWithValue("$encrypted", payload.Encrypted);
                    insert.Parameters.AddWithValue("$shape", (int)payload.Shape);
                    insert.Parameters.AddWithValue("$created", payload.CreatedAt.ToUnixTimeMilliseconds());
                    insert.Parameters.AddWithValue("$expires", payload.ExpiresAt.ToUnixTimeMilliseconds());
                    object data = DBNull.Value;
                    if (inline)
                    {
                        var filled = await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                        if (filled != payload.Size)
                        {
                            throw new InvalidOperationException($"The payload's content has {filled} bytes, not the {payload.Size} its record says.");
                        }

                        small = buffer[..filled];
                        data = small;
                    }

                    insert.Parameters.Add("$data", SqliteType.Blob).Value = data;
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                if (!inline)
                {
                    var chunk = Prepared(connection, "INSERT INTO chunks (payload_id, idx, data) VALUES ($id, $idx, $data)");
                    chunk.Parameters.AddWithValue("$id", payload.Id);
                    var index = chunk.Parameters.Add("$idx", SqliteType.Integer);
                    var data = chunk.Parameters.Add("$data", SqliteType.Blob);
                    var chunkIndex = 0;
                    int filled;
                    while ((filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, chunkSize), chunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        index.Value = chunkIndex++;
                        data.Value = filled == buffer.Length ? buffer : buffer[..filled]; // a rented array may be longer than the chunk
                        if (chunkIndex == 1 && payload.Size <= _cache.MaxPayloadBytes && filled == payload.Size)
                        {
                            small = buffer[..filled];
                        }

                        await chunk.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                // The channel event in the same transaction: the payload and its event commit together or not at all.
                return channelEvent is null || payload.Channel is null
                    ? null
                    : await AppendEventAsync(connection, payload.Workspace, payload.Channel, channelEvent, cancellationToken).ConfigureAwait(false);
            },
            cancellationToken,
            afterCommit: e => e is null ? ValueTask.CompletedTask : _fanout.PublishAsync(payload.Workspace, e.Channel, e)).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _checkpointer.Committed(payload.Size);
        if (small is not null)
        {
            _cache.Add(payload, small); // committed: from now on pulls of it need no database read
        }

        return appended;
    }

    public async Task<PayloadRecord?> GetPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_cache.TryGet(workspace, id, now, out var cached, out _))
        {
            return cached;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadRecordAsync(connection, workspace, id, now, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PayloadContent?> OpenPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_cache.TryGet(workspace, id, now, out var cached, out var bytes))
        {
            return new PayloadContent(cached, new MemoryStream(bytes, writable: false));
        }

        var epoch = _cache.DeleteEpoch;
        var content = await OpenStoredPayloadAsync(workspace, id, now, cancellationToken).ConfigureAwait(false);
        if (content is null || content.Record.Size > _cache.MaxPayloadBytes)
        {
            return content;
        }

        // A small payload not in memory (pushed before a restart, or evicted): read it once, keep it.
        await using (content)
        {
            var small = new byte[content.Record.Size];
            await content.Content.ReadExactlyAsync(small, cancellationToken).ConfigureAwait(false);
            _cache.AddRead(content.Record, small, epoch);
            return new PayloadContent(content.Record, new MemoryStream(small, writable: false));
        }
    }

    private async Task<PayloadContent?> OpenStoredPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        SqliteCommand? command = null;
        try
        {
            await MapDatabaseAsync(connection, cancellationToken).ConfigureAwait(false);

            // Record and chunks in one statement: its read snapshot holds until the reader is disposed, so a
            // concurrent delete or sweep cannot tear the read, with no BEGIN/COMMIT around it. With the rowid
            // selected, GetStream reads each chunk incrementally (sqlite3_blob_read into the caller's buffer)
            // instead of materialising each 1 MiB chunk as a new array. A payload stored in its row (small) or
            // empty has no chunk: one row, chunk data null.
            command = connection.CreateCommand();
            command.CommandText = $"""
                SELECT {RecordColumns}, p.data, c.data, c.rowid
                FROM payloads p LEFT JOIN chunks c ON c.payload_id = p.id
                WHERE p.id = $id AND p.workspace = $ws AND p.expires_at > $now ORDER BY c.idx
                """;
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$ws", workspace);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                await reader.DisposeAsync().ConfigureAwait(false);
                await command.DisposeAsync().ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
                return null;
            }

            var record = ReadRecord(reader, workspace, id);
            var owner = new Owner(reader, command, connection);
            if (!reader.IsDBNull(RecordColumnCount))
            {
                // Stored in its row (small): read now, and the connection goes back to the pool at once.
                var bytes = reader.GetFieldValue<byte[]>(RecordColumnCount);
                await owner.DisposeAsync().ConfigureAwait(false);
                return new PayloadContent(record, new MemoryStream(bytes, writable: false));
            }

            return new PayloadContent(record, new ChunkReaderStream(reader, RecordColumnCount + 1, record.Size), owner);
        }
        catch
        {
            if (command is not null)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }

            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Lets this connection read database pages through a memory map (once per pooled SQLite handle):
    /// payload pages the <see cref="WalCheckpointer"/> has copied into the database file are then copied
    /// once, from the page cache into the response, instead of read into SQLite's own page buffers first.
    /// </summary>
    private static async Task MapDatabaseAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        if (MappedHandles.TryGetValue(connection.Handle!, out _))
        {
            return;
        }

        await ExecuteAsync(connection, "PRAGMA mmap_size = " + MapBytes, cancellationToken).ConfigureAwait(false);
        MappedHandles.AddOrUpdate(connection.Handle!, MappedHandles);
    }

    public async Task<bool> DeletePayloadAsync(string workspace, string id, CancellationToken cancellationToken)
    {
        _cache.Remove(workspace, id);
        var deleted = await WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                DELETE FROM chunks WHERE payload_id = (SELECT id FROM payloads WHERE id = $id AND workspace = $ws);
                DELETE FROM payloads WHERE id = $id AND workspace = $ws;
                """;
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$ws", workspace);
            var rows = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return rows > 0;
        }, cancellationToken).ConfigureAwait(false);
        _cache.Remove(workspace, id); // again: a read that began before the commit may have cached it
        return deleted;
    }

    /// <summary>The workspace's counter, less what has expired but not been swept yet (a short range of <c>payloads_workspace_expiry</c>).</summary>
    internal const string StoredBytesSql = """
        SELECT COALESCE((SELECT bytes FROM workspace_bytes WHERE workspace = $ws), 0)
             - (SELECT COALESCE(SUM(size), 0) FROM payloads WHERE workspace = $ws AND expires_at <= $now)
        """;

    public async Task<long> GetStoredBytesAsync(string workspace, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = StoredBytesSql;
        command.Parameters.AddWithValue("$ws", workspace);
        command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Deletes expired payloads and events past retention in writes of at most <see cref="SweepBatch"/> rows
    /// each, so pushes queued meanwhile commit between them instead of waiting for the whole sweep (one
    /// transaction for 100,000 expired payloads held every push for seconds). Retention by count seeks each
    /// channel's oldest events through the primary key instead of visiting every event of every channel.
    /// </summary>
    public async Task<int> SweepAsync(DateTimeOffset now, ChannelRetention retention, CancellationToken cancellationToken)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var removed = await DeleteInBatchesAsync(ExpiredPayloadsSql, nowMs, cancellationToken).ConfigureAwait(false);
        await DeleteInBatchesAsync(OldEventsSql, (now - retention.MaxAge).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        await DeleteInBatchesAsync(EventsOverCountSql, retention.MaxEvents, cancellationToken).ConfigureAwait(false);
        await DeleteInBatchesAsync(GoneMembersSql, nowMs, cancellationToken).ConfigureAwait(false);
        _cache.RemoveExpired(now);
        await _usage.SweepAsync(now, cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>Up to <c>$batch</c> payloads expired at <c>$bound</c> and their chunks (both statements pick the same rows: the order is total).</summary>
    internal const string ExpiredPayloadsSql = """
        DELETE FROM chunks WHERE payload_id IN (SELECT id FROM payloads WHERE expires_at <= $bound ORDER BY expires_at, rowid LIMIT $batch);
        DELETE FROM payloads WHERE rowid IN (SELECT rowid FROM payloads WHERE expires_at <= $bound ORDER BY expires_at, rowid LIMIT $batch);
        """;

    /// <summary>Up to <c>$batch</c> events appended at or before <c>$bound</c>.</summary>
    internal const string OldEventsSql = "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE ts <= $bound LIMIT $batch);";

    /// <summary>
    /// Up to <c>$batch</c> events that are not among the <c>$bound</c> newest of their channel: channel by channel
    /// (<c>CROSS JOIN</c> keeps that order), a range of the events' primary key, so a sweep reads the channels and
    /// what it deletes, not every event.
    /// </summary>
    internal const string EventsOverCountSql = """
        DELETE FROM events WHERE rowid IN (
            SELECT e.rowid FROM channels c CROSS JOIN events e
            WHERE e.workspace = c.workspace AND e.channel = c.channel AND e.seq <= c.last_seq - $bound
            LIMIT $batch);
        """;

    /// <summary>Up to <c>$batch</c> queue-group members whose lease ended at <c>$bound</c>.</summary>
    internal const string GoneMembersSql = "DELETE FROM group_members WHERE rowid IN (SELECT rowid FROM group_members WHERE until <= $bound LIMIT $batch);";

    /// <summary>
    /// The most rows one write of the sweep deletes. Pushes at one client while 160,000 expired payloads were
    /// swept: p99 22 ms with 200 rows a write, 49–66 ms with 1,000, 730–860 ms (max 1.07 s) in one transaction.
    /// </summary>
    internal const int SweepBatch = 200;

    /// <summary>
    /// Runs <paramref name="sql"/>, whose last statement deletes up to <c>$batch</c> rows chosen by <c>$bound</c>
    /// (a time in Unix milliseconds, or for retention by count the events each channel keeps), as separate writes until one deletes fewer;
    /// returns the rows the last statements deleted.
    /// </summary>
    private async Task<int> DeleteInBatchesAsync(string sql, long bound, CancellationToken cancellationToken)
    {
        var total = 0;
        int deleted;
        do
        {
            deleted = await WriteAsync(async connection =>
            {
                var command = Prepared(connection, sql + " SELECT changes();");
                command.Parameters.AddWithValue("$bound", bound);
                command.Parameters.AddWithValue("$batch", SweepBatch);
                return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            }, cancellationToken).ConfigureAwait(false);
            total += deleted;
        }
        while (deleted == SweepBatch);
        return total;
    }

    public Task<ChannelEvent> AppendEventAsync(string workspace, string channel, NewChannelEvent channelEvent, CancellationToken cancellationToken)
        => WriteAsync(
            connection => AppendEventAsync(connection, workspace, channel, channelEvent, cancellationToken),
            cancellationToken,
            afterCommit: appended => _fanout.PublishAsync(workspace, channel, appended)); // in seq order, once on disk

    /// <summary>Appends an event inside the writer's current transaction.</summary>
    private static async Task<ChannelEvent> AppendEventAsync(SqliteConnection connection, string workspace, string channel, NewChannelEvent channelEvent, CancellationToken cancellationToken)
    {
        var command = Prepared(connection, """
                INSERT INTO channels (workspace, channel, last_seq) VALUES ($ws, $ch, 1)
                    ON CONFLICT (workspace, channel) DO UPDATE SET last_seq = last_seq + 1;
                INSERT INTO events (workspace, channel, seq, ts, type, metadata, payload_id, url, data, size)
                    SELECT $ws, $ch, last_seq, $ts, $type, $metadata, $pid, $url, $data, $size FROM channels WHERE workspace = $ws AND channel = $ch;
                SELECT last_seq FROM channels WHERE workspace = $ws AND channel = $ch;
                """);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$ws", workspace);
        command.Parameters.AddWithValue("$ch", channel);
        command.Parameters.AddWithValue("$ts", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$type", (int)channelEvent.Type);
        command.Parameters.AddWithValue("$metadata", channelEvent.MetadataJson);
        command.Parameters.AddWithValue("$pid", (object?)channelEvent.PayloadId ?? DBNull.Value);
        command.Parameters.AddWithValue("$url", (object?)channelEvent.Url ?? DBNull.Value);
        command.Parameters.AddWithValue("$data", (object?)channelEvent.Data ?? DBNull.Value);
        command.Parameters.AddWithValue("$size", (object?)channelEvent.Size ?? DBNull.Value);
        var seq = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        return new ChannelEvent(channel, seq, now, channelEvent.Type, channelEvent.MetadataJson, channelEvent.PayloadId, channelEvent.Url, channelEvent.Data, channelEvent.Size);
    }

    public async Task<IReadOnlyList<ChannelEvent>> ReadEventsAsync(string workspace, string channel, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadEventsAsync(connection, workspace, channel, afterSeq, limit, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<ChannelEvent>> ReadEventsAsync(SqliteConnection connection, string workspace, string channel, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT seq, ts, type, metadata, payload_id, url, data, size FROM events
            WHERE workspace = $ws AND channel = $ch AND seq > $after ORDER BY seq LIMIT $limit
            """;
        command.Parameters.AddWithValue("$ws", workspace);
        command.Parameters.AddWithValue("$ch", channel);
        command.Parameters.AddWithValue("$after", afterSeq);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var events = new List<ChannelEvent>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(new ChannelEvent(
                channel,
                reader.GetInt64(0),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                (ChannelEventType)reader.GetInt32(2),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetInt64(7)));
        }

        return events;
    }

    public Task<IAsyncDisposable> SubscribeAsync(string workspace, string channel, Func<ChannelEvent, ValueTask> onEvent, CancellationToken cancellationToken)
        => Task.FromResult(_fanout.Subscribe(workspace, channel, onEvent));

    /// <summary>
    /// Creates the group ($ws, $ch, $grp) unless it exists: after $since, or at the channel's end.
    /// ("WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.)
    /// </summary>
    private const string EnsureGroupSql = """
        INSERT INTO groups (workspace, channel, grp, cursor)
        SELECT $ws, $ch, $grp, CASE WHEN $since IS NULL OR $since > c.last THEN c.last ELSE $since END
        FROM (SELECT COALESCE((SELECT last_seq FROM channels WHERE workspace = $ws AND channel = $ch), 0) AS last) c
        WHERE true
        ON CONFLICT (workspace, channel, grp) DO NOTHING;
        """;

    public async Task JoinGroupAsync(string workspace, string channel, string group, long? since, CancellationToken cancellationToken)
    {
        await WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = EnsureGroupSql;
            AddGroupKey(command, workspace, channel, group);
            command.Parameters.AddWithValue("$since", since is { } from ? from : DBNull.Value);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupClaim?> ClaimGroupEventAsync(string workspace, string channel, string group, string member, DateTimeOffset now, TimeSpan ackTimeout, CancellationToken cancellationToken)
    {
        return await WriteAsync(async connection =>
        {
            await using var claim = connection.CreateCommand();

            // A redelivery first (oldest expired claim), else the next event after the group's cursor.
            // Claims whose event retention already removed are dropped: there is nothing left to deliver. (One key
            // lookup per expired claim: "seq NOT IN (SELECT seq FROM events …)" listed the channel's every event on
            // each claim while any claim was pending — 40 ms with 300,000 events.)
            claim.CommandText = """
                DELETE FROM group_claims WHERE workspace = $ws AND channel = $ch AND grp = $grp AND deadline <= $now
                    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.workspace = $ws AND e.channel = $ch AND e.seq = group_claims.seq);
                UPDATE group_claims SET member = $member, deadline = $deadline, deliveries = deliveries + 1
                    WHERE workspace = $ws AND channel = $ch AND grp = $grp AND seq = (
                        SELECT MIN(seq) FROM group_claims WHERE workspace = $ws AND channel = $ch AND grp = $grp AND deadline <= $now)
                    RETURNING seq, deliveries;
                """;
            AddGroupKey(claim, workspace, channel, group);
            claim.Parameters.AddWithValue("$member", member);
            claim.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            claim.Parameters.AddWithValue("$deadline", (now + ackTimeout).ToUnixTimeMilliseconds());
            long seq;
            int deliveries;
            await using (var reader = await claim.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    seq = reader.GetInt64(0);
                    deliveries = reader.GetInt32(1);
                }
                else
                {
                    seq = -1;
                    deliveries = 1;
                }
            }

            if (seq < 0)
            {
                await using var next = connection.CreateCommand();
                next.CommandText = """
                    SELECT MIN(e.seq) FROM events e JOIN groups g ON g.workspace = e.workspace AND g.channel = e.channel
                    WHERE g.workspace = $ws AND g.channel = $ch AND g.grp = $grp AND e.seq > g.cursor
                    """;
                AddGroupKey(next, workspace, channel, group);
                var found = await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                if (found is null or DBNull)
                {
                    return null;
                }

                seq = Convert.ToInt64(found, System.Globalization.CultureInfo.InvariantCulture);
                await using var take = connection.CreateCommand();
                take.CommandText = """
                    UPDATE groups SET cursor = $seq WHERE workspace = $ws AND channel = $ch AND grp = $grp;
                    INSERT INTO group_claims (workspace, channel, grp, seq, member, deadline, deliveries)
                    VALUES ($ws, $ch, $grp, $seq, $member, $deadline, 1);
                    """;
                AddGroupKey(take, workspace, channel, group);
                take.Parameters.AddWithValue("$seq", seq);
                take.Parameters.AddWithValue("$member", member);
                take.Parameters.AddWithValue("$deadline", (now + ackTimeout).ToUnixTimeMilliseconds());
                await take.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var events = await ReadEventsAsync(connection, workspace, channel, seq - 1, 1, cancellationToken).ConfigureAwait(false);
            return events.Count == 1 && events[0].Seq == seq ? new GroupClaim(events[0], deliveries) : null;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> AckGroupEventAsync(string workspace, string channel, string group, string member, long seq, CancellationToken cancellationToken)
    {
        return await WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM group_claims WHERE workspace = $ws AND channel = $ch AND grp = $grp AND seq = $seq AND member = $member";
            AddGroupKey(command, workspace, channel, group);
            command.Parameters.AddWithValue("$seq", seq);
            command.Parameters.AddWithValue("$member", member);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task ReleaseGroupMemberAsync(string workspace, string channel, string group, string member, CancellationToken cancellationToken)
    {
        await WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                UPDATE group_claims SET deadline = 0 WHERE workspace = $ws AND channel = $ch AND grp = $grp AND member = $member;
                DELETE FROM group_members WHERE workspace = $ws AND channel = $ch AND grp = $grp AND member = $member;
                """;
            AddGroupKey(command, workspace, channel, group);
            command.Parameters.AddWithValue("$member", member);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task SeeGroupMemberAsync(string workspace, string channel, string group, string member, DateTimeOffset connectedAt, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = EnsureGroupSql + """
                INSERT INTO group_members (workspace, channel, grp, member, connected_at, until) VALUES ($ws, $ch, $grp, $member, $connected, $until)
                ON CONFLICT (workspace, channel, grp, member) DO UPDATE SET until = excluded.until
                """;
            AddGroupKey(command, workspace, channel, group);
            command.Parameters.AddWithValue("$since", DBNull.Value);
            command.Parameters.AddWithValue("$member", member);
            command.Parameters.AddWithValue("$connected", connectedAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<GroupStatus>> ListGroupsAsync(string workspace, string channel, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var snapshot = connection.BeginTransaction(deferred: true); // one consistent read of the three tables
        await using var command = connection.CreateCommand();
        command.Transaction = snapshot;
        command.CommandText = """
            SELECT g.grp, g.cursor, (SELECT COUNT(*) FROM events e WHERE e.workspace = g.workspace AND e.channel = g.channel AND e.seq > g.cursor)
            FROM groups g WHERE g.workspace = $ws AND g.channel = $ch ORDER BY g.grp;
            SELECT grp, member, connected_at, until FROM group_members
            WHERE workspace = $ws AND channel = $ch AND until > $now ORDER BY connected_at, member;
            SELECT grp, seq, member, deliveries, deadline FROM group_claims WHERE workspace = $ws AND channel = $ch ORDER BY seq;
            """;
        command.Parameters.AddWithValue("$ws", workspace);
        command.Parameters.AddWithValue("$ch", channel);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var groups = new List<(string Name, long Cursor, long Backlog)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            groups.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        var members = new List<(string Group, GroupMemberStatus Member)>();
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            members.Add((reader.GetString(0), new GroupMemberStatus(reader.GetString(1), FromUnixMs(reader.GetInt64(2)), FromUnixMs(reader.GetInt64(3)))));
        }

        var claims = new List<(string Group, PendingClaim Claim)>();
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var deadline = reader.GetInt64(4);
            claims.Add((reader.GetString(0), new PendingClaim(reader.GetInt64(1), reader.GetString(2), reader.GetInt32(3), deadline == 0 ? null : FromUnixMs(deadline))));
        }

        return [.. groups.Select(g => new GroupStatus(
            g.Name,
            g.Cursor,
            g.Backlog,
            [.. members.Where(m => m.Group == g.Name).Select(m => m.Member)],
            [.. claims.Where(c => c.Group == g.Name).Select(c => c.Claim)]))];
    }

    private static DateTimeOffset FromUnixMs(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    public async Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        await WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO api_keys (id, workspace, hash, prefix, plan, scope, channels, created_at, expires_at, revoked_at)
                VALUES ($id, $ws, $hash, $prefix, $plan, $scope, $channels, $created, $expires, NULL)
                """;
            command.Parameters.AddWithValue("$id", key.Id);
            command.Parameters.AddWithValue("$ws", key.Workspace);
            command.Parameters.AddWithValue("$hash", key.Hash);
            command.Parameters.AddWithValue("$prefix", key.Prefix);
            command.Parameters.AddWithValue("$plan", key.Plan);
            command.Parameters.AddWithValue("$scope", (int)key.Scope);
            command.Parameters.AddWithValue("$channels", (object?)key.Channels ?? DBNull.Value);
            command.Parameters.AddWithValue("$created", key.CreatedAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$expires", (object?)key.ExpiresAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ApiKeyRecord?> FindKeyAsync(byte[] hash, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, workspace, hash, prefix, plan, scope, created_at, revoked_at, channels, expires_at FROM api_keys WHERE hash = $hash";
        command.Parameters.AddWithValue("$hash", hash);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadKey(reader) : null;
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, workspace, hash, prefix, plan, scope, created_at, revoked_at, channels, expires_at FROM api_keys ORDER BY workspace, created_at";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(ReadKey(reader));
        }

        return keys;
    }

    public async Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        return await WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $now) WHERE id = $id";
            command.Parameters.AddWithValue("$id", keyId);
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> GetAccessRevisionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT COUNT(revoked_at) FROM api_keys) + (SELECT COALESCE(SUM(revision), 0) FROM workspaces)";
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    public Task SetWorkspacePlanAsync(string workspace, string plan, CancellationToken cancellationToken)
        => WriteAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO workspaces (name, plan, revision) VALUES ($ws, $plan, 1)
                ON CONFLICT (name) DO UPDATE SET plan = $plan, revision = revision + 1
                """;
            command.Parameters.AddWithValue("$ws", workspace);
            command.Parameters.AddWithValue("$plan", plan);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<string?> GetWorkspacePlanAsync(string workspace, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT plan FROM workspaces WHERE name = $ws";
        command.Parameters.AddWithValue("$ws", workspace);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task<IReadOnlyDictionary<string, string>> ListWorkspacePlansAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, plan FROM workspaces ORDER BY name";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var plans = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            plans[reader.GetString(0)] = reader.GetString(1);
        }

        return plans;
    }

    public Task<UsageGrant> ConsumeUsageAsync(UsageKey key, long limit, TimeSpan lifetime, CancellationToken cancellationToken)
        => _usage.ConsumeAsync(key, limit, lifetime, cancellationToken);

    public Task AddUsageAsync(IReadOnlyCollection<KeyValuePair<UsageKey, long>> amounts, TimeSpan lifetime, CancellationToken cancellationToken)
        => _usage.AddAsync(amounts, lifetime, cancellationToken);

    public Task<IReadOnlyList<KeyValuePair<UsageKey, long>>> ReadUsageAsync(string period, string? workspace, CancellationToken cancellationToken)
        => _usage.ReadAsync(period, workspace, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _checkpointer.DisposeAsync().ConfigureAwait(false);
        await _usage.DisposeAsync().ConfigureAwait(false);
        _cache.Dispose();
        SqliteConnection.ClearAllPools();
        _folderLock?.Dispose(); // last: the folder is free once nothing of this relay has it open
    }

    /// <summary>
    /// Queues a write for the writer loop and returns its result once the transaction that holds it has
    /// committed (fsync'd). <paramref name="write"/> runs inside that transaction: it must not begin or
    /// commit one. <paramref name="afterCommit"/> runs after the commit, in commit order (live fan-out).
    /// </summary>
    private Task<T> WriteAsync<T>(Func<SqliteConnection, Task<T>> write, CancellationToken cancellationToken, Func<T, ValueTask>? afterCommit = null)
    {
        var operation = new WriteOperation<T>(write, afterCommit, cancellationToken);
        return _writes.Writer.TryWrite(operation) ? operation.Result : Task.FromException<T>(new ObjectDisposedException(nameof(SqliteRelayStore)));
    }

    /// <summary>
    /// Group commit: SQLite has one writer, so one loop does every write. It takes the writes queued while
    /// the previous commit was in progress and runs them in one transaction — each in its own savepoint, so
    /// a failing write is rolled back alone — then commits once: one fsync (synchronous=FULL) and one set of
    /// WAL pages for the whole batch instead of one each. Nothing is acknowledged before its commit.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var batch = new List<WriteOperation>(MaxBatch);
        SqliteConnection? connection = null;
        while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            try
            {
                connection ??= await OpenAsync(CancellationToken.None, writer: true).ConfigureAwait(false);
                await Prepared(connection, "BEGIN IMMEDIATE").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                var first = true;
                while (batch.Count < MaxBatch && _writes.Reader.TryRead(out var operation))
                {
                    // The first write of a transaction needs no savepoint: if it fails, the transaction holds nothing else.
                    if (await operation.RunAsync(connection, savepoint: !first).ConfigureAwait(false))
                    {
                        batch.Add(operation);
                        first = false;
                    }
                    else if (first)
                    {
                        await Prepared(connection, "ROLLBACK; BEGIN IMMEDIATE").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                    }
                }

                await Prepared(connection, "COMMIT").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref _commits);
            }
            catch (Exception ex)
            {
                // The transaction (or the connection) failed: nothing of this batch is stored.
                foreach (var operation in batch)
                {
                    operation.Fail(ex);
                }

                batch.Clear();
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false); // rolls back; the next batch opens afresh
                    connection = null;
                }
            }

            foreach (var operation in batch)
            {
                await operation.CompleteAsync().ConfigureAwait(false);
            }
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private abstract class WriteOperation
    {
        /// <summary>Runs the write (in a savepoint unless told not to); false when it failed or was cancelled (and what it did was rolled back).</summary>
        public abstract Task<bool> RunAsync(SqliteConnection connection, bool savepoint);

        public abstract ValueTask CompleteAsync();

        public abstract void Fail(Exception exception);
    }

    private sealed class WriteOperation<T>(Func<SqliteConnection, Task<T>> write, Func<T, ValueTask>? afterCommit, CancellationToken cancellationToken) : WriteOperation
    {
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _value;

        public Task<T> Result => _result.Task;

        public override async Task<bool> RunAsync(SqliteConnection connection, bool savepoint)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                _result.TrySetCanceled(cancellationToken);
                return false;
            }

            if (savepoint)
            {
                await Prepared(connection, "SAVEPOINT write").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }

            try
            {
                _value = await write(connection).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (savepoint)
                {
                    await Prepared(connection, "ROLLBACK TO write; RELEASE write").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }

                Fail(ex);
                return false;
            }

            if (savepoint)
            {
                await Prepared(connection, "RELEASE write").ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return true;
        }

        public override async ValueTask CompleteAsync()
        {
            try
            {
                if (afterCommit is not null)
                {
                    await afterCommit(_value!).ConfigureAwait(false);
                }
            }
            finally
            {
                _result.TrySetResult(_value!);
            }
        }

        public override void Fail(Exception exception)
        {
            if (exception is OperationCanceledException canceled && cancellationToken.IsCancellationRequested)
            {
                _result.TrySetCanceled(canceled.CancellationToken);
            }
            else
            {
                _result.TrySetException(exception);
            }
        }
    }

    private Task WriteAsync(Func<SqliteConnection, Task> write, CancellationToken cancellationToken)
        => WriteAsync(async connection =>
        {
            await write(connection).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>
    /// A pooled connection. Readers need no settings (WAL readers never wait for the writer); the writer
    /// loop's connection syncs every commit and waits out another process's write lock (the keys CLI).
    /// </summary>
    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken, bool writer = false)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (writer)
        {
            await ExecuteAsync(connection, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;", cancellationToken).ConfigureAwait(false);
            if (_maxBytes is { } maxBytes)
            {
                await ExecuteAsync(connection, $"PRAGMA max_page_count = {Math.Max(1, maxBytes / 4096)};", cancellationToken).ConfigureAwait(false);
            }
        }

        return connection;
    }

    /// <summary>
    /// The writer connection's statement for <paramref name="sql"/>, parsed once and reused by every later
    /// write (parsing the statements again for each 1 KB push cost more than executing them). Only the
    /// writer loop calls this, with its own connection, so the cache needs no lock; it goes with the connection.
    /// Do not dispose the command; its parameters are cleared for the caller.
    /// </summary>
    private static SqliteCommand Prepared(SqliteConnection connection, string sql)
    {
        var statements = WriterStatements.GetOrCreateValue(connection);
        if (!statements.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            statements.Add(sql, command);
        }

        command.Parameters.Clear();
        return command;
    }

    private static void AddGroupKey(SqliteCommand command, string workspace, string channel, string group)
    {
        command.Parameters.AddWithValue("$ws", workspace);
        command.Parameters.AddWithValue("$ch", channel);
        command.Parameters.AddWithValue("$grp", group);
    }

    private static async Task<long> CountAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<PayloadRecord?> ReadRecordAsync(SqliteConnection connection, string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {RecordColumns} FROM payloads p WHERE p.id = $id AND p.workspace = $ws AND p.expires_at > $now";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$ws", workspace);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadRecord(reader, workspace, id) : null;
    }

    /// <summary>The columns <see cref="ReadRecord"/> reads, first in the select list, from <c>payloads p</c>.</summary>
    private const string RecordColumns = "p.channel, p.metadata, p.content_type, p.size, p.etag, p.encrypted, p.created_at, p.expires_at, p.shape";

    private const int RecordColumnCount = 9;

    private static PayloadRecord ReadRecord(SqliteDataReader reader, string workspace, string id)
        => new()
        {
            Workspace = workspace,
            Id = id,
            Channel = reader.IsDBNull(0) ? null : reader.GetString(0),
            MetadataJson = reader.GetString(1),
            ContentType = reader.GetString(2),
            Size = reader.GetInt64(3),
            ETag = reader.GetString(4),
            Encrypted = reader.GetBoolean(5),
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
            ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
            Shape = (EnvelopeShape)reader.GetInt32(8),
        };

    private static ApiKeyRecord ReadKey(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Workspace = reader.GetString(1),
        Hash = (byte[])reader.GetValue(2),
        Prefix = reader.GetString(3),
        Plan = reader.GetString(4),
        Scope = (KeyScope)reader.GetInt32(5),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
        RevokedAt = reader.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
        Channels = reader.IsDBNull(8) ? null : reader.GetString(8),
        ExpiresAt = reader.IsDBNull(9) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)),
    };

    private sealed class Owner(SqliteDataReader reader, SqliteCommand command, SqliteConnection connection) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            await command.DisposeAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the chunk rows one after another as one stream, one chunk in memory at a time. The reader is on the
    /// first row; the chunk is at <paramref name="dataOrdinal"/> (null for an empty payload), its rowid next to it.
    /// </summary>
    private sealed class ChunkReaderStream(SqliteDataReader reader, int dataOrdinal, long length) : PayloadReadStream(length)
    {
        private Stream? _current;
        private bool _onRow = true;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            while (true)
            {
                if (_current is null)
                {
                    if (!_onRow && !reader.Read())
                    {
                        return 0;
                    }

                    _onRow = false;
                    if (reader.IsDBNull(dataOrdinal))
                    {
                        return 0;
                    }

                    _current = reader.GetStream(dataOrdinal);
                }

                var read = _current.Read(buffer);
                if (read > 0)
                {
                    BytesRead += read;
                    return read;
                }

                _current.Dispose();
                _current = null;
            }
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(buffer.Span));
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _current?.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
