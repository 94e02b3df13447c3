namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// The Lua scripts of the Redis engine. Each runs atomically; all keys of one call share the workspace's
/// hash tag (keys derived inside a script from the workspace prefix stay in that slot too).
/// </summary>
internal static class RedisScripts
{
    /// <summary>Drops the oldest events (member "seq:ts:json") while their ts is at or before the cutoff.</summary>
    private const string TrimByAgeFunction = """
        local function trimByAge(key, cutoff)
          while true do
            local oldest = redis.call('ZRANGE', key, 0, 99)
            local old = 0
            for _, member in ipairs(oldest) do
              local ts = tonumber(string.match(member, '^%d+:(%d+):'))
              if ts > cutoff then break end
              old = old + 1
            end
            if old > 0 then redis.call('ZREMRANGEBYRANK', key, 0, old - 1) end
            if old < 100 then return end
          end
        end

        """;

    /// <summary>Removes what is left of one payload from the workspace's indexes; returns the bytes it freed.</summary>
    private const string ForgetFunction = """
        local function forget(expiries, sizes, prefix, id)
          redis.call('ZREM', expiries, id)
          local entry = redis.call('HGET', sizes, id)
          if not entry then return 0 end
          local size, chunks = string.match(entry, '^(%d+):(%d+)$')
          for i = 0, tonumber(chunks) - 1 do redis.call('UNLINK', prefix .. 'c:' .. id .. ':' .. i) end
          redis.call('HDEL', sizes, id)
          return tonumber(size)
        end

        """;

    /// <summary>
    /// Publishes a payload whose chunks were written before it (on the same connection, so Redis ran them
    /// first): the record (with its native expiry), the expiry index entry and the usage counter, in one step.
    /// Fails, storing nothing, when a chunk is missing (its write failed).
    /// KEYS: record, expiry index, sizes, bytes. ARGV: id, expires (unix ms), size, chunks, workspace key prefix,
    /// field/value pairs….
    /// </summary>
    public static readonly string SavePayload = SaveRecord.Replace("{FIELDS}", "6", StringComparison.Ordinal) + "return 1\n";

    /// <summary>
    /// <see cref="SavePayload"/> and <see cref="AppendEvent"/> of the payload's push event in one atomic step: a
    /// payload on a channel is never stored without its event, nor its event without it.
    /// KEYS: record, expiry index, sizes, bytes, seq counter, events. ARGV: id, expires, size, chunks, workspace key
    /// prefix, event json, max events, max age (ms), field/value pairs…. Returns {seq, ts}.
    /// </summary>
    public static readonly string SavePayloadWithEvent = TrimByAgeFunction
        + SaveRecord.Replace("{FIELDS}", "9", StringComparison.Ordinal)
        + AppendRecordAt(seqKey: 5, bodyArg: 6);

    private const string SaveRecord = """
        for i = 0, tonumber(ARGV[4]) - 1 do
          if redis.call('EXISTS', ARGV[5] .. 'c:' .. ARGV[1] .. ':' .. i) == 0 then
            return redis.error_reply('ERR chunk ' .. i .. ' of payload ' .. ARGV[1] .. ' is missing: nothing was stored')
          end
        end
        local previous = redis.call('HGET', KEYS[3], ARGV[1])
        local delta = tonumber(ARGV[3])
        if previous then delta = delta - tonumber(string.match(previous, '^(%d+):')) end
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], unpack(ARGV, {FIELDS}))
        redis.call('PEXPIREAT', KEYS[1], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
        redis.call('HSET', KEYS[3], ARGV[1], ARGV[3] .. ':' .. ARGV[4])
        redis.call('INCRBY', KEYS[4], delta)

        """;

    /// <summary>
    /// Deletes a payload: record first, then its chunks and index entries. Returns 1 when the record existed.
    /// KEYS: record, expiry index, sizes, bytes. ARGV: id, workspace key prefix.
    /// </summary>
    public const string DeletePayload = ForgetFunction + """
        local existed = redis.call('UNLINK', KEYS[1])
        local freed = forget(KEYS[2], KEYS[3], ARGV[2], ARGV[1])
        if freed > 0 then redis.call('DECRBY', KEYS[4], freed) end
        return existed
        """;

    /// <summary>
    /// Forgets up to a batch of payloads that expired at or before now (whether or not Redis has expired the
    /// record already), subtracting their bytes from the usage counter. Returns how many went.
    /// KEYS: expiry index, sizes, bytes. ARGV: now (unix ms), batch, workspace key prefix.
    /// </summary>
    public const string ReapExpired = ForgetFunction + """
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        local freed = 0
        for _, id in ipairs(ids) do
          redis.call('UNLINK', ARGV[3] .. 'p:' .. id)
          freed = freed + forget(KEYS[1], KEYS[2], ARGV[3], id)
        end
        if freed > 0 then redis.call('DECRBY', KEYS[3], freed) end
        return #ids
        """;

    /// <summary>
    /// Appends an event: next seq, the server's time, the retained set, trimming by the retention last seen
    /// by a sweep (0 = not known yet), and the live PUBLISH, all in one atomic step so seq order is publish order.
    /// The events key expires max-age after the last append: a quiet channel's events all age out by themselves.
    /// KEYS: seq counter, events (also the pub/sub channel). ARGV: event json, max events, max age (ms). Returns {seq, ts}.
    /// </summary>
    public static readonly string AppendEvent = TrimByAgeFunction
        + AppendRecordAt(seqKey: 1, bodyArg: 1);

    /// <summary>The append with its KEYS (seq counter, then events) and ARGV (event json, max events, max age) at the given positions.</summary>
    private static string AppendRecordAt(int seqKey, int bodyArg) => AppendRecord
        .Replace("{SEQ}", $"{seqKey}", StringComparison.Ordinal)
        .Replace("{EVENTS}", $"{seqKey + 1}", StringComparison.Ordinal)
        .Replace("{BODY}", $"{bodyArg}", StringComparison.Ordinal)
        .Replace("{MAX_EVENTS}", $"{bodyArg + 1}", StringComparison.Ordinal)
        .Replace("{MAX_AGE}", $"{bodyArg + 2}", StringComparison.Ordinal);

    private const string AppendRecord = """
        local seq = redis.call('INCR', KEYS[{SEQ}])
        local time = redis.call('TIME')
        local ts = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local member = string.format('%d:%d:', seq, ts) .. ARGV[{BODY}]
        redis.call('ZADD', KEYS[{EVENTS}], seq, member)
        local maxEvents = tonumber(ARGV[{MAX_EVENTS}])
        if maxEvents > 0 then redis.call('ZREMRANGEBYRANK', KEYS[{EVENTS}], 0, -maxEvents - 1) end
        local maxAge = tonumber(ARGV[{MAX_AGE}])
        if maxAge > 0 then
          trimByAge(KEYS[{EVENTS}], ts - maxAge)
          redis.call('PEXPIRE', KEYS[{EVENTS}], maxAge)
        end
        redis.call('PUBLISH', KEYS[{EVENTS}], member)
        return {seq, ts}
        """;

    /// <summary>
    /// Trims a channel's retained events by count and age. KEYS: events. ARGV: max events, cutoff (unix ms).
    /// Returns how many events remain.
    /// </summary>
    public const string TrimEvents = TrimByAgeFunction + """
        redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[1]) - 1)
        trimByAge(KEYS[1], tonumber(ARGV[2]))
        return redis.call('ZCARD', KEYS[1])
        """;

    /// <summary>KEYS: key record, key ids. ARGV: id, hash hex, field/value pairs…. Fails when the id or hash exists.</summary>
    public const string CreateKey = """
        if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
          return redis.error_reply('ERR an API key with this id or hash exists already')
        end
        redis.call('HSET', KEYS[1], unpack(ARGV, 3))
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
        return 1
        """;

    /// <summary>
    /// KEYS: key ids, access revision. ARGV: id, now (unix ms), key record prefix. Keeps the first
    /// revocation time; bumps the revision so every relay drops its cached keys.
    /// </summary>
    public const string RevokeKey = """
        local hex = redis.call('HGET', KEYS[1], ARGV[1])
        if not hex or redis.call('EXISTS', ARGV[3] .. hex) == 0 then return 0 end
        if redis.call('HSETNX', ARGV[3] .. hex, 'revoked', ARGV[2]) == 1 then redis.call('INCR', KEYS[2]) end
        return 1
        """;

    /// <summary>
    /// KEYS: the period's counters of the workspace, the period's workspace set. ARGV: meter, limit,
    /// lifetime (ms), workspace. Adds one unless the count has reached the limit; returns {allowed, count}.
    /// </summary>
    public const string ConsumeUsage = """
        local count = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
        if count >= tonumber(ARGV[2]) then return {0, count} end
        count = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        redis.call('SADD', KEYS[2], ARGV[4])
        if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
        return {1, count}
        """;

    /// <summary>Same keys and ARGV as <see cref="ConsumeUsage"/> with an amount for the limit; never below zero.</summary>
    public const string AddUsage = """
        local count = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
        if count < 0 then redis.call('HSET', KEYS[1], ARGV[1], 0) end
        if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        redis.call('SADD', KEYS[2], ARGV[4])
        if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
        return 1
        """;
}
