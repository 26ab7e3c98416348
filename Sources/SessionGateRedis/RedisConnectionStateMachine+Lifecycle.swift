import NIOCore

/// Connection lifecycle events: start, connect result, close, backoff, shutdown.
extension RedisConnectionStateMachine {
    /// The client started: connect for the first time.
    mutating func start() -> Action {
        switch state {
        case .idle:
            state = .connecting(attempt: 0, queued: [])
            return .connect
        case .connecting, .handshaking, .ready, .closing, .backoff, .shutdown:
            return .none
        case .modifying:
            preconditionFailure("start() when state is \(state)")
        }
    }

    /// The TCP connection is up. Handshake first if AUTH/SELECT are configured, else become ready.
    /// - Parameters:
    ///   - connection: The new connection.
    ///   - handshakeDeadline: When the handshake counts as timed out.
    mutating func connected(_ connection: Connection, handshakeDeadline: NIODeadline) -> Action {
        switch state {
        case .connecting(let attempt, let queued):
            if handshakeCommandCount == 0 {
                state = .ready(connection, inFlight: queued)
                return .becameReady(connection, writing: queued)
            }
            state = .handshaking(
                connection,
                attempt: attempt,
                remaining: handshakeCommandCount,
                deadline: handshakeDeadline,
                queued: queued
            )
            return .writeHandshake(connection)
        case .shutdown:
            // Shut down while the connect was in flight: close the late arrival.
            return .shutdown(connection, failing: [])
        case .idle, .handshaking, .ready, .closing, .backoff, .modifying:
            preconditionFailure("connected() when state is \(state)")
        }
    }

    /// The TCP connect failed (refused, unreachable, DNS, or connect timeout): fail queued commands and back off.
    mutating func connectFailed() -> Action {
        switch state {
        case .connecting(let attempt, let queued):
            state = .backoff(attempt: attempt + 1)
            return .failAndReconnect(failing: queued, error: .connectionUnavailable, attempt: attempt + 1)
        case .shutdown:
            return .none
        case .idle, .handshaking, .ready, .closing, .backoff, .modifying:
            preconditionFailure("connectFailed() when state is \(state)")
        }
    }

    /// The connection is gone, whoever closed it. Fail what was waiting on it and back off.
    mutating func closed() -> Action {
        switch state {
        case .ready(_, let inFlight):
            // It worked until now, so this is the first failure: the shortest delay.
            state = .backoff(attempt: 1)
            return .failAndReconnect(failing: inFlight, error: .connectionClosed, attempt: 1)
        case .handshaking(_, let attempt, _, _, let queued):
            state = .backoff(attempt: attempt + 1)
            return .failAndReconnect(failing: queued, error: .connectionUnavailable, attempt: attempt + 1)
        case .closing(let attempt):
            state = .backoff(attempt: attempt)
            return .failAndReconnect(failing: [], error: .connectionClosed, attempt: attempt)
        case .shutdown:
            return .none
        case .idle, .connecting, .backoff, .modifying:
            preconditionFailure("closed() when state is \(state)")
        }
    }

    /// The reconnect delay is over: connect again.
    mutating func backoffElapsed() -> Action {
        switch state {
        case .backoff(let attempt):
            state = .connecting(attempt: attempt, queued: [])
            return .connect
        case .shutdown:
            return .none
        case .idle, .connecting, .handshaking, .ready, .closing, .modifying:
            preconditionFailure("backoffElapsed() when state is \(state)")
        }
    }

    /// Stop for good: close the connection, fail everything waiting. Idempotent.
    mutating func shutdown() -> Action {
        switch state {
        case .idle, .closing, .backoff:
            state = .shutdown
            return .shutdown(nil, failing: [])
        case .connecting(_, let queued):
            state = .shutdown
            return .shutdown(nil, failing: queued)
        case .handshaking(let connection, _, _, _, let queued):
            state = .shutdown
            return .shutdown(connection, failing: queued)
        case .ready(let connection, let inFlight):
            state = .shutdown
            return .shutdown(connection, failing: inFlight)
        case .shutdown:
            return .none
        case .modifying:
            preconditionFailure("shutdown() when state is \(state)")
        }
    }
}
