import NIOCore

/// Exponential reconnect delay with jitter.
///
/// Pure and deterministic given the `jitter` input, so it can be tested without randomness; the connection passes
/// a random value. Jitter matters because every proxy instance (and every connection in one) loses Redis at the
/// same moment: without it they would all reconnect in lock-step and hit a recovering server together.
struct RedisBackoff: Sendable, Hashable {
    /// Delay before the first retry.
    var initial: TimeAmount
    /// Upper bound for the un-jittered delay.
    var maximum: TimeAmount

    /// The delay before retry number `attempt`.
    ///
    /// The base delay is `initial * 2^(attempt - 1)`, capped at `maximum`; the result is drawn from the upper half
    /// of that ("equal jitter"), so it never drops below half the base and never exceeds it.
    /// - Parameters:
    ///   - attempt: 1 for the first retry after a success, 2 for the next, and so on.
    ///   - jitter: A value in `0...1`; 0 gives half the base delay, 1 the full base delay.
    /// - Returns: The delay to wait before connecting again.
    func delay(attempt: Int, jitter: Double) -> TimeAmount {
        let initialNanoseconds = max(initial.nanoseconds, 0)
        let maximumNanoseconds = max(maximum.nanoseconds, initialNanoseconds)
        var base = initialNanoseconds
        var doublings = max(attempt - 1, 0)
        while doublings > 0 && base < maximumNanoseconds {
            base = base > maximumNanoseconds / 2 ? maximumNanoseconds : base * 2
            doublings -= 1
        }
        base = min(base, maximumNanoseconds)
        let clampedJitter = min(max(jitter, 0), 1)
        let half = base / 2
        return .nanoseconds(half + Int64(Double(base - half) * clampedJitter))
    }
}
