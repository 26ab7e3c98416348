import NIOConcurrencyHelpers
import NIOCore

/// One upstream's ``UpstreamBalancer`` shared by every event loop behind a lock, so that a server marked down is down
/// for every thread and in-flight counts (for `least_conn` and bounded loads) are exact across threads.
///
/// Each call holds the lock for a pick or an update only (no I/O, no allocation on the common path); with one lock per
/// upstream and a few event loops, contention stays negligible next to the cost of proxying a request.
final class SharedBalancer: Sendable {
    private let state: NIOLockedValueBox<UpstreamBalancer>

    init(_ balancer: UpstreamBalancer) { state = NIOLockedValueBox(balancer) }

    /// See ``UpstreamBalancer/pick(key:excluding:now:)``.
    func pick(key: UInt64?, excluding tried: ServerSet, now: NIODeadline = .now()) -> Int? {
        state.withLockedValue { $0.pick(key: key, excluding: tried, now: now) }
    }

    /// See ``UpstreamBalancer/finish(_:outcome:now:)``.
    func finish(_ server: Int, outcome: UpstreamBalancer.Outcome, now: NIODeadline = .now()) {
        state.withLockedValue { $0.finish(server, outcome: outcome, now: now) }
    }

    /// See ``UpstreamBalancer/recordProbe(_:passed:)``.
    @discardableResult
    func recordProbe(_ server: Int, passed: Bool) -> Bool {
        state.withLockedValue { $0.recordProbe(server, passed: passed) }
    }

    /// A copy of the current state, for tests and diagnostics.
    var snapshot: UpstreamBalancer { state.withLockedValue { $0 } }
}
