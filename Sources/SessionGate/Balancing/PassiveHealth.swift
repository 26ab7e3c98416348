import NIOCore

/// Passive health of one server, from the outcomes of real requests (nginx's `max_fails` and `fail_timeout`).
///
/// `maxFails` failures within `failTimeout` of the first one mark the server down for `failTimeout`. After that it
/// is on probation: it takes requests again, one success makes it up, one failure makes it down again for another
/// `failTimeout`. `maxFails = 0` turns passive health off. Times are passed in, so tests drive it with any clock.
struct PassiveHealth: Sendable, Equatable {
    /// What the balancer sees.
    enum Status: Equatable {
        case up
        case down
        /// Down time is over; the next outcome decides.
        case probation
    }

    private enum State: Equatable {
        /// Counting failures in the window opened by the first. → .down
        case up(failures: Int, windowStart: NIODeadline)
        /// → .probation once `until` has passed (read lazily in `status(at:)`).
        case down(until: NIODeadline)
    }

    let maxFails: Int
    let failTimeout: TimeAmount
    private var state: State = .up(failures: 0, windowStart: .distantPast)

    init(maxFails: Int, failTimeout: TimeAmount) {
        self.maxFails = maxFails
        self.failTimeout = failTimeout
    }

    func status(at now: NIODeadline) -> Status {
        switch state {
        case .up: return .up
        case .down(let until): return now < until ? .down : .probation
        }
    }

    func isAvailable(at now: NIODeadline) -> Bool { status(at: now) != .down }

    /// A request got an answer: the server is up.
    mutating func recordSuccess() {
        state = .up(failures: 0, windowStart: .distantPast)
    }

    /// A request could not be served by this server (connect error or timeout, connection lost before the answer).
    mutating func recordFailure(at now: NIODeadline) {
        guard maxFails > 0 else { return }
        switch state {
        case .up(let failures, let windowStart):
            let inWindow = failures > 0 && now - windowStart < failTimeout
            let count = inWindow ? failures + 1 : 1
            if count >= maxFails {
                state = .down(until: now + failTimeout)
            } else {
                state = .up(failures: count, windowStart: inWindow ? windowStart : now)
            }
        case .down:
            // On probation, or a late report from a request that started before the server went down.
            state = .down(until: now + failTimeout)
        }
    }
}
