import SessionGateRedis

extension RedisSessionKeys {
    /// A failed-login counter: `<prefix>throttle:<key>` (a plain string with a TTL; one key per script, so any slot).
    func throttle(_ key: String) -> String { "\(prefix)throttle:\(key)" }
}

/// Login, logout, the session list and throttling in Redis: each operation one script, one round trip.
extension RedisSessionStore {
    public func create(_ session: NewSession, device: SessionDevice, limit: SessionLimit?) async throws -> CreatedSession {
        let token = SessionToken.generate(tag: SessionToken.tag(forUser: session.userID))
        let tag = SessionToken.tag(forUser: session.userID)
        let reply = try await run(
            durably: true,
            RedisSessionScripts.createLimited,
            keys: [keys.session(token), keys.userIndex(userID: session.userID)],
            arguments: [
                session.userID, session.userName, session.roles.joined(separator: ","), idleTimeoutMs, absoluteTimeoutMs,
                token.hashHex, device.clientAddress, device.userAgent, String(limit?.maxSessions ?? 0),
                limit?.action.rawValue ?? "", keys.sessionPrefix(tag: tag),
            ])
        if reply.array?.first?.string == "limit" { throw SessionLimitReached() }
        guard let fields = reply.array, fields.count == 4, let absolute = fields[1].int, let expires = fields[2].int else {
            throw SessionStoreError.unavailable("unexpected reply to the create script: \(reply)")
        }
        let identity = SessionIdentity(
            userID: session.userID, userName: session.userName, roles: session.roles,
            expiresAt: expires, absoluteExpiresAt: absolute)
        return CreatedSession(token: token, identity: identity)
    }

    public func destroy(_ token: SessionToken, userID: String) async throws -> Bool {
        let reply = try await run(
            durably: true,
            RedisSessionScripts.destroy, keys: [keys.session(token), keys.userIndex(userID: userID)],
            arguments: [token.hashHex])
        return reply.int == 1
    }

    public func destroyOthers(userID: String, except kept: SessionToken) async throws -> Int {
        let reply = try await run(
            durably: true,
            RedisSessionScripts.destroyOthers, keys: [keys.userIndex(userID: userID)],
            arguments: [keys.sessionPrefix(tag: SessionToken.tag(forUser: userID)), kept.hashHex])
        return Int(reply.int ?? 0)
    }

    public func list(userID: String) async throws -> [SessionSummary] {
        let reply = try await run(
            RedisSessionScripts.list, keys: [keys.userIndex(userID: userID)],
            arguments: [keys.sessionPrefix(tag: SessionToken.tag(forUser: userID))])
        let flat = reply.array ?? []
        var summaries: [SessionSummary] = []
        var index = 0
        while index + 6 <= flat.count {
            let f = flat[index..<index + 6].map { $0.string ?? "" }
            summaries.append(SessionSummary(
                handle: f[0], createdAt: Int64(f[1]) ?? 0, lastSeenAt: Int64(f[2]) ?? 0, expiresAt: Int64(f[5]) ?? 0,
                clientAddress: f[3], userAgent: f[4]))
            index += 6
        }
        return summaries
    }

    public func revoke(handle: String, userID: String) async throws -> Bool {
        let reply = try await run(
            durably: true,
            RedisSessionScripts.revokeOne, keys: [keys.userIndex(userID: userID)],
            arguments: [keys.sessionPrefix(tag: SessionToken.tag(forUser: userID)), handle])
        return reply.int == 1
    }

    public func countLoginAttempt(_ counters: [LoginCounter]) async throws -> Int64? {
        var waits: [Int64] = []
        // One script per counter (each its own key, so any Cluster slot), sent together: pipelined.
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for counter in counters {
                group.addTask {
                    let reply = try await self.run(
                        RedisSessionScripts.countAttempt, keys: [self.keys.throttle(counter.key)],
                        arguments: [String(counter.limit), String(counter.windowMs)])
                    return reply.int ?? 0
                }
            }
            for try await wait in group { waits.append(wait) }
        }
        let longest = waits.max() ?? 0
        return longest > 0 ? longest : nil
    }

    public func loginSucceeded(resetting: String, refunding: String) async throws {
        async let reset = run(RedisSessionScripts.resetCounter, keys: [keys.throttle(resetting)], arguments: [])
        async let refund = run(RedisSessionScripts.refundAttempt, keys: [keys.throttle(refunding)], arguments: [])
        _ = try await (reset, refund)
    }

    /// Runs a script; any failure means the store cannot answer (fail closed). `durably`: a write that creates or ends
    /// sessions, acknowledged by `min_replicas_ack` replicas when configured (``evalDurably(_:keys:arguments:)``).
    private func run(durably: Bool = false, _ script: RedisScript, keys: [String], arguments: [String]) async throws -> RedisValue {
        do {
            if durably { return try await evalDurably(script, keys: keys, arguments: arguments) }
            return try await client.eval(script, keys: keys, arguments: arguments)
        } catch {
            throw SessionStoreError.unavailable(String(describing: error))
        }
    }
}
