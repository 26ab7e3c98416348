/// The lifecycle of the connection that receives client-side-caching invalidations, as a pure value.
///
/// The connection tracks itself in broadcasting mode: after `CLIENT ID` it sends
/// `CLIENT TRACKING on REDIRECT <its own id> BCAST PREFIX <prefix>` and `SUBSCRIBE __redis__:invalidate`, so Redis
/// pushes (RESP2 pub/sub) the name of every key under the prefix that anyone changes, deletes or expires. Because the
/// tracking lives on this one connection, the cache's correctness depends on this one connection only: while it is
/// not ``State-swift.enum/subscribed(_:)`` no invalidation can be trusted to arrive, so the shell tells its user to
/// flush and read through (``Action/deactivate``) on every way out of that state.
///
/// Generic over `Connection` so tests drive it with plain values; it does no I/O and reads no clock.
struct RedisInvalidationStateMachine<Connection> {
    /// What the handshake waits for next. Transitions in declaration order.
    enum Step: Equatable {
        /// Replies to AUTH/SELECT and `CLIENT SETNAME` still outstanding.
        case preamble(remaining: Int)
        /// The `CLIENT ID` reply, needed for `REDIRECT`.
        case clientID
        /// `+OK` to `CLIENT TRACKING`.
        case tracking
        /// The `subscribe` confirmation.
        case subscribe
    }

    enum State {
        /// Not started. Transitions to `.connecting` or `.shutdown`.
        case idle
        /// A TCP connect is in flight. Transitions to `.handshaking`, `.backoff` or `.shutdown`.
        case connecting(attempt: Int)
        /// Commands written, awaiting `step`. Transitions to `.subscribed`, `.closing`, `.backoff` or `.shutdown`.
        case handshaking(Connection, attempt: Int, step: Step)
        /// Invalidations flow: the only state in which a cache may be used. `awaitingPong`: a heartbeat `PING` went
        /// out and nothing has arrived since. Transitions to `.closing`, `.backoff`, `.shutdown`.
        case subscribed(Connection, awaitingPong: Bool)
        /// We closed the connection and wait for it to be gone. Transitions to `.backoff` or `.shutdown`.
        case closing(attempt: Int)
        /// Waiting out the reconnect delay. Transitions to `.connecting` or `.shutdown`.
        case backoff(attempt: Int)
        /// Final.
        case shutdown
    }

    enum Action {
        case none
        /// Start a TCP connect, then report `connected` or `connectFailed`.
        case connect
        /// Write the preamble: AUTH/SELECT as configured, `CLIENT SETNAME`, `CLIENT ID`.
        case writePreamble(Connection)
        /// Write `CLIENT TRACKING on REDIRECT <id> BCAST PREFIX ...` and `SUBSCRIBE __redis__:invalidate`.
        case writeSubscribe(Connection, clientID: Int64)
        /// Invalidations are now reliable: flush whatever might be stale, then start caching.
        case activate
        /// Write a heartbeat `PING` (answered as a `pong` message while subscribed).
        case writePing(Connection)
        /// Evict these keys.
        case invalidate([String])
        /// Evict everything (Redis sends a null key list on `FLUSHALL`/`FLUSHDB`).
        case invalidateAll
        /// Close the connection (a `closed` event follows). `deactivate`: stop caching and flush first.
        case close(Connection, reason: String, deactivate: Bool)
        /// Wait the backoff delay for `attempt`, then report `backoffElapsed`. `deactivate` as above.
        case reconnect(attempt: Int, deactivate: Bool)
        /// Close the connection if any and stop for good. `deactivate` as above.
        case shutdown(Connection?, deactivate: Bool)
    }

    /// The pub/sub channel Redis publishes invalidations on for RESP2 clients.
    static var channel: String { "__redis__:invalidate" }

    private(set) var state: State = .idle
    /// Replies to expect before `CLIENT ID`: AUTH/SELECT plus `CLIENT SETNAME`.
    let preambleReplies: Int

    init(preambleReplies: Int) {
        self.preambleReplies = preambleReplies
    }

    /// Whether invalidations are flowing (the cache may be used).
    var isSubscribed: Bool {
        if case .subscribed = state { return true }
        return false
    }

    mutating func start() -> Action {
        guard case .idle = state else { return .none }
        state = .connecting(attempt: 0)
        return .connect
    }

    mutating func connected(_ connection: Connection) -> Action {
        switch state {
        case .connecting(let attempt):
            state = .handshaking(connection, attempt: attempt, step: preambleReplies > 0 ? .preamble(remaining: preambleReplies) : .clientID)
            return .writePreamble(connection)
        case .shutdown:
            return .shutdown(connection, deactivate: false)
        case .idle, .handshaking, .subscribed, .closing, .backoff:
            preconditionFailure("connected() when state is \(state)")
        }
    }

    mutating func connectFailed() -> Action {
        guard case .connecting(let attempt) = state else { return .none }
        state = .backoff(attempt: attempt + 1)
        return .reconnect(attempt: attempt + 1, deactivate: false)
    }

    /// One complete reply or pushed message arrived.
    mutating func received(_ value: RedisValue) -> Action {
        switch state {
        case .handshaking(let connection, let attempt, let step):
            return handshakeReply(value, step: step, connection: connection, attempt: attempt)
        case .subscribed(let connection, _):
            // Anything from the server proves the connection is alive.
            state = .subscribed(connection, awaitingPong: false)
            return message(value)
        case .idle, .connecting, .closing, .backoff, .shutdown:
            return .none
        }
    }

    private mutating func handshakeReply(_ value: RedisValue, step: Step, connection: Connection, attempt: Int) -> Action {
        if case .error(let message) = value {
            state = .closing(attempt: attempt + 1)
            return .close(connection, reason: message, deactivate: false)
        }
        switch step {
        case .preamble(let remaining):
            state = .handshaking(connection, attempt: attempt, step: remaining > 1 ? .preamble(remaining: remaining - 1) : .clientID)
            return .none
        case .clientID:
            guard case .integer(let id) = value else {
                state = .closing(attempt: attempt + 1)
                return .close(connection, reason: "unexpected reply to CLIENT ID", deactivate: false)
            }
            state = .handshaking(connection, attempt: attempt, step: .tracking)
            return .writeSubscribe(connection, clientID: id)
        case .tracking:
            state = .handshaking(connection, attempt: attempt, step: .subscribe)
            return .none
        case .subscribe:
            guard let parts = value.array, parts.first?.string == "subscribe", parts.count == 3 else {
                state = .closing(attempt: attempt + 1)
                return .close(connection, reason: "unexpected reply to SUBSCRIBE", deactivate: false)
            }
            state = .subscribed(connection, awaitingPong: false)
            return .activate
        }
    }

    private func message(_ value: RedisValue) -> Action {
        guard let parts = value.array, parts.count == 3, parts[0].string == "message",
            parts[1].string == Self.channel
        else {
            // Not an invalidation (for example a PING's "pong"): nothing to evict.
            return .none
        }
        switch parts[2] {
        case .null:
            return .invalidateAll
        case .array(let keys):
            return .invalidate(keys.compactMap(\.string))
        case .bulkString, .simpleString:
            return .invalidate(parts[2].string.map { [$0] } ?? [])
        case .integer, .error:
            return .invalidateAll
        }
    }

    /// The server sent bytes that are not RESP.
    mutating func receivedInvalidData(_ error: RedisError) -> Action {
        switch state {
        case .handshaking(let connection, let attempt, _):
            state = .closing(attempt: attempt + 1)
            return .close(connection, reason: error.description, deactivate: false)
        case .subscribed(let connection, _):
            state = .closing(attempt: 1)
            return .close(connection, reason: error.description, deactivate: true)
        case .idle, .connecting, .closing, .backoff, .shutdown:
            return .none
        }
    }

    /// The handshake did not finish within the command timeout.
    mutating func handshakeTimedOut() -> Action {
        guard case .handshaking(let connection, let attempt, _) = state else { return .none }
        state = .closing(attempt: attempt + 1)
        return .close(connection, reason: "handshake timed out", deactivate: false)
    }

    /// The shell's heartbeat timer fired (every interval while subscribed). A connection that stayed silent for a
    /// whole interval after a `PING` is presumed dead (a half-open TCP connection after a network failure would
    /// otherwise keep a stale cache in service): close it and stop caching.
    mutating func heartbeat() -> Action {
        guard case .subscribed(let connection, let awaitingPong) = state else { return .none }
        if awaitingPong {
            state = .closing(attempt: 1)
            return .close(connection, reason: "no reply to PING", deactivate: true)
        }
        state = .subscribed(connection, awaitingPong: true)
        return .writePing(connection)
    }

    /// The connection is gone, whoever closed it.
    mutating func closed() -> Action {
        switch state {
        case .subscribed:
            state = .backoff(attempt: 1)
            return .reconnect(attempt: 1, deactivate: true)
        case .handshaking(_, let attempt, _):
            state = .backoff(attempt: attempt + 1)
            return .reconnect(attempt: attempt + 1, deactivate: false)
        case .closing(let attempt):
            state = .backoff(attempt: attempt)
            return .reconnect(attempt: attempt, deactivate: false)
        case .idle, .connecting, .backoff, .shutdown:
            return .none
        }
    }

    mutating func backoffElapsed() -> Action {
        guard case .backoff(let attempt) = state else { return .none }
        state = .connecting(attempt: attempt)
        return .connect
    }

    mutating func shutdown() -> Action {
        switch state {
        case .handshaking(let connection, _, _):
            state = .shutdown
            return .shutdown(connection, deactivate: false)
        case .subscribed(let connection, _):
            state = .shutdown
            return .shutdown(connection, deactivate: true)
        case .idle, .connecting, .closing, .backoff:
            state = .shutdown
            return .shutdown(nil, deactivate: false)
        case .shutdown:
            return .none
        }
    }
}

extension RedisInvalidationStateMachine.Action: Equatable where Connection: Equatable {}
