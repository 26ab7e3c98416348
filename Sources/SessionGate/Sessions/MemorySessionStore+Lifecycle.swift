/// Login, logout, the session list and throttling in memory, with the Redis store's semantics: each operation
/// runs under the one lock, so it is atomic like a script.
extension MemorySessionStore {
    public func create(_ session: NewSession, device: SessionDevice, limit: SessionLimit?) async throws -> CreatedSession {
        let token = SessionToken.generate(tag: SessionToken.tag(forUser: session.userID))
        let now = self.now()
        let absolute = now + absoluteTimeoutMs
        let identity = SessionIdentity(
            userID: session.userID, userName: session.userName, roles: session.roles,
            expiresAt: min(now + idleTimeoutMs, absolute), absoluteExpiresAt: absolute)
        let record = Record(identity: identity, createdAt: now, lastSeenAt: now, device: device)
        let admitted: Bool = records.withLockedValue { records in
            Self.prune(&records, now: now)
            if let limit, limit.maxSessions > 0 {
                let live = records.filter { $0.value.userID == session.userID }.sorted { $0.value.createdAt < $1.value.createdAt }
                let excess = live.count - limit.maxSessions + 1
                if excess > 0 {
                    if limit.action == .reject { return false }
                    for (key, _) in live.prefix(excess) { records[key] = nil }
                }
            }
            records[token.hashHex] = record
            return true
        }
        guard admitted else { throw SessionLimitReached() }
        return CreatedSession(token: token, identity: identity)
    }

    public func destroy(_ token: SessionToken, userID: String) async throws -> Bool {
        records.withLockedValue { records in
            guard records[token.hashHex]?.userID == userID else { return false }
            records[token.hashHex] = nil
            return true
        }
    }

    public func destroyOthers(userID: String, except kept: SessionToken) async throws -> Int {
        let now = self.now()
        return records.withLockedValue { records in
            Self.prune(&records, now: now)
            let keys = records.filter { $0.value.userID == userID && $0.key != kept.hashHex }.map(\.key)
            for key in keys { records[key] = nil }
            return keys.count
        }
    }

    public func list(userID: String) async throws -> [SessionSummary] {
        let now = self.now()
        return records.withLockedValue { records in
            Self.prune(&records, now: now)
            return records.filter { $0.value.userID == userID }
                .sorted { $0.value.createdAt < $1.value.createdAt }
                .map { key, record in
                    SessionSummary(
                        handle: key, createdAt: record.createdAt, lastSeenAt: record.lastSeenAt,
                        expiresAt: record.identity.expiresAt, clientAddress: record.device.clientAddress,
                        userAgent: record.device.userAgent)
                }
        }
    }

    public func revoke(handle: String, userID: String) async throws -> Bool {
        let now = self.now()
        return records.withLockedValue { records in
            Self.prune(&records, now: now)
            guard records[handle]?.userID == userID else { return false }
            records[handle] = nil
            return true
        }
    }

    public func countLoginAttempt(_ counters: [LoginCounter]) async throws -> Int64? {
        let now = self.now()
        return loginCounters.withLockedValue { table in
            var longest: Int64 = 0
            for counter in counters {
                var entry: (count: Int, windowEnd: Int64) = (0, now + counter.windowMs)
                if let existing = table[counter.key], existing.windowEnd > now { entry = existing }
                entry.count += 1
                table[counter.key] = entry
                if entry.count > counter.limit { longest = max(longest, entry.windowEnd - now) }
            }
            return longest > 0 ? longest : nil
        }
    }

    public func loginSucceeded(resetting: String, refunding: String) async throws {
        loginCounters.withLockedValue { table in
            table[resetting] = nil
            if let entry = table[refunding], entry.count > 0 { table[refunding] = (entry.count - 1, entry.windowEnd) }
        }
    }

    /// Drops sessions past their sliding or absolute expiry (what Redis's TTLs and the scripts' pruning do).
    private static func prune(_ records: inout [String: Record], now: Int64) {
        for (key, record) in records where now >= record.identity.expiresAt || now >= record.identity.absoluteExpiresAt {
            records[key] = nil
        }
    }
}
