import SessionGateRedis

/// The Lua scripts that read and change sessions, each one atomic and one round trip.
///
/// Times come from the Redis server's own clock (`TIME`), so every SessionGate instance agrees on expiry.
/// Session hash fields: `user_id`, `user_name`, `roles` (comma-separated), `created_at`, `last_seen_at`,
/// `absolute_expires_at` (all times in milliseconds since the epoch), `ip`, `user_agent` (the device that logged in).
///
/// Scripts marked idempotent may be retried by a Sentinel client on a new master after their connection died
/// mid-flight: running them twice leaves the same state. The lifecycle scripts (create with its limits, logout,
/// logout-others) are not marked, so they are never retried blindly.
enum RedisSessionScripts {
    private static let now = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"

    /// Shared start of both validation scripts: reads the session in KEYS[1], returns nil when it is missing, deletes it
    /// and returns nil past its absolute expiry, and sets `s` (the fields), `now`, `abs` and `ttl` (the sliding expiry
    /// a use now earns, ARGV[1] being the idle timeout in ms, capped by the absolute expiry).
    private static let readLiveSession = """
        local s = redis.call('HMGET', KEYS[1], 'user_id', 'user_name', 'roles', 'absolute_expires_at')
        if not s[1] then return false end
        \(now)
        local abs = tonumber(s[4])
        if not abs or now >= abs then redis.call('DEL', KEYS[1]); return false end
        local ttl = math.min(tonumber(ARGV[1]), abs - now)
        """

    /// The identity in a validation script's reply: its first five fields are
    /// {user_id, user_name, roles, absolute_expires_at, expires_at}. Nil for a missing session, or for a record
    /// SessionGate did not write (refused rather than guessed at).
    static func identity(fromValidationReply reply: RedisValue, fieldCount: Int) -> SessionIdentity? {
        guard let fields = reply.array, fields.count == fieldCount, let userID = fields[0].string,
            let absolute = fields[3].int, let expires = fields[4].int
        else { return nil }
        let userName = fields[1].string ?? ""
        let roles = fields[2].string ?? ""
        // Values become header values upstream: a record that could split a header (written to Redis by something
        // other than SessionGate) is treated as no session at all.
        guard SessionIdentity.isHeaderSafe(userID), SessionIdentity.isHeaderSafe(userName),
            SessionIdentity.isHeaderSafe(roles)
        else { return nil }
        return SessionIdentity(
            userID: userID, userName: userName,
            roles: roles.isEmpty ? [] : roles.utf8.split(separator: UInt8(ascii: ",")).map { String(Substring($0)) },
            expiresAt: expires, absoluteExpiresAt: absolute)
    }

    /// KEYS[1] session, ARGV[1] idle timeout (ms). Returns nil, or
    /// {user_id, user_name, roles, absolute_expires_at, expires_at}.
    static let validate = RedisScript(
        """
        \(readLiveSession)
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('HSET', KEYS[1], 'last_seen_at', now)
        return {s[1], s[2], s[3], s[4], string.format('%d', now + ttl)}
        """,
        idempotent: true
    )

    /// ``validate`` for several sessions in one call, each treated exactly as ``validate`` treats one, at one Redis
    /// time: the validations a proxy thread is asked for in one event-loop tick share a script call (see
    /// ``RedisSessionStore``).
    ///
    /// KEYS: session keys (repeats allowed), ARGV[1] idle timeout (ms). Returns one entry per key, in order: nil, or
    /// {user_id, user_name, roles, absolute_expires_at, expires_at}.
    static let validateEach = RedisScript(
        """
        \(now)
        local out = {}
        for i, key in ipairs(KEYS) do
            local s = redis.call('HMGET', key, 'user_id', 'user_name', 'roles', 'absolute_expires_at')
            local abs = tonumber(s[4])
            if not s[1] then
                out[i] = false
            elseif not abs or now >= abs then
                redis.call('DEL', key)
                out[i] = false
            else
                local ttl = math.min(tonumber(ARGV[1]), abs - now)
                redis.call('PEXPIRE', key, ttl)
                redis.call('HSET', key, 'last_seen_at', now)
                out[i] = {s[1], s[2], s[3], s[4], string.format('%d', now + ttl)}
            end
        end
        return out
        """,
        idempotent: true
    )

    /// The near-cache's validation: like ``validate``, but writes only when the stored expiry has fallen more than
    /// the refresh interval behind, because every write invalidates every instance's cached copy.
    ///
    /// KEYS[1] session, ARGV[1] idle timeout (ms), ARGV[2] refresh interval (ms). Returns nil, or
    /// {user_id, user_name, roles, absolute_expires_at, expires_at, now} (`now` is Redis's clock, so the caller can
    /// convert the expiries to its own clock). `last_seen_at` moves only on a refresh, so it is exact to within the
    /// refresh interval.
    static let validateDebounced = RedisScript(
        """
        \(readLiveSession)
        local left = redis.call('PTTL', KEYS[1])
        if left < 0 or ttl - left > tonumber(ARGV[2]) then
            redis.call('PEXPIRE', KEYS[1], ttl)
            redis.call('HSET', KEYS[1], 'last_seen_at', now)
            left = ttl
        end
        return {s[1], s[2], s[3], s[4], string.format('%d', now + left), string.format('%d', now)}
        """,
        idempotent: true
    )

    /// `read_from_replicas`: the read-only check a replica can run (it writes nothing, not even the deletion past the
    /// absolute expiry, which it leaves to the master).
    ///
    /// KEYS[1] session, ARGV[1] idle timeout (ms), ARGV[2] refresh interval (ms). Returns nil (missing or past its
    /// absolute expiry: ask the master), or {user_id, user_name, roles, absolute_expires_at, expires_at, due}, `due`
    /// being 1 when the stored expiry has fallen more than the refresh interval behind (refresh on the master).
    static let validateOnReplica = RedisScript(
        """
        #!lua flags=no-writes
        local s = redis.call('HMGET', KEYS[1], 'user_id', 'user_name', 'roles', 'absolute_expires_at')
        if not s[1] then return false end
        \(now)
        local abs = tonumber(s[4])
        if not abs or now >= abs then return false end
        local ttl = math.min(tonumber(ARGV[1]), abs - now)
        local left = redis.call('PTTL', KEYS[1])
        local due = 0
        if left < 0 or ttl - left > tonumber(ARGV[2]) then due = 1 end
        return {s[1], s[2], s[3], s[4], string.format('%d', now + left), due}
        """,
        idempotent: true
    )

    /// KEYS[1] user index; ARGV[1] the user's session key prefix. Deletes every session of the user and the index.
    /// Returns how many sessions still existed.
    static let revokeAll = RedisScript(
        """
        local members = redis.call('ZRANGE', KEYS[1], 0, -1)
        local ended = 0
        for _, hash in ipairs(members) do ended = ended + redis.call('DEL', ARGV[1] .. hash) end
        redis.call('DEL', KEYS[1])
        return ended
        """,
        idempotent: true
    )
}
