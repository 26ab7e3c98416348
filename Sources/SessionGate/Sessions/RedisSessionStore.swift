import NIOCore
import SessionGateRedis

/// Sessions in Redis: validation and sliding refresh in one `EVALSHA`, pipelined with other requests' commands; with
/// `batchingOn`, the validations of one event-loop tick share that `EVALSHA` (``ValidationBatch``).
///
/// The client may be standalone, Sentinel or Cluster (``RedisCommandRouting``): every script's first key carries the
/// user's hash tag, which routes it. Writes that end or create sessions go through ``evalDurably(_:keys:arguments:)``,
/// which `WAIT`s for `min_replicas_ack` replicas when configured.
public final class RedisSessionStore: SessionStore {
    let client: any RedisCommandRouting
    let keys: RedisSessionKeys
    let idleTimeoutMs: String
    let absoluteTimeoutMs: String
    let replicaAcks: Int
    let replicaAckTimeout: TimeAmount
    /// With `read_from_replicas`: the refresh interval (ms) below which a replica's answer is used as is.
    private let replicaRefreshIntervalMs: String?
    /// Per event loop of the group given at init: the validations of the current tick (see ``ValidationBatch``).
    /// Empty when validations are not batched.
    private let batches: [(loop: ObjectIdentifier, batch: NIOLoopBoundBox<ValidationBatch>)]

    /// - Parameters:
    ///   - replicaAcks: `min_replicas_ack`: replicas that must acknowledge each session write (0: none).
    ///   - replicaAckTimeout: `replica_ack_timeout`: how long `WAIT` may take.
    ///   - replicaReadRefreshInterval: With `read_from_replicas` (and a ``RedisReplicaReading`` client): validation
    ///     reads a replica and goes to the master only on a miss or when the sliding expiry has fallen more than this
    ///     behind. nil: every validation runs on the master.
    ///   - batchingOn: The proxy's event loops: validations asked for on one of them during one tick go to Redis in
    ///     one script call (``ValidationBatch``). nil: one call each. Only for a client whose scripts may touch keys
    ///     of any slot (not a Cluster), and not with replica reads.
    public init(
        client: any RedisCommandRouting, keyPrefix: String, idleTimeout: TimeAmount, absoluteTimeout: TimeAmount,
        replicaAcks: Int = 0, replicaAckTimeout: TimeAmount = .milliseconds(100),
        replicaReadRefreshInterval: TimeAmount? = nil, batchingOn group: EventLoopGroup? = nil
    ) {
        if let group, replicaReadRefreshInterval == nil {
            batches = group.makeIterator().map { loop in
                (ObjectIdentifier(loop), NIOLoopBoundBox.makeBoxSendingValue(ValidationBatch(), eventLoop: loop))
            }
        } else {
            batches = []
        }
        self.replicaRefreshIntervalMs = replicaReadRefreshInterval.map { String($0.nanoseconds / 1_000_000) }
        self.client = client
        self.keys = RedisSessionKeys(prefix: keyPrefix)
        self.idleTimeoutMs = String(idleTimeout.nanoseconds / 1_000_000)
        self.absoluteTimeoutMs = String(absoluteTimeout.nanoseconds / 1_000_000)
        self.replicaAcks = replicaAcks
        self.replicaAckTimeout = replicaAckTimeout
    }

    /// Runs a script that creates or ends sessions and, with `min_replicas_ack`, waits for the replicas on the same
    /// connection; fewer acknowledgements fail it (``RedisReplicationError``), so the caller reports an error rather
    /// than a write that a failover could lose.
    func evalDurably(_ script: RedisScript, keys: [String], arguments: [String]) async throws -> RedisValue {
        try await client.eval(script, keys: keys, arguments: arguments, replicas: replicaAcks, timeout: replicaAckTimeout)
    }

    public func validate(_ token: SessionToken, on eventLoop: EventLoop) -> EventLoopFuture<SessionIdentity?> {
        validate(key: keys.session(token), on: eventLoop)
    }

    private func validate(key: String, on eventLoop: EventLoop) -> EventLoopFuture<SessionIdentity?> {
        guard let interval = replicaRefreshIntervalMs, let replicas = client as? any RedisReplicaReading,
            let read = replicas.evalOnReplica(
                RedisSessionScripts.validateOnReplica, keys: [key], arguments: [idleTimeoutMs, interval], on: eventLoop)
        else { return validateOnMaster(key, on: eventLoop) }
        // A hit that needs no refresh is the replica's answer; a miss (the session may not have replicated yet), a due
        // refresh or a failing replica goes to the master.
        return read.map { Optional.some($0) }.recover { _ in nil }.flatMap { reply in
            if let reply, reply.array?[5].int == 0,
                let identity = RedisSessionScripts.identity(fromValidationReply: reply, fieldCount: 6)
            {
                return eventLoop.makeSucceededFuture(identity)
            }
            return self.validateOnMaster(key, on: eventLoop)
        }
    }

    /// Without replica reads, the proxy's check makes no future at all: each costs an allocation and runtime type
    /// look-ups, on every request.
    public func validate(
        _ token: SessionToken, on eventLoop: EventLoop, makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        validate(key: keys.session(token), on: eventLoop, makeCallback: makeCallback)
    }

    /// The same, with the key taken from the connection's memo when it presented this token last time: SHA-256 is
    /// then not run again for every request of a keep-alive client.
    public func validate(
        _ token: SessionToken, memo: SessionLookupMemo, on eventLoop: EventLoop,
        makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        validate(key: memo.redisKey(of: token, keys), on: eventLoop, makeCallback: makeCallback)
    }

    private func validate(
        key: String, on eventLoop: EventLoop, makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        if replicaRefreshIntervalMs != nil {
            validate(key: key, on: eventLoop).hop(to: eventLoop).whenComplete(makeCallback())
        } else {
            validateOnMaster(key, on: eventLoop, then: makeCallback())
        }
        return .pending
    }

    private func validateOnMaster(_ key: String, on eventLoop: EventLoop) -> EventLoopFuture<SessionIdentity?> {
        let promise = eventLoop.makePromise(of: SessionIdentity?.self)
        validateOnMaster(key, on: eventLoop) { promise.completeWith($0) }
        return promise.futureResult
    }

    private func validateOnMaster(_ key: String, on eventLoop: EventLoop, then: @escaping SessionLookupCallback) {
        if !batches.isEmpty, eventLoop.inEventLoop, let box = batch(of: eventLoop) {
            box.value.add(key, then)
            if box.value.isFull {
                sendBatch(box, on: eventLoop)
            } else if !box.value.sendScheduled {
                box.value.sendScheduled = true
                eventLoop.assumeIsolated().execute {
                    box.value.sendScheduled = false
                    self.sendBatch(box, on: eventLoop)
                }
            }
            return
        }
        validateAlone(key, on: eventLoop, then: then)
    }

    private func batch(of eventLoop: EventLoop) -> NIOLoopBoundBox<ValidationBatch>? {
        let id = ObjectIdentifier(eventLoop)
        for entry in batches where entry.loop == id { return entry.batch }
        return nil
    }

    /// Sends what the batch holds: a single session as ``RedisSessionScripts/validate``, more as one
    /// ``RedisSessionScripts/validateEach``.
    private func sendBatch(_ box: NIOLoopBoundBox<ValidationBatch>, on eventLoop: EventLoop) {
        guard !box.value.isEmpty else { return }
        let (keys, waiting) = box.value.take()
        guard keys.count > 1 else {
            if waiting.count == 1 {
                validateAlone(keys[0], on: eventLoop, then: waiting[0].callback)
            } else {
                validateAlone(keys[0], on: eventLoop) { ValidationBatch.deliver($0, to: waiting) }
            }
            return
        }
        client.eval(RedisSessionScripts.validateEach, keys: keys, arguments: [idleTimeoutMs], on: eventLoop) { result in
            ValidationBatch.deliver(result, keyCount: keys.count, to: waiting)
        }
    }

    private func validateAlone(_ key: String, on eventLoop: EventLoop, then: @escaping SessionLookupCallback) {
        client.eval(RedisSessionScripts.validate, keys: [key], arguments: [idleTimeoutMs], on: eventLoop) { result in
            switch result {
            case .success(let reply):
                then(.success(RedisSessionScripts.identity(fromValidationReply: reply, fieldCount: 5)))
            case .failure(let error):
                then(.failure(SessionStoreError.unavailable(String(describing: error))))
            }
        }
    }

    public func revokeAll(userID: String) async throws -> Int {
        do {
            let reply = try await evalDurably(
                RedisSessionScripts.revokeAll,
                keys: [keys.userIndex(userID: userID)],
                arguments: [keys.sessionPrefix(tag: SessionToken.tag(forUser: userID))]
            )
            return Int(reply.int ?? 0)
        } catch {
            throw SessionStoreError.unavailable(String(describing: error))
        }
    }
}
