namespace CtxRelay.Relay.Storage.Redis;

/// <summary>
/// The Lua scripts of queue groups. Each runs atomically in Redis, so members connected to different
/// relays never hold the same event at once. Per group (keys under the workspace's hash tag):
/// <code>
/// g:&lt;channel&gt;/&lt;group&gt;    hash  "cursor" → last seq handed out for the first time;
///                               "&lt;seq&gt;" → "deliveries:member" of each unacknowledged claim
/// gd:&lt;channel&gt;/&lt;group&gt;   zset  claimed seq → ack deadline (unix ms; 0 = released)
/// gm:&lt;channel&gt;/&lt;group&gt;   hash  member → "connected:until" (unix ms) of each connected member
/// gi:&lt;channel&gt;           set   the channel's group names (entries of forgotten groups go when listed)
/// </code>
/// ('/' cannot occur in channel or group names.) The keys expire after the group has been idle — no
/// join, claim, ack, release or member refresh — for <see cref="RedisRelayStore"/>'s group idle time; a
/// live member claims every half second, so only groups nobody has served for that long go. Every script
/// takes the keys in the order group, claims, members, index (then its own).
/// </summary>
internal static class RedisGroupScripts
{
    /// <summary>
    /// Creates the group when it does not exist yet: at the channel's current last seq, or at
    /// <c>since</c> when that is given (0 or more) and lower; a new group enters the channel's index.
    /// </summary>
    private const string EnsureFunction = """
        local function ensure(group, counter, since, index, name)
          local cursor = redis.call('HGET', group, 'cursor')
          if cursor then return cursor end
          cursor = redis.call('GET', counter) or '0'
          local from = tonumber(since or '-1')
          if from and from >= 0 and from < tonumber(cursor) then cursor = tostring(from) end
          redis.call('HSET', group, 'cursor', cursor)
          redis.call('SADD', index, name)
          return cursor
        end

        local function touch(idle)
          for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], idle) end
        end

        """;

    /// <summary>KEYS: group, claims, members, index, channel seq counter. ARGV: idle time (ms), since (-1: the channel's end), group name.</summary>
    public const string Join = EnsureFunction + """
        ensure(KEYS[1], KEYS[5], ARGV[2], KEYS[4], ARGV[3])
        touch(ARGV[1])
        return 1
        """;

    /// <summary>
    /// Hands one event to a member: the lowest-seq claim whose deadline has passed (a redelivery;
    /// deliveries + 1), else the first retained event after the cursor (which moves there). Expired claims
    /// whose event retention has removed are dropped. A group that is missing (expired, or Redis lost its
    /// data) is created again at the channel's end.
    /// KEYS: group, claims, members, index, channel events, channel seq counter. ARGV: member, now (ms),
    /// deadline (ms), idle time (ms), group name. Returns nil, or {seq, deliveries, stored event}.
    /// </summary>
    public const string Claim = EnsureFunction + """
        local group, claims, events = KEYS[1], KEYS[2], KEYS[5]
        local member, idle = ARGV[1], ARGV[4]
        local cursor = ensure(group, KEYS[6], nil, KEYS[4], ARGV[5])

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
            touch(idle)
            return nil
          end
          seq = tonumber(string.match(event, '^(%d+):'))
          deliveries = 1
          redis.call('HSET', group, 'cursor', tostring(seq))
        end

        redis.call('HSET', group, tostring(seq), deliveries .. ':' .. member)
        redis.call('ZADD', claims, ARGV[3], tostring(seq))
        touch(idle)
        return {seq, deliveries, event}
        """;

    /// <summary>KEYS: group, claims, members, index. ARGV: member, seq, idle time (ms). Returns 1 when the claim was the member's.</summary>
    public const string Ack = EnsureFunction + """
        local entry = redis.call('HGET', KEYS[1], ARGV[2])
        if not entry or string.match(entry, '^%d+:(.*)$') ~= ARGV[1] then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[2])
        redis.call('ZREM', KEYS[2], ARGV[2])
        touch(ARGV[3])
        return 1
        """;

    /// <summary>
    /// KEYS: group, claims, members, index. ARGV: member, idle time (ms). Sets the member's claims' deadline
    /// to 0 and removes it from the connected members.
    /// </summary>
    public const string Release = EnsureFunction + """
        redis.call('HDEL', KEYS[3], ARGV[1])
        local fields = redis.call('HGETALL', KEYS[1])
        local released = 0
        for i = 1, #fields, 2 do
          if fields[i] ~= 'cursor' and string.match(fields[i + 1], '^%d+:(.*)$') == ARGV[1] then
            redis.call('ZADD', KEYS[2], 'XX', 0, fields[i])
            released = released + 1
          end
        end
        if #fields > 0 then touch(ARGV[2]) end
        return released
        """;

    /// <summary>
    /// Records a connected member until a time, keeping when it first connected (creating the group at the
    /// channel's end when missing).
    /// KEYS: group, claims, members, index, channel seq counter. ARGV: idle time (ms), member, connected (ms), until (ms), group name.
    /// </summary>
    public const string SeeMember = EnsureFunction + """
        ensure(KEYS[1], KEYS[5], nil, KEYS[4], ARGV[5])
        local seen = redis.call('HGET', KEYS[3], ARGV[2])
        local connected = seen and string.match(seen, '^(%d+):') or ARGV[3]
        redis.call('HSET', KEYS[3], ARGV[2], connected .. ':' .. ARGV[4])
        touch(ARGV[1])
        return 1
        """;

    /// <summary>
    /// The channel's groups: drops index entries of groups that expired and members not seen until after now.
    /// KEYS: index, channel events. ARGV: workspace key prefix, channel, now (ms).
    /// Returns per group {name, cursor, backlog, {seq, "deliveries:member", deadline, …}, {member, "connected:until", …}}.
    /// </summary>
    public const string List = """
        local base = ARGV[1]
        local now = tonumber(ARGV[3])
        local result = {}
        for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local suffix = ARGV[2] .. '/' .. name
          local group = base .. 'g:' .. suffix
          local cursor = redis.call('HGET', group, 'cursor')
          if not cursor then
            redis.call('SREM', KEYS[1], name)
          else
            local backlog = redis.call('ZCOUNT', KEYS[2], '(' .. cursor, '+inf')
            local claims = {}
            local fields = redis.call('HGETALL', group)
            for i = 1, #fields, 2 do
              if fields[i] ~= 'cursor' then
                local deadline = redis.call('ZSCORE', base .. 'gd:' .. suffix, fields[i]) or '0'
                table.insert(claims, fields[i])
                table.insert(claims, fields[i + 1])
                table.insert(claims, deadline)
              end
            end
            local members = {}
            local membersKey = base .. 'gm:' .. suffix
            local seen = redis.call('HGETALL', membersKey)
            for i = 1, #seen, 2 do
              local untilMs = tonumber(string.match(seen[i + 1], ':(%d+)$'))
              if untilMs and untilMs > now then
                table.insert(members, seen[i])
                table.insert(members, seen[i + 1])
              else
                redis.call('HDEL', membersKey, seen[i])
              end
            end
            table.insert(result, {name, cursor, tostring(backlog), claims, members})
          end
        end
        return result
        """;
}
