import SessionGateRedis

/// The scripts behind login, logout, the session list and throttling. Each keeps to one user's keys (one Cluster
/// slot: the keys share the user's `{tag}`), or to one throttle counter.
extension RedisSessionScripts {
    private static let clock = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"

    /// Create + index + limit, atomically. KEYS[1] session, KEYS[2] user index; ARGV user_id, user_name, roles,
    /// idle ms, absolute ms, token hash, ip, user_agent, max sessions (0: none), on_limit, session key prefix.
    /// Prunes index entries past their absolute expiry or whose session has gone (idle expiry), then applies the
    /// limit: `reject` returns {'limit'}; `evict_oldest` deletes the oldest. Returns {created_at,
    /// absolute_expires_at, expires_at, evicted}.
    static let createLimited = RedisScript(
        """
        \(clock)
        local idle = tonumber(ARGV[4])
        local abs = now + tonumber(ARGV[5])
        local max = tonumber(ARGV[9])
        local evicted = 0
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
        if max > 0 then
            local live = {}
            for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
                if redis.call('EXISTS', ARGV[11] .. h) == 1 then table.insert(live, h) else redis.call('ZREM', KEYS[2], h) end
            end
            local excess = #live - max + 1
            if excess > 0 then
                if ARGV[10] == 'reject' then return {'limit'} end
                for i = 1, excess do
                    redis.call('DEL', ARGV[11] .. live[i])
                    redis.call('ZREM', KEYS[2], live[i])
                    evicted = evicted + 1
                end
            end
        end
        redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'user_name', ARGV[2], 'roles', ARGV[3],
            'created_at', now, 'last_seen_at', now, 'absolute_expires_at', abs, 'ip', ARGV[7], 'user_agent', ARGV[8])
        redis.call('PEXPIRE', KEYS[1], math.min(idle, abs - now))
        redis.call('ZADD', KEYS[2], abs, ARGV[6])
        local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
        redis.call('PEXPIREAT', KEYS[2], last[2])
        return {string.format('%d', now), string.format('%d', abs), string.format('%d', math.min(now + idle, abs)), evicted}
        """
    )

    /// Logout. KEYS[1] session, KEYS[2] user index; ARGV[1] token hash. Returns 1 if the session existed.
    static let destroy = RedisScript(
        """
        local n = redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        return n
        """
    )

    /// Log out other devices. KEYS[1] user index; ARGV[1] session key prefix, ARGV[2] the kept token hash.
    /// Returns how many sessions still existed and were ended.
    static let destroyOthers = RedisScript(
        """
        local ended = 0
        for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
            if h ~= ARGV[2] then
                ended = ended + redis.call('DEL', ARGV[1] .. h)
                redis.call('ZREM', KEYS[1], h)
            end
        end
        return ended
        """
    )

    /// Revoke one by handle, only within this user's index. KEYS[1] user index; ARGV[1] session key prefix,
    /// ARGV[2] handle. Returns 1 when a live session was ended.
    static let revokeOne = RedisScript(
        """
        if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
        redis.call('ZREM', KEYS[1], ARGV[2])
        return redis.call('DEL', ARGV[1] .. ARGV[2])
        """
    )

    /// The session list. KEYS[1] user index; ARGV[1] session key prefix. Prunes expired entries; returns a flat
    /// array of {handle, created_at, last_seen_at, ip, user_agent, expires_at} per live session, oldest first.
    static let list = RedisScript(
        """
        \(clock)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        local out = {}
        for _, h in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
            local f = redis.call('HMGET', ARGV[1] .. h, 'created_at', 'last_seen_at', 'ip', 'user_agent')
            local ttl = redis.call('PTTL', ARGV[1] .. h)
            if f[1] and ttl > 0 then
                for _, v in ipairs({h, f[1], f[2] or f[1], f[3] or '', f[4] or '', string.format('%d', now + ttl)}) do
                    table.insert(out, v)
                end
            else
                redis.call('ZREM', KEYS[1], h)
            end
        end
        return out
        """
    )

    /// One login attempt on a throttle counter. KEYS[1] counter; ARGV[1] failures allowed, ARGV[2] window ms.
    /// The window starts at the first failure. Returns 0 when allowed, else the ms until the window ends.
    static let countAttempt = RedisScript(
        """
        local n = redis.call('INCR', KEYS[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
        if n > tonumber(ARGV[1]) then return ttl end
        return 0
        """
    )

    /// Forgets a throttle counter (the user logged in). KEYS[1] counter.
    static let resetCounter = RedisScript("return redis.call('DEL', KEYS[1])")

    /// Takes one attempt back from a throttle counter (the attempt succeeded). KEYS[1] counter.
    static let refundAttempt = RedisScript(
        """
        if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
        return 0
        """
    )
}
