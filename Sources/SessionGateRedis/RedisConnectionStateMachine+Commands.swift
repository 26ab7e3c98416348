import NIOCore

/// Command events: a send, a reply, unparsable bytes, a deadline.
extension RedisConnectionStateMachine {
    /// A caller sends a command: write it when ready, queue it while connecting, otherwise fail it at once.
    ///
    /// Failing at once during backoff is deliberate: the proxy answers 503 immediately (fail closed) rather than
    /// holding requests for a Redis that is known to be down.
    mutating func send(_ request: Request, deadline: NIODeadline) -> Action {
        switch state {
        case .ready(let connection, var inFlight):
            state = .modifying
            inFlight.append(Entry(request: request, deadline: deadline))
            state = .ready(connection, inFlight: inFlight)
            return .write(request, to: connection)
        case .connecting(let attempt, var queued):
            state = .modifying
            queued.append(Entry(request: request, deadline: deadline))
            state = .connecting(attempt: attempt, queued: queued)
            return .none
        case .handshaking(let connection, let attempt, let remaining, let handshakeDeadline, var queued):
            state = .modifying
            queued.append(Entry(request: request, deadline: deadline))
            state = .handshaking(
                connection, attempt: attempt, remaining: remaining, deadline: handshakeDeadline, queued: queued)
            return .none
        case .idle, .closing, .backoff, .shutdown:
            return .fail(request, .connectionUnavailable)
        case .modifying:
            preconditionFailure("send() when state is \(state)")
        }
    }

    /// A complete reply arrived: it answers the oldest command in flight (or the handshake).
    mutating func received(_ value: RedisValue) -> Action {
        switch state {
        case .ready(let connection, var inFlight):
            state = .modifying
            guard let entry = inFlight.popFirst() else {
                // Redis never speaks unasked on a non-subscribed connection: the stream cannot be trusted.
                state = .closing(attempt: 1)
                return .close(
                    connection, timedOut: [], failing: [], error: .connectionClosed,
                    reason: .protocolError("reply received with no command in flight"))
            }
            state = .ready(connection, inFlight: inFlight)
            return .succeed(entry.request, value)
        case .handshaking(let connection, let attempt, let remaining, let deadline, let queued):
            if case .error(let message) = value {
                // Wrong password, unknown user, bad database: retrying at once would only repeat it.
                state = .closing(attempt: attempt + 1)
                return .close(
                    connection, timedOut: [], failing: queued, error: .connectionUnavailable, reason: .server(message))
            }
            if remaining > 1 {
                state = .handshaking(
                    connection, attempt: attempt, remaining: remaining - 1, deadline: deadline, queued: queued)
                return .none
            }
            state = .ready(connection, inFlight: queued)
            return .becameReady(connection, writing: queued)
        case .idle, .connecting, .closing, .backoff, .shutdown:
            // Late replies from a connection we already gave up on: closing it can complete synchronously while
            // the handler still holds more replies from the same read (AUTH's error, then SELECT's). The server
            // decides what arrives, so this must never trap.
            return .none
        case .modifying:
            preconditionFailure("received() when state is \(state)")
        }
    }

    /// The server sent bytes that are not RESP: close, and fail what was waiting with `error`.
    mutating func receivedInvalidData(_ error: RedisError) -> Action {
        switch state {
        case .ready(let connection, let inFlight):
            state = .closing(attempt: 1)
            return .close(connection, timedOut: [], failing: inFlight, error: error, reason: error)
        case .handshaking(let connection, let attempt, _, _, let queued):
            state = .closing(attempt: attempt + 1)
            return .close(connection, timedOut: [], failing: queued, error: .connectionUnavailable, reason: error)
        case .idle, .connecting, .closing, .backoff, .shutdown:
            return .none
        case .modifying:
            preconditionFailure("receivedInvalidData() when state is \(state)")
        }
    }

    /// The shell's timer fired. Expire what is overdue.
    ///
    /// An overdue command in flight recycles the connection: its reply may still come, and every later reply would
    /// then answer the wrong command. Overdue commands that were only queued just fail; nothing was written.
    mutating func deadlineReached(now: NIODeadline) -> Action {
        switch state {
        case .ready(let connection, var inFlight):
            guard let first = inFlight.first, first.deadline <= now else {
                return .none
            }
            state = .modifying
            let timedOut = inFlight.removeFirst()
            state = .closing(attempt: 1)
            return .close(
                connection, timedOut: [timedOut], failing: inFlight, error: .connectionClosed, reason: .timeout)
        case .connecting(let attempt, var queued):
            state = .modifying
            let expired = Self.removeExpired(from: &queued, now: now)
            state = .connecting(attempt: attempt, queued: queued)
            return expired.isEmpty ? .none : .failExpired(expired)
        case .handshaking(let connection, let attempt, let remaining, let deadline, var queued):
            state = .modifying
            let expired = Self.removeExpired(from: &queued, now: now)
            if deadline <= now {
                state = .closing(attempt: attempt + 1)
                return .close(
                    connection, timedOut: expired, failing: queued, error: .connectionUnavailable, reason: .timeout)
            }
            state = .handshaking(connection, attempt: attempt, remaining: remaining, deadline: deadline, queued: queued)
            return expired.isEmpty ? .none : .failExpired(expired)
        case .idle, .closing, .backoff, .shutdown:
            return .none
        case .modifying:
            preconditionFailure("deadlineReached() when state is \(state)")
        }
    }

    /// Removes the overdue prefix; deadlines are in send order, so overdue entries are always at the front.
    private static func removeExpired(from queue: inout CircularBuffer<Entry>, now: NIODeadline) -> CircularBuffer<Entry> {
        var expired = CircularBuffer<Entry>()
        while let first = queue.first, first.deadline <= now {
            expired.append(queue.removeFirst())
        }
        return expired
    }
}
