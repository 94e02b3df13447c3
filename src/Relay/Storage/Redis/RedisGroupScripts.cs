namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// The Lua scripts of queue groups. Each runs atomically in Redis, so members connected to different
/// relays never hold the same event at once. Per group (keys under the workspace's hash tag):
/// <code>
/// g:&lt;channel&gt;/&lt;group&gt;    hash  "cursor" → last seq handed out for the first time;
///                               "&lt;seq&gt;" → "deliveries:member" of each unacknowledged claim
/// gd:&lt;channel&gt;/&lt;group&gt;   zset  claimed seq → ack deadline (unix ms; 0 = released)
/// </code>
/// ('/' cannot occur in channel or group names.) Both keys expire after the group has been idle — no
/// join, claim, ack or release — for <see cref="RedisRelayStore"/>'s group idle time; a live member claims
/// every half second, so only groups nobody has served for that long go.
/// </summary>
internal static class RedisGroupScripts
{
    /// <summary>
    /// Creates the group when it does not exist yet: at the channel's current last seq, or at
    /// <c>since</c> when that is given (0 or more) and lower.
    /// </summary>
    private const string EnsureFunction = """
        local function ensure(group, counter, since)
          local cursor = redis.call('HGET', group, 'cursor')
          if cursor then return cursor end
          cursor = redis.call('GET', counter) or '0'
          local from = tonumber(since or '-1')
          if from and from >= 0 and from < tonumber(cursor) then cursor = tostring(from) end
          redis.call('HSET', group, 'cursor', cursor)
          return cursor
        end

        local function touch(group, claims, idle)
          redis.call('PEXPIRE', group, idle)
          redis.call('PEXPIRE', claims, idle)
        end

        """;

    /// <summary>KEYS: group, claims, channel seq counter. ARGV: idle time (ms), since (-1: the channel's end).</summary>
    public const string Join = EnsureFunction + """
        ensure(KEYS[1], KEYS[3], ARGV[2])
        touch(KEYS[1], KEYS[2], ARGV[1])
        return 1
        """;

    /// <summary>
    /// Hands one event to a member: the lowest-seq claim whose deadline has passed (a redelivery;
    /// deliveries + 1), else the first retained event after the cursor (which moves there). Expired claims
    /// whose event retention has removed are dropped. A group that is missing (expired, or Redis lost its
    /// data) is created again at the channel's end.
    /// KEYS: group, claims, channel events, channel seq counter. ARGV: member, now (ms), deadline (ms), idle time (ms).
    /// Returns nil, or {seq, deliveries, stored event}.
    /// </summary>
    public const string Claim = EnsureFunction + """
        local group, claims, events = KEYS[1], KEYS[2], KEYS[3]
        local member, idle = ARGV[1], ARGV[4]
        local cursor = ensure(group, KEYS[4])

        local expired = redis.call('ZRANGEBYSCORE', claims, '-inf', ARGV[2])
        local seq, event, deliveries
        if #expired > 0 then
          local oldest = redis.call('ZRANGE', events, 0, 0, 'WITHSCORES')
          local first = oldest[2] and tonumber(oldest[2]) or math.huge
          local seqs = {}
          for i, s in ipairs(expired) do seqs[i] = tonumber(s) end
          table.sort(seqs)
          for _, s in ipairs(seqs) do
            local found = nil
            if not seq and s >= first then found = redis.call('ZRANGEBYSCORE', events, s, s)[1] end
            if found then
              seq, event = s, found
            elseif s < first or not seq then
              redis.call('ZREM', claims, tostring(s))
              redis.call('HDEL', group, tostring(s))
            end
          end
        end

        if seq then
          local entry = redis.call('HGET', group, tostring(seq))
          deliveries = (entry and tonumber(string.match(entry, '^(%d+):')) or 0) + 1
        else
          event = redis.call('ZRANGEBYSCORE', events, '(' .. cursor, '+inf', 'LIMIT', 0, 1)[1]
          if not event then
            touch(group, claims, idle)
            return nil
          end
          seq = tonumber(string.match(event, '^(%d+):'))
          deliveries = 1
          redis.call('HSET', group, 'cursor', tostring(seq))
        end

        redis.call('HSET', group, tostring(seq), deliveries .. ':' .. member)
        redis.call('ZADD', claims, ARGV[3], tostring(seq))
        touch(group, claims, idle)
        return {seq, deliveries, event}
        """;

    /// <summary>KEYS: group, claims. ARGV: member, seq, idle time (ms). Returns 1 when the claim was the member's.</summary>
    public const string Ack = EnsureFunction + """
        local entry = redis.call('HGET', KEYS[1], ARGV[2])
        if not entry or string.match(entry, '^%d+:(.*)$') ~= ARGV[1] then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[2])
        redis.call('ZREM', KEYS[2], ARGV[2])
        touch(KEYS[1], KEYS[2], ARGV[3])
        return 1
        """;

    /// <summary>KEYS: group, claims. ARGV: member, idle time (ms). Sets the member's claims' deadline to 0.</summary>
    public const string Release = EnsureFunction + """
        local fields = redis.call('HGETALL', KEYS[1])
        local released = 0
        for i = 1, #fields, 2 do
          if fields[i] ~= 'cursor' and string.match(fields[i + 1], '^%d+:(.*)$') == ARGV[1] then
            redis.call('ZADD', KEYS[2], 'XX', 0, fields[i])
            released = released + 1
          end
        end
        if #fields > 0 then touch(KEYS[1], KEYS[2], ARGV[2]) end
        return released
        """;
}
