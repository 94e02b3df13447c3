using System.Buffers;
using System.Globalization;
using CtxRelay.Relay.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// The shared engine: everything in Redis, so any number of relays behind a load balancer serve the same
/// workspaces (see <see cref="RedisKeys"/> for the layout).
/// <list type="bullet">
/// <item>Payloads: bytes in <see cref="DefaultChunkSize"/> chunks written with a small window of pipelined
/// SETs, then the record hash written last by one script (no record → not found, so a reader never sees
/// half a payload). The record expires natively at ExpiresAt; chunks a minute later, so a read that
/// started just before expiry can finish. Reads stream chunk by chunk. No single command carries more
/// than one chunk, so a 25 MB payload never holds Redis — or this relay's connection — for long.</item>
/// <item>Events: per channel a seq counter and a sorted set (score = seq); one script does INCR, ZADD,
/// trimming and PUBLISH, so seq order is publish order. Each relay keeps one pub/sub subscription per
/// channel with local subscribers (<see cref="ChannelFeed"/>).</item>
/// <item>Usage: a per-workspace byte counter, INCRBY on save and DECRBY when a payload is deleted or
/// swept. Redis expires records by itself but cannot adjust the counter, so expired payloads stay counted
/// until a sweep or a usage read forgets them through the expiry index — and a usage read does that
/// first, so the figure it returns counts only payloads live at that moment.</item>
/// </list>
/// Durability is Redis's: configure AOF/RDB persistence there if payloads must survive a Redis restart.
/// When Redis cannot be reached, calls fail fast with <see cref="StorageUnavailableException"/> (no
/// queueing while disconnected) and the connection, subscriptions included, comes back by itself.
/// </summary>
internal sealed partial class RedisRelayStore : IRelayStore
{
    /// <summary>256 KiB: small enough that one command is sub-millisecond work for Redis, big enough for throughput.</summary>
    internal const int DefaultChunkSize = 256 * 1024;

    private const int WriteWindow = 4;
    private const int ReapBatch = 100;
    private const int ShortTimeoutMilliseconds = 2000;
    private static readonly TimeSpan ChunkGrace = TimeSpan.FromMinutes(1);

    private readonly string _configuration;
    private readonly RedisKeys _keys;
    private readonly int _chunkSize;
    private readonly SemaphoreSlim _feedsGate = new(1, 1);
    private readonly Dictionary<(string Workspace, string Channel), ChannelFeed> _feeds = [];
    private ConnectionMultiplexer? _redis;
    private ChannelRetention? _retention;

    public RedisRelayStore(StorageOptions options, int chunkSize = DefaultChunkSize, ILogger? logger = null)
    {
        Logger = logger ?? NullLogger.Instance;
        if (string.IsNullOrWhiteSpace(options.Redis))
        {
            throw new ArgumentException("Storage:Redis is empty: set it to a connection string such as 'localhost:6379'.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1024);
        _configuration = options.Redis;
        _keys = new RedisKeys(options.RedisPrefix);
        _chunkSize = chunkSize;
    }

    internal ILogger Logger { get; }

    private IDatabase Database => (_redis ?? throw new InvalidOperationException("The Redis store has not been initialized.")).GetDatabase();

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var configuration = ConfigurationOptions.Parse(_configuration);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ReconnectRetryPolicy = new LinearRetry(1000);
        configuration.ClientName ??= "contextrelay-relay";

        // Fail fast when Redis is down, unless the connection string asks otherwise.
        if (!Mentions("connectTimeout"))
        {
            configuration.ConnectTimeout = ShortTimeoutMilliseconds;
        }

        if (!Mentions("syncTimeout"))
        {
            configuration.SyncTimeout = ShortTimeoutMilliseconds;
        }

        if (!Mentions("asyncTimeout"))
        {
            configuration.AsyncTimeout = ShortTimeoutMilliseconds;
        }

        _redis = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(cancellationToken).ConfigureAwait(false);
        _redis.ConnectionRestored += OnConnectionRestored;
        _redis.ConnectionFailed += (_, e) => Log.RedisConnectionLost(Logger, e.EndPoint?.ToString(), e.FailureType.ToString());
        try
        {
            await Database.PingAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw new StorageUnavailableException(
                $"Cannot reach Redis at {string.Join(", ", configuration.EndPoints)} (Storage:Redis). Start Redis or fix the connection string.",
                ex);
        }

        bool Mentions(string option) => _configuration.Contains(option + "=", StringComparison.OrdinalIgnoreCase);
    }

    // ---- payloads -------------------------------------------------------------------------------

    public Task<ChannelEvent?> SavePayloadAsync(PayloadRecord payload, Stream content, NewChannelEvent? channelEvent, CancellationToken cancellationToken)
        => Guard(SavePayloadCoreAsync(payload, content, channelEvent, cancellationToken));

    public Task<PayloadRecord?> GetPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
        => Guard(GetPayloadCoreAsync(workspace, id, now));

    public Task<PayloadContent?> OpenPayloadAsync(string workspace, string id, DateTimeOffset now, CancellationToken cancellationToken)
        => Guard(OpenPayloadCoreAsync(workspace, id, now));

    public Task<bool> DeletePayloadAsync(string workspace, string id, CancellationToken cancellationToken)
        => Guard(DeletePayloadCoreAsync(workspace, id));

    public Task<long> GetStoredBytesAsync(string workspace, CancellationToken cancellationToken)
        => Guard(GetStoredBytesCoreAsync(workspace));

    public Task<int> SweepAsync(DateTimeOffset now, ChannelRetention retention, CancellationToken cancellationToken)
        => Guard(SweepCoreAsync(now, retention, cancellationToken));

    // ---- channels -------------------------------------------------------------------------------

    public Task<ChannelEvent> AppendEventAsync(string workspace, string channel, NewChannelEvent channelEvent, CancellationToken cancellationToken)
        => Guard(AppendEventCoreAsync(workspace, channel, channelEvent));

    public Task<IReadOnlyList<ChannelEvent>> ReadEventsAsync(string workspace, string channel, long afterSeq, int limit, CancellationToken cancellationToken)
        => Guard(ReadEventsCoreAsync(workspace, channel, afterSeq, limit));

    public Task<IAsyncDisposable> SubscribeAsync(string workspace, string channel, Func<ChannelEvent, ValueTask> onEvent, CancellationToken cancellationToken)
        => Guard(SubscribeCoreAsync(workspace, channel, onEvent, cancellationToken));

    // ---- keys -----------------------------------------------------------------------------------

    public Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
        => Guard(CreateKeyCoreAsync(key));

    public Task<ApiKeyRecord?> FindKeyAsync(byte[] hash, CancellationToken cancellationToken)
        => Guard(FindKeyCoreAsync(hash));

    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(CancellationToken cancellationToken)
        => Guard(ListKeysCoreAsync());

    public Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken)
        => Guard(RevokeKeyCoreAsync(keyId, now));

    public Task<long> GetAccessRevisionAsync(CancellationToken cancellationToken)
        => Guard(GetAccessRevisionCoreAsync());

    // ---- workspaces and usage -------------------------------------------------------------------

    public Task SetWorkspacePlanAsync(string workspace, string plan, CancellationToken cancellationToken)
    {
        var batch = Database.CreateTransaction();
        _ = batch.HashSetAsync(_keys.Plans, workspace, plan);
        _ = batch.StringIncrementAsync(_keys.AccessRevision);
        return Guard(batch.ExecuteAsync());
    }

    public Task<string?> GetWorkspacePlanAsync(string workspace, CancellationToken cancellationToken)
        => Guard(GetWorkspacePlanCoreAsync(workspace));

    public Task<IReadOnlyDictionary<string, string>> ListWorkspacePlansAsync(CancellationToken cancellationToken)
        => Guard(ListWorkspacePlansCoreAsync());

    public Task<UsageGrant> ConsumeUsageAsync(UsageKey key, long limit, TimeSpan lifetime, CancellationToken cancellationToken)
        => Guard(ConsumeUsageCoreAsync(key, limit, lifetime));

    public Task AddUsageAsync(IReadOnlyCollection<KeyValuePair<UsageKey, long>> amounts, TimeSpan lifetime, CancellationToken cancellationToken)
        => Guard(Task.WhenAll(amounts.Select(amount => Database.ScriptEvaluateAsync(
            RedisScripts.AddUsage,
            [_keys.Usage(amount.Key.Workspace, amount.Key.Period), _keys.UsageWorkspaces(amount.Key.Period)],
            [amount.Key.Meter, amount.Value, (long)lifetime.TotalMilliseconds, amount.Key.Workspace]))));

    public Task<IReadOnlyList<KeyValuePair<UsageKey, long>>> ReadUsageAsync(string period, string? workspace, CancellationToken cancellationToken)
        => Guard(ReadUsageCoreAsync(period, workspace));

    public async ValueTask DisposeAsync()
    {
        ChannelFeed[] feeds;
        lock (_feeds)
        {
            feeds = [.. _feeds.Values];
            _feeds.Clear();
        }

        foreach (var feed in feeds)
        {
            await feed.StopAsync().ConfigureAwait(false);
        }

        if (_redis is not null)
        {
            _redis.ConnectionRestored -= OnConnectionRestored;
            await _redis.DisposeAsync().ConfigureAwait(false);
        }

        _feedsGate.Dispose();
    }

    // ---- shared with the helpers --------------------------------------------------------------

    /// <summary>Redis is down, unreachable, not answering in time, or not ready yet.</summary>
    internal static bool IsUnavailable(Exception exception)
        => exception is RedisConnectionException or RedisTimeoutException
           || (exception is RedisServerException server
               && (server.Message.StartsWith("LOADING", StringComparison.Ordinal)
                   || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
                   || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal)));

    internal static StorageUnavailableException Unavailable(Exception exception)
        => new("The relay's storage (Redis) is unreachable or not answering. Retry in a few seconds.", exception);

    internal async Task<IReadOnlyList<ChannelEvent>> ReadEventsCoreAsync(string workspace, string channel, long afterSeq, int limit)
    {
        var members = await Database.SortedSetRangeByScoreAsync(
            _keys.Events(workspace, channel),
            start: afterSeq,
            stop: double.PositiveInfinity,
            exclude: Exclude.Start,
            order: Order.Ascending,
            skip: 0,
            take: limit).ConfigureAwait(false);
        var events = new List<ChannelEvent>(members.Length);
        foreach (var member in members)
        {
            if (RedisEvents.TryDecode(channel, member, out var channelEvent))
            {
                events.Add(channelEvent);
            }
        }

        return events;
    }

    internal async Task<long> ReadSeqAsync(string workspace, string channel)
    {
        var value = await Database.StringGetAsync(_keys.Seq(workspace, channel)).ConfigureAwait(false);
        return value.IsNull ? 0 : (long)value;
    }

    private static async Task<T> Guard<T>(Task<T> operation)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    private static async Task Guard(Task operation)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    private async Task<ChannelEvent?> SavePayloadCoreAsync(PayloadRecord payload, Stream content, NewChannelEvent? channelEvent, CancellationToken cancellationToken)
    {
        var database = Database;
        var (workspace, id) = (payload.Workspace, payload.Id);
        var tracked = database.SetAddAsync(_keys.Workspaces, workspace);
        // Never earlier than a grace from now: a payload that expires on arrival must still find its chunks
        // when the record script checks them (it then stores a record that is gone at once, as before).
        var chunkExpiry = new Expiration((payload.ExpiresAt > DateTimeOffset.UtcNow ? payload.ExpiresAt : DateTimeOffset.UtcNow).UtcDateTime + ChunkGrace);

        // A few chunks in flight at a time: throughput of pipelining, while other commands of this relay
        // (and other clients of Redis) get their turn between chunks. A buffer is reused only after its
        // SET has been answered, so the library has certainly written it out.
        var pending = new Queue<(Task Write, byte[] Buffer)>(WriteWindow);
        var chunks = 0;
        Task<RedisResult>? saving = null;
        Task<bool>? channelTracked = null;
        Exception? chunkFailure = null;
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
                var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, _chunkSize), _chunkSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (filled == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                var value = (ReadOnlyMemory<byte>)buffer.AsMemory(0, filled);
                pending.Enqueue((database.StringSetAsync(_keys.Chunk(workspace, id, chunks++), value, chunkExpiry), buffer));
                if (pending.Count == WriteWindow)
                {
                    await CompleteOldestAsync(pending).ConfigureAwait(false);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();

            // The record last, pipelined behind the last chunks instead of after their answers (one round trip,
            // and one fsync of an appendfsync-always Redis, less per push): Redis runs one connection's commands
            // in order, and the script refuses to publish a record whose chunks are not all there.
            saving = SaveRecordAsync(database, payload, chunks, channelEvent);
            channelTracked = channelEvent is not null && payload.Channel is { } tracking
                ? database.SetAddAsync(_keys.Channels, RedisKeys.ChannelEntry(workspace, tracking))
                : null;
            while (pending.Count > 0)
            {
                await CompleteOldestAsync(pending).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (saving is not null)
        {
            chunkFailure = ex; // the record's answer says whether every chunk got there after all
        }
        catch
        {
            ForgetChunks(database, _keys, workspace, id, chunks);
            throw;
        }

        RedisResult saved;
        try
        {
            saved = await saving.ConfigureAwait(false);
        }
        catch
        {
            // Buffers still in flight are left to the GC. Chunks already written expire by themselves; try to free them now.
            ForgetChunks(database, _keys, workspace, id, chunks);
            if (chunkFailure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(chunkFailure); // the cause, not "a chunk is missing"
            }

            throw;
        }

        // Saved: the script saw every chunk, so a chunk write that reported a failure (a timeout, say) got there.
        await tracked.ConfigureAwait(false);
        if (channelTracked is null || channelEvent is null || payload.Channel is not { } channel)
        {
            return null;
        }

        await channelTracked.ConfigureAwait(false);
        return ToEvent(channel, channelEvent, (RedisResult[])saved!);

        static async Task CompleteOldestAsync(Queue<(Task Write, byte[] Buffer)> pending)
        {
            var (write, buffer) = pending.Peek();
            await write.ConfigureAwait(false);
            pending.Dequeue();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Publishes a payload's record (and, on a channel, its push event) once its chunks are written or queued
    /// ahead of it on the connection: <see cref="RedisScripts.SavePayload"/> fails without a record when a chunk is missing.
    /// </summary>
    private Task<RedisResult> SaveRecordAsync(IDatabase database, PayloadRecord payload, int chunks, NewChannelEvent? channelEvent)
    {
        var (workspace, id) = (payload.Workspace, payload.Id);
        var values = new List<RedisValue>(25)
        {
            id,
            payload.ExpiresAt.ToUnixTimeMilliseconds(),
            payload.Size,
            chunks,
            _keys.WorkspacePrefix(workspace),
            "meta", payload.MetadataJson,
            "type", payload.ContentType,
            "size", payload.Size,
            "etag", payload.ETag,
            "enc", payload.Encrypted ? 1 : 0,
            "shape", (int)payload.Shape,
            "created", payload.CreatedAt.ToUnixTimeMilliseconds(),
            "expires", payload.ExpiresAt.ToUnixTimeMilliseconds(),
            "chunks", chunks,
        };
        if (payload.Channel is not null)
        {
            values.Add("ch");
            values.Add(payload.Channel);
        }

        RedisKey[] recordKeys = [_keys.Record(workspace, id), _keys.Expiries(workspace), _keys.Sizes(workspace), _keys.Bytes(workspace)];
        if (channelEvent is null || payload.Channel is not { } channel)
        {
            return database.ScriptEvaluateAsync(RedisScripts.SavePayload, recordKeys, [.. values]);
        }

        // The record and its channel event in one script: both are stored, or neither.
        var retention = Volatile.Read(ref _retention);
        values.InsertRange(5, [RedisEvents.EncodeBody(channelEvent), retention?.MaxEvents ?? 0, (long)(retention?.MaxAge.TotalMilliseconds ?? 0)]);
        return database.ScriptEvaluateAsync(
            RedisScripts.SavePayloadWithEvent,
            [.. recordKeys, _keys.Seq(workspace, channel), _keys.Events(workspace, channel)],
            [.. values]);
    }

    /// <summary>Frees the chunks of a payload that was not saved (they would expire by themselves anyway).</summary>
    private static void ForgetChunks(IDatabase database, RedisKeys keys, string workspace, string id, int chunks)
    {
        if (chunks == 0)
        {
            return;
        }

        try
        {
            var orphans = Enumerable.Range(0, chunks).Select(n => keys.Chunk(workspace, id, n)).ToArray();
            _ = database.KeyDeleteAsync(orphans, CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
        }
    }

    private async Task<PayloadRecord?> GetPayloadCoreAsync(string workspace, string id, DateTimeOffset now)
        => ToRecord(workspace, id, await Database.HashGetAsync(_keys.Record(workspace, id), RecordFields).ConfigureAwait(false), now).Record;

    /// <summary>
    /// One round trip for the record and the first chunk: both commands go out together (pipelined, in this
    /// order) instead of the chunk being asked for once the record has arrived — for a small payload that
    /// halves the round trips of a pull. Nothing is cached: every pull reads Redis, so a delete or expiry
    /// on any relay is seen at once. The record is read first and written last by a push, so a record that
    /// is there has its chunks; a delete between the two replies ends the read as a deleted payload.
    /// </summary>
    private async Task<PayloadContent?> OpenPayloadCoreAsync(string workspace, string id, DateTimeOffset now)
    {
        var database = Database;
        var reading = database.HashGetAsync(_keys.Record(workspace, id), RecordFields);
        var firstChunk = database.StringGetLeaseAsync(_keys.Chunk(workspace, id, 0));
        (PayloadRecord? Record, int Chunks) found;
        try
        {
            found = ToRecord(workspace, id, await reading.ConfigureAwait(false), now);
        }
        catch
        {
            DisposeWhenDone(firstChunk);
            throw;
        }

        if (found.Record is null || found.Chunks == 0)
        {
            DisposeWhenDone(firstChunk);
            return found.Record is null ? null : new PayloadContent(found.Record, new RedisChunkStream(database, _keys, workspace, id, 0, 0));
        }

        return new PayloadContent(found.Record, new RedisChunkStream(database, _keys, workspace, id, found.Chunks, found.Record.Size, firstChunk));

        static void DisposeWhenDone(Task<Lease<byte>?> chunk)
            => _ = chunk.ContinueWith(static t => t.Result?.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The record's fields, read with HMGET in this order (no field names in the reply).</summary>
    private static readonly RedisValue[] RecordFields = ["ch", "meta", "type", "etag", "size", "enc", "shape", "created", "expires", "chunks"];

    private static (PayloadRecord? Record, int Chunks) ToRecord(string workspace, string id, RedisValue[] fields, DateTimeOffset now)
    {
        var expires = fields[8];
        if (expires.IsNull)
        {
            return (null, 0); // no record
        }

        var record = new PayloadRecord
        {
            Workspace = workspace,
            Id = id,
            Channel = fields[0],
            MetadataJson = (string?)fields[1] ?? "{}",
            ContentType = (string?)fields[2] ?? "application/octet-stream",
            Size = (long)fields[4],
            ETag = (string?)fields[3] ?? string.Empty,
            Encrypted = (long)fields[5] != 0,
            Shape = (EnvelopeShape)(int)fields[6],
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)fields[7]),
            ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)expires),
        };
        return record.ExpiresAt > now ? (record, (int)fields[9]) : (null, 0);
    }

    private async Task<bool> DeletePayloadCoreAsync(string workspace, string id)
    {
        var existed = await Database.ScriptEvaluateAsync(
            RedisScripts.DeletePayload,
            [_keys.Record(workspace, id), _keys.Expiries(workspace), _keys.Sizes(workspace), _keys.Bytes(workspace)],
            [id, _keys.WorkspacePrefix(workspace)]).ConfigureAwait(false);
        return (long)existed == 1;
    }

    private async Task<long> GetStoredBytesCoreAsync(string workspace)
    {
        // Forget what expired since the last sweep first, so the counter holds live payloads only.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (await ReapAsync(workspace, now).ConfigureAwait(false) == ReapBatch)
        {
        }

        var bytes = await Database.StringGetAsync(_keys.Bytes(workspace)).ConfigureAwait(false);
        return bytes.IsNull ? 0 : Math.Max(0, (long)bytes);
    }

    private async Task<int> ReapAsync(string workspace, long now)
    {
        var reaped = await Database.ScriptEvaluateAsync(
            RedisScripts.ReapExpired,
            [_keys.Expiries(workspace), _keys.Sizes(workspace), _keys.Bytes(workspace)],
            [now, ReapBatch, _keys.WorkspacePrefix(workspace)]).ConfigureAwait(false);
        return (int)reaped;
    }

    /// <summary>
    /// Forgets expired payloads of every workspace (several relays may sweep at once: each payload goes
    /// once, atomically) and trims every channel's events by count and age.
    /// </summary>
    private async Task<int> SweepCoreAsync(DateTimeOffset now, ChannelRetention retention, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _retention, retention);
        var database = Database;
        var nowMs = now.ToUnixTimeMilliseconds();
        var removed = 0;
        await foreach (var workspace in database.SetScanAsync(_keys.Workspaces, pageSize: 250).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            int reaped;
            do
            {
                reaped = await ReapAsync(workspace!, nowMs).ConfigureAwait(false);
                removed += reaped;
            }
            while (reaped == ReapBatch);
        }

        var cutoff = (now - retention.MaxAge).ToUnixTimeMilliseconds();
        await foreach (var entry in database.SetScanAsync(_keys.Channels, pageSize: 250).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var text = (string)entry!;
            var split = text.IndexOf('\n', StringComparison.Ordinal);
            if (split < 0)
            {
                continue;
            }

            var left = await database.ScriptEvaluateAsync(
                RedisScripts.TrimEvents,
                [_keys.Events(text[..split], text[(split + 1)..])],
                [retention.MaxEvents, cutoff]).ConfigureAwait(false);
            if ((long)left == 0)
            {
                // An append racing with this re-adds the entry itself (and its events expire natively).
                await database.SetRemoveAsync(_keys.Channels, entry).ConfigureAwait(false);
            }
        }

        return removed;
    }

    private async Task<ChannelEvent> AppendEventCoreAsync(string workspace, string channel, NewChannelEvent channelEvent)
    {
        var database = Database;
        var retention = Volatile.Read(ref _retention);
        var append = database.ScriptEvaluateAsync(
            RedisScripts.AppendEvent,
            [_keys.Seq(workspace, channel), _keys.Events(workspace, channel)],
            [RedisEvents.EncodeBody(channelEvent), retention?.MaxEvents ?? 0, (long)(retention?.MaxAge.TotalMilliseconds ?? 0)]);
        var tracked = database.SetAddAsync(_keys.Channels, RedisKeys.ChannelEntry(workspace, channel));
        var result = (RedisResult[])(await append.ConfigureAwait(false))!;
        await tracked.ConfigureAwait(false);
        return ToEvent(channel, channelEvent, result);
    }

    /// <summary>The appended event from a script's {seq, ts}.</summary>
    private static ChannelEvent ToEvent(string channel, NewChannelEvent channelEvent, RedisResult[] appended) => new(
        channel,
        (long)appended[0],
        DateTimeOffset.FromUnixTimeMilliseconds((long)appended[1]),
        channelEvent.Type,
        channelEvent.MetadataJson,
        channelEvent.PayloadId,
        channelEvent.Url,
        channelEvent.Data,
        channelEvent.Size);

    private async Task<IAsyncDisposable> SubscribeCoreAsync(string workspace, string channel, Func<ChannelEvent, ValueTask> onEvent, CancellationToken cancellationToken)
    {
        var key = (workspace, channel);
        await _feedsGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ChannelFeed? feed;
            lock (_feeds)
            {
                _feeds.TryGetValue(key, out feed);
            }

            if (feed is null)
            {
                feed = new ChannelFeed(this, workspace, channel);
                await feed.StartAsync(Database, _redis!.GetSubscriber(), _keys).ConfigureAwait(false);
                lock (_feeds)
                {
                    _feeds[key] = feed;
                }
            }

            feed.References++;
            return new Subscription(this, key, feed, feed.Fanout.Subscribe(workspace, channel, onEvent));
        }
        finally
        {
            _feedsGate.Release();
        }
    }

    private async ValueTask UnsubscribeAsync((string, string) key, ChannelFeed feed, IAsyncDisposable local)
    {
        await local.DisposeAsync().ConfigureAwait(false);
        await _feedsGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (--feed.References > 0)
            {
                return;
            }

            lock (_feeds)
            {
                if (_feeds.TryGetValue(key, out var current) && current == feed)
                {
                    _feeds.Remove(key);
                }
            }

            await feed.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            _feedsGate.Release();
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        ChannelFeed[] feeds;
        lock (_feeds)
        {
            feeds = [.. _feeds.Values];
        }

        foreach (var feed in feeds)
        {
            _ = feed.CatchUpAsync();
        }
    }

    private async Task CreateKeyCoreAsync(ApiKeyRecord key)
    {
        var hex = Convert.ToHexStringLower(key.Hash);
        try
        {
            await Database.ScriptEvaluateAsync(
                RedisScripts.CreateKey,
                [_keys.Key(hex), _keys.KeyIds],
                [
                    key.Id,
                    hex,
                    "id", key.Id,
                    "ws", key.Workspace,
                    "prefix", key.Prefix,
                    "plan", key.Plan,
                    "scope", (int)key.Scope,
                    "created", key.CreatedAt.ToUnixTimeMilliseconds(),
                    "channels", key.Channels ?? string.Empty,
                    "expires", key.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
                ]).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("exists already", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"An API key with id '{key.Id}' or the same hash exists already.", ex);
        }
    }

    private async Task<ApiKeyRecord?> FindKeyCoreAsync(byte[] hash)
    {
        var fields = await Database.HashGetAllAsync(_keys.Key(hash)).ConfigureAwait(false);
        return fields.Length == 0 ? null : ReadKey(hash, fields);
    }

    private async Task<IReadOnlyList<ApiKeyRecord>> ListKeysCoreAsync()
    {
        var database = Database;
        var ids = await database.HashGetAllAsync(_keys.KeyIds).ConfigureAwait(false);
        var lookups = ids
            .Select(entry => (string)entry.Value!)
            .Select(hex => (Hex: hex, Fields: database.HashGetAllAsync(_keys.Key(hex))))
            .ToArray();
        var keys = new List<ApiKeyRecord>(lookups.Length);
        foreach (var (hex, fields) in lookups)
        {
            var entries = await fields.ConfigureAwait(false);
            if (entries.Length > 0)
            {
                keys.Add(ReadKey(Convert.FromHexString(hex), entries));
            }
        }

        keys.Sort(static (a, b) =>
        {
            var byWorkspace = string.CompareOrdinal(a.Workspace, b.Workspace);
            return byWorkspace != 0 ? byWorkspace : a.CreatedAt.CompareTo(b.CreatedAt);
        });
        return keys;
    }

    private async Task<long> GetAccessRevisionCoreAsync()
        => (long?)await Database.StringGetAsync(_keys.AccessRevision).ConfigureAwait(false) ?? 0;

    private async Task<string?> GetWorkspacePlanCoreAsync(string workspace)
        => await Database.HashGetAsync(_keys.Plans, workspace).ConfigureAwait(false);

    private async Task<IReadOnlyDictionary<string, string>> ListWorkspacePlansCoreAsync()
        => (await Database.HashGetAllAsync(_keys.Plans).ConfigureAwait(false)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);

    private async Task<UsageGrant> ConsumeUsageCoreAsync(UsageKey key, long limit, TimeSpan lifetime)
    {
        var result = (RedisResult[])(await Database.ScriptEvaluateAsync(
            RedisScripts.ConsumeUsage,
            [_keys.Usage(key.Workspace, key.Period), _keys.UsageWorkspaces(key.Period)],
            [key.Meter, limit, (long)lifetime.TotalMilliseconds, key.Workspace]).ConfigureAwait(false))!;
        return new UsageGrant((long)result[0] == 1, (long)result[1]);
    }

    private async Task<IReadOnlyList<KeyValuePair<UsageKey, long>>> ReadUsageCoreAsync(string period, string? workspace)
    {
        var database = Database;
        var workspaces = workspace is not null
            ? [workspace]
            : (await database.SetMembersAsync(_keys.UsageWorkspaces(period)).ConfigureAwait(false)).Select(w => (string)w!).Order(StringComparer.Ordinal).ToArray();
        var rows = new List<KeyValuePair<UsageKey, long>>();
        foreach (var name in workspaces)
        {
            foreach (var entry in (await database.HashGetAllAsync(_keys.Usage(name, period)).ConfigureAwait(false)).OrderBy(e => (string)e.Name!, StringComparer.Ordinal))
            {
                rows.Add(new(new UsageKey(name, entry.Name!, period), (long)entry.Value));
            }
        }

        return rows;
    }

    private async Task<bool> RevokeKeyCoreAsync(string keyId, DateTimeOffset now)
    {
        var revoked = await Database.ScriptEvaluateAsync(
            RedisScripts.RevokeKey,
            [_keys.KeyIds, _keys.AccessRevision],
            [keyId, now.ToUnixTimeMilliseconds(), _keys.Key(string.Empty).ToString()]).ConfigureAwait(false);
        return (long)revoked == 1;
    }

    private static ApiKeyRecord ReadKey(byte[] hash, HashEntry[] fields)
    {
        var values = fields.ToDictionary(f => (string)f.Name!, f => f.Value);
        return new ApiKeyRecord
        {
            Id = values["id"]!,
            Workspace = values["ws"]!,
            Hash = hash,
            Prefix = values["prefix"]!,
            Plan = values["plan"]!,
            Scope = (KeyScope)(int)values["scope"],
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)values["created"]),
            RevokedAt = values.TryGetValue("revoked", out var revoked)
                ? DateTimeOffset.FromUnixTimeMilliseconds((long)revoked)
                : null,
            Channels = values.TryGetValue("channels", out var channels) && !channels.IsNullOrEmpty ? (string?)channels : null,
            ExpiresAt = values.TryGetValue("expires", out var expires) && (long)expires > 0
                ? DateTimeOffset.FromUnixTimeMilliseconds((long)expires)
                : null,
        };
    }

    private sealed class Subscription(RedisRelayStore store, (string, string) key, ChannelFeed feed, IAsyncDisposable local) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync()
            => Interlocked.Exchange(ref _disposed, 1) == 0 ? store.UnsubscribeAsync(key, feed, local) : ValueTask.CompletedTask;
    }
}
