import SessionGateRedis

/// The session validations one event loop is asked for during one tick, sent to Redis together at the tick's end.
///
/// Requests read in the same tick (often a dozen or more under load) then cost Redis one script call, and
/// SessionGate one command, one reply and one deadline, instead of one each: Redis's per-call work (parsing the
/// command, setting the script up, `TIME`, writing the reply) is paid once per batch. Each session is still checked
/// and refreshed exactly as alone (``RedisSessionScripts/validateEach``), in the request's one round trip.
/// A pure value; ``RedisSessionStore`` keeps one per event loop in a loop-bound box.
struct ValidationBatch {
    /// A fuller batch is sent at once: one script call should not hold Redis for long (about 3 µs per session).
    static let maxKeys = 64

    private(set) var keys: [String] = []
    private(set) var callbacks: [SessionLookupCallback] = []
    /// A send at the end of the tick is scheduled.
    var sendScheduled = false

    var isEmpty: Bool { keys.isEmpty }
    var isFull: Bool { keys.count >= Self.maxKeys }

    mutating func add(_ key: String, _ callback: @escaping SessionLookupCallback) {
        if keys.isEmpty {
            // Room for a usual batch at once, rather than growing 1, 2, 4, 8 ... as it fills.
            keys.reserveCapacity(16)
            callbacks.reserveCapacity(16)
        }
        keys.append(key)
        callbacks.append(callback)
    }

    /// Everything added so far; the batch is left empty.
    mutating func take() -> (keys: [String], callbacks: [SessionLookupCallback]) {
        defer {
            keys = []
            callbacks = []
        }
        return (keys, callbacks)
    }

    /// Hands each request its outcome from ``RedisSessionScripts/validateEach``'s reply, by position: a failed call
    /// (or a reply of the wrong shape) fails them all, so each is refused rather than guessed at.
    static func deliver(_ result: Result<RedisValue, any Error>, to callbacks: [SessionLookupCallback]) {
        switch result {
        case .success(let reply):
            guard let entries = reply.array, entries.count == callbacks.count else {
                let error = SessionStoreError.unavailable("unexpected reply to a batch of \(callbacks.count) validations")
                for callback in callbacks { callback(.failure(error)) }
                return
            }
            for (entry, callback) in zip(entries, callbacks) {
                callback(.success(RedisSessionScripts.identity(fromValidationReply: entry, fieldCount: 5)))
            }
        case .failure(let error):
            let failure = SessionStoreError.unavailable(String(describing: error))
            for callback in callbacks { callback(.failure(failure)) }
        }
    }
}
