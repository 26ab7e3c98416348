import SessionGateRedis

/// The session validations one event loop is asked for during one tick, sent to Redis together at the tick's end.
///
/// Requests read in the same tick (often a dozen or more under load) then cost Redis one script call, and
/// SessionGate one command, one reply and one deadline, instead of one each: Redis's per-call work (parsing the
/// command, setting the script up, `TIME`, writing the reply) is paid once per batch. Each session is still checked
/// and refreshed exactly as alone (``RedisSessionScripts/validateEach``), in the request's one round trip.
///
/// Requests of the same session in one tick (a browser's parallel requests for one page) share one entry: the script
/// checks every key at one Redis time, so a second check of the same key would refresh it to the same expiry and
/// answer the same, and is not sent.
/// A pure value; ``RedisSessionStore`` keeps one per event loop in a loop-bound box.
struct ValidationBatch {
    /// A batch with this many sessions is sent at once: one script call should not hold Redis for long (about 3 µs
    /// per session).
    static let maxKeys = 64

    /// One request waiting for the batch: where its session is in ``keys``, and whom to tell.
    struct Waiting {
        var position: Int
        var callback: SessionLookupCallback
    }

    /// The distinct session keys to check, in the order first asked for.
    private(set) var keys: [String] = []
    private(set) var waiting: [Waiting] = []
    /// A send at the end of the tick is scheduled.
    var sendScheduled = false

    var isEmpty: Bool { waiting.isEmpty }
    var isFull: Bool { keys.count >= Self.maxKeys }

    mutating func add(_ key: String, _ callback: @escaping SessionLookupCallback) {
        if waiting.isEmpty {
            // Room for a usual batch at once, rather than growing 1, 2, 4, 8 ... as it fills.
            keys.reserveCapacity(16)
            waiting.reserveCapacity(16)
        }
        // A linear search: at most 64 keys, which differ within their first bytes after the shared prefix.
        let position = keys.firstIndex(of: key) ?? keys.endIndex
        if position == keys.endIndex { keys.append(key) }
        waiting.append(Waiting(position: position, callback: callback))
    }

    /// Everything added so far; the batch is left empty.
    mutating func take() -> (keys: [String], waiting: [Waiting]) {
        defer {
            keys = []
            waiting = []
        }
        return (keys, waiting)
    }

    /// Hands each request the outcome for its key from ``RedisSessionScripts/validateEach``'s reply (one entry per
    /// key, by position): a failed call (or a reply of the wrong shape) fails them all, so each is refused rather than
    /// guessed at.
    static func deliver(_ result: Result<RedisValue, any Error>, keyCount: Int, to waiting: [Waiting]) {
        switch result {
        case .success(let reply):
            guard let entries = reply.array, entries.count == keyCount else {
                let error = SessionStoreError.unavailable("unexpected reply to a batch of \(keyCount) validations")
                for request in waiting { request.callback(.failure(error)) }
                return
            }
            let identities = entries.map { RedisSessionScripts.identity(fromValidationReply: $0, fieldCount: 5) }
            for request in waiting { request.callback(.success(identities[request.position])) }
        case .failure(let error):
            let failure = SessionStoreError.unavailable(String(describing: error))
            for request in waiting { request.callback(.failure(failure)) }
        }
    }

    /// Hands every request the one outcome of a batch that held a single key.
    static func deliver(_ result: Result<SessionIdentity?, any Error>, to waiting: [Waiting]) {
        for request in waiting { request.callback(result) }
    }
}
