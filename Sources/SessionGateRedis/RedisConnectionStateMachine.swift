import NIOCore

/// The lifecycle of one long-lived, pipelined Redis connection, as a pure value.
///
/// Every event (connect finished, reply arrived, deadline passed, ...) is a `mutating func` returning the
/// ``Action`` the shell (``RedisConnection``) must perform; the machine itself does no I/O and reads no clock —
/// time only enters as `now`/`deadline` arguments — so it is tested by calling events and checking actions.
/// It is generic over `Connection` (the channel handler in production) and `Request` (a command and its promise
/// in production), so tests use plain strings and integers.
///
/// What it decides: where commands go (written, queued until connected, or failed fast), which promise a reply
/// belongs to (strict FIFO, since Redis answers in order), what happens on a timeout (the connection is recycled:
/// after a lost reply every later reply would be matched to the wrong command), and when to back off.
/// What it does not decide: how long to back off (``RedisBackoff``), or how to log.
struct RedisConnectionStateMachine<Connection, Request> {
    /// A request waiting for its reply (or for the connection), with the time it must be answered by.
    struct Entry {
        var request: Request
        var deadline: NIODeadline
    }

    enum State {
        /// `start()` not called yet. Transitions to `.connecting` or `.shutdown`.
        case idle
        /// A TCP connect is in flight; commands queue. `attempt` counts failures since the last success.
        /// Transitions to `.handshaking`, `.ready`, `.backoff` or `.shutdown`.
        case connecting(attempt: Int, queued: CircularBuffer<Entry>)
        /// AUTH/SELECT written, `remaining` replies outstanding; user commands still queue, so none can run
        /// unauthenticated or against the wrong database. Transitions to `.ready`, `.closing`, `.backoff`, `.shutdown`.
        case handshaking(Connection, attempt: Int, remaining: Int, deadline: NIODeadline, queued: CircularBuffer<Entry>)
        /// Commands are written at once; `inFlight` awaits replies in order. Transitions to `.closing`, `.backoff`,
        /// `.shutdown`.
        case ready(Connection, inFlight: CircularBuffer<Entry>)
        /// We closed the connection and wait for it to be gone; commands fail fast. Transitions to `.backoff`,
        /// `.shutdown`.
        case closing(attempt: Int)
        /// Waiting out the reconnect delay; commands fail fast. Transitions to `.connecting`, `.shutdown`.
        case backoff(attempt: Int)
        /// Final: everything fails fast.
        case shutdown
        /// Placeholder while an associated buffer is mutated in place, to avoid a copy-on-write.
        case modifying
    }

    enum Action {
        case none
        /// Start a TCP connect, then report `connected` or `connectFailed`.
        case connect
        /// Write the AUTH/SELECT commands.
        case writeHandshake(Connection)
        /// Write this request's command.
        case write(Request, to: Connection)
        /// The connection is usable: write the queued requests (already counted as in flight), in order.
        case becameReady(Connection, writing: CircularBuffer<Entry>)
        /// Complete the request with its reply (an error reply still fails the caller's future).
        case succeed(Request, RedisValue)
        /// Fail one request.
        case fail(Request, RedisError)
        /// Fail requests that were still queued when their deadline passed with ``RedisError/timeout``.
        case failExpired(CircularBuffer<Entry>)
        /// Close the connection; fail `timedOut` with ``RedisError/timeout`` and `failing` with `error`.
        /// `reason` is why, for the log. A `closed` event follows.
        case close(
            Connection,
            timedOut: CircularBuffer<Entry>,
            failing: CircularBuffer<Entry>,
            error: RedisError,
            reason: RedisError
        )
        /// Fail `failing` with `error`, wait ``RedisBackoff/delay(attempt:jitter:)`` then report `backoffElapsed`.
        case failAndReconnect(failing: CircularBuffer<Entry>, error: RedisError, attempt: Int)
        /// Close the connection if any, fail `failing` with ``RedisError/connectionClosed``, stop for good.
        case shutdown(Connection?, failing: CircularBuffer<Entry>)
    }

    /// Only the event functions (in this file and its `+` extensions) assign this; tests read it.
    var state: State
    let handshakeCommandCount: Int

    /// - Parameter handshakeCommandCount: How many AUTH/SELECT replies to await on each new connection.
    init(handshakeCommandCount: Int) {
        self.state = .idle
        self.handshakeCommandCount = handshakeCommandCount
    }

    /// The earliest deadline the shell should wake up for, if any request (or the handshake) has one.
    var nextDeadline: NIODeadline? {
        switch state {
        case .connecting(_, let queued):
            return queued.first?.deadline
        case .handshaking(_, _, _, let deadline, let queued):
            return min(deadline, queued.first?.deadline ?? deadline)
        case .ready(_, let inFlight):
            return inFlight.first?.deadline
        case .idle, .closing, .backoff, .shutdown, .modifying:
            return nil
        }
    }

    /// How good a target this connection is for a new command (lower is better): ready connections by their
    /// in-flight count, then connecting ones (which queue), then the ones that would fail the command at once.
    var routingCost: Int {
        switch state {
        case .ready(_, let inFlight):
            return inFlight.count
        case .connecting(_, let queued), .handshaking(_, _, _, _, let queued):
            return Int.max / 2 + queued.count
        case .idle, .closing, .backoff, .shutdown, .modifying:
            return Int.max
        }
    }

    /// Whether commands are currently written immediately.
    var isReady: Bool {
        if case .ready = state {
            return true
        }
        return false
    }
}

extension RedisConnectionStateMachine.Entry: Equatable where Request: Equatable {}
extension RedisConnectionStateMachine.Action: Equatable where Connection: Equatable, Request: Equatable {}
