import NIOConcurrencyHelpers
import NIOCore
import SessionGateRedis

/// Sessions in Redis with a near-cache (`[session] local_cache = true`): validated sessions are served from this
/// process's memory, and Redis says when they change.
///
/// Invalidations arrive on the client's ``RedisInvalidationListener`` (broadcast tracking of the key prefix, see
/// ``RedisInvalidationStateMachine``); they are fed to ``handle(_:)``. The cache is bypassed, and flushed, whenever
/// that subscription is down, so a lost invalidation can never leave a stale session in service. The races are
/// handled in ``SessionNearCache``.
///
/// The sliding refresh is debounced: a cache hit goes to Redis only when the stored expiry has fallen more than
/// `refresh_interval` behind (once in flight per session, in the background), and misses use a script that writes
/// only under the same condition, because every write invalidates every instance's copy. A hit is answered at once
/// on the caller's loop: no future, no thread hop, no Redis command.
public final class CachingSessionStore: SessionStore {
    private let client: any RedisCommandRouting
    let backing: RedisSessionStore
    let keys: RedisSessionKeys
    let cache: NIOLockedValueBox<SessionNearCache>
    private let arguments: [String]
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - client: The client whose invalidation events are passed to ``handle(_:cache:)`` (``SessionStoreFactory``
    ///     wires this).
    ///   - cache: The cache the subscription feeds.
    ///   - now: Local milliseconds since the epoch; only differences with Redis's clock are used.
    init(
        client: any RedisCommandRouting, cache: NIOLockedValueBox<SessionNearCache>, keyPrefix: String,
        idleTimeout: TimeAmount, absoluteTimeout: TimeAmount, refreshInterval: TimeAmount, replicaAcks: Int = 0,
        replicaAckTimeout: TimeAmount = .milliseconds(100),
        now: @escaping @Sendable () -> Int64 = currentTimeMillis
    ) {
        self.client = client
        self.backing = RedisSessionStore(
            client: client, keyPrefix: keyPrefix, idleTimeout: idleTimeout, absoluteTimeout: absoluteTimeout,
            replicaAcks: replicaAcks, replicaAckTimeout: replicaAckTimeout)
        self.keys = RedisSessionKeys(prefix: keyPrefix)
        self.cache = cache
        self.arguments = [String(idleTimeout.nanoseconds / 1_000_000), String(refreshInterval.nanoseconds / 1_000_000)]
        self.now = now
    }

    /// Applies one event of the invalidation subscription to a cache.
    static func handle(_ event: RedisInvalidationEvent, cache: NIOLockedValueBox<SessionNearCache>) {
        cache.withLockedValue { cache in
            switch event {
            case .active: cache.activate()
            case .inactive: cache.deactivate()
            case .invalidateAll: cache.invalidateAll()
            case .invalidate(let keys):
                for key in keys { cache.invalidate(key) }
            }
        }
    }

    /// Whether cached sessions are being served (the invalidation subscription is up).
    var isCaching: Bool { cache.withLockedValue { $0.isActive } }

    /// Whether `token`'s session would be served from memory right now (for tests).
    func isCached(_ token: SessionToken) -> Bool {
        let key = keys.session(token)
        return cache.withLockedValue { $0.isActive && $0.contains(key, now: self.now()) }
    }

    /// The Redis key of `token`'s session (for tests).
    func sessionKey(_ token: SessionToken) -> String { keys.session(token) }

    public func validate(_ token: SessionToken, on eventLoop: EventLoop) -> EventLoopFuture<SessionIdentity?> {
        let promise = eventLoop.makePromise(of: SessionIdentity?.self)
        if case .known(let identity) = validate(token, on: eventLoop, makeCallback: { { promise.completeWith($0) } }) {
            promise.succeed(identity)
        }
        return promise.futureResult
    }

    /// A hit answers at once, without a callback, a future or a Redis command (the proxy's hot path), starting its
    /// debounced refresh when one is due; a miss reads through Redis.
    public func validate(
        _ token: SessionToken, on eventLoop: EventLoop, makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        validate(token, fingerprint: TokenFingerprint(token), on: eventLoop, makeCallback: makeCallback)
    }

    /// The same, with the fingerprint taken from the connection's memo when it presented this token last time.
    public func validate(
        _ token: SessionToken, memo: SessionLookupMemo, on eventLoop: EventLoop,
        makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        validate(token, fingerprint: memo.fingerprint(of: token), on: eventLoop, makeCallback: makeCallback)
    }

    /// A cached token is found by its fingerprint (two SipHash passes, or none with a connection's memo); SHA-256
    /// and the key string are made only when Redis must be asked.
    private func validate(
        _ token: SessionToken, fingerprint: TokenFingerprint, on eventLoop: EventLoop,
        makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        let now = self.now()
        let (cachedKey, lookup) = cache.withLockedValue { cache -> (String?, SessionNearCache.Lookup) in
            cache.lookup(fingerprint: fingerprint, now: now) ?? (nil, .miss)
        }
        switch lookup {
        case .hit(let identity, let refresh):
            if refresh, let key = cachedKey {
                read(key, fingerprint: fingerprint, on: eventLoop) { _ in
                    self.cache.withLockedValue { $0.refreshFinished(key) }
                }
            }
            return .known(identity)
        case .miss:
            read(cachedKey ?? keys.session(token), fingerprint: fingerprint, on: eventLoop, then: makeCallback())
            return .pending
        }
    }

    /// Validates in Redis (refreshing if due) and offers the result to the cache.
    private func read(
        _ key: String, fingerprint: TokenFingerprint, on eventLoop: EventLoop, then: @escaping SessionLookupCallback
    ) {
        let ticket = cache.withLockedValue { $0.beginRead(key, fingerprint: fingerprint) }
        // Taken before sending, so expiries converted to local time err early, never late.
        let sentAt = now()
        client.eval(RedisSessionScripts.validateDebounced, keys: [key], arguments: arguments, on: eventLoop) { result in
            switch result {
            case .success(let reply):
                let entry = Self.entry(from: reply, localNow: sentAt)
                self.cache.withLockedValue { $0.store(entry, ticket: ticket) }
                then(.success(entry?.identity))
            case .failure(let error):
                self.cache.withLockedValue { $0.store(nil, ticket: ticket) }
                then(.failure(SessionStoreError.unavailable(String(describing: error))))
            }
        }
    }

    /// Parses the script's reply; nil for a missing session or a record SessionGate did not write.
    static func entry(from reply: RedisValue, localNow: Int64) -> SessionNearCache.Entry? {
        guard let identity = RedisSessionScripts.identity(fromValidationReply: reply, fieldCount: 6),
            let redisNow = reply.array?[5].int
        else { return nil }
        return SessionNearCache.Entry(
            identity: identity, storedExpiry: localNow + (identity.expiresAt - redisNow),
            absoluteExpiry: localNow + (identity.absoluteExpiresAt - redisNow))
    }

    /// Revokes in Redis, then evicts locally at once: Redis's invalidation reaches every instance, this one included,
    /// but may arrive just after the reply; the explicit eviction makes "revoked" hold here the moment this returns.
    public func revokeAll(userID: String) async throws -> Int {
        defer { cache.withLockedValue { $0.invalidate(userID: userID) } }
        return try await backing.revokeAll(userID: userID)
    }
}

/// The lifecycle operations go to Redis; whatever they end is also evicted here at once (Redis's invalidation
/// reaches every instance, but may arrive just after the reply).
extension CachingSessionStore {
    public func create(_ session: NewSession, device: SessionDevice, limit: SessionLimit?) async throws -> CreatedSession {
        // An evicted session must stop here too.
        defer { if limit?.action == .evictOldest { cache.withLockedValue { $0.invalidate(userID: session.userID) } } }
        return try await backing.create(session, device: device, limit: limit)
    }

    public func destroy(_ token: SessionToken, userID: String) async throws -> Bool {
        let key = keys.session(token)
        defer { cache.withLockedValue { $0.invalidate(key) } }
        return try await backing.destroy(token, userID: userID)
    }

    public func destroyOthers(userID: String, except kept: SessionToken) async throws -> Int {
        defer { cache.withLockedValue { $0.invalidate(userID: userID) } }
        return try await backing.destroyOthers(userID: userID, except: kept)
    }

    public func list(userID: String) async throws -> [SessionSummary] {
        try await backing.list(userID: userID)
    }

    public func revoke(handle: String, userID: String) async throws -> Bool {
        defer { cache.withLockedValue { $0.invalidate(userID: userID) } }
        return try await backing.revoke(handle: handle, userID: userID)
    }

    public func countLoginAttempt(_ counters: [LoginCounter]) async throws -> Int64? {
        try await backing.countLoginAttempt(counters)
    }

    public func loginSucceeded(resetting: String, refunding: String) async throws {
        try await backing.loginSucceeded(resetting: resetting, refunding: refunding)
    }
}
