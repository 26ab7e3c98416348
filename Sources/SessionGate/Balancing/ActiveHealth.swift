/// Active health of one server, from the periodic `health_check` probes: `unhealthy` consecutive failed probes mark
/// it unhealthy, `healthy` consecutive passed probes mark it healthy again. A server starts healthy, so a proxy that
/// starts serves at once rather than after the first probes.
struct ActiveHealth: Sendable, Equatable {
    let healthyThreshold: Int
    let unhealthyThreshold: Int
    private(set) var isHealthy = true
    private var streak = 0

    init(healthy: Int, unhealthy: Int) {
        self.healthyThreshold = healthy
        self.unhealthyThreshold = unhealthy
    }

    /// Records one probe. - Returns: true when the server just became healthy again.
    @discardableResult
    mutating func record(passed: Bool) -> Bool {
        if passed == isHealthy {
            streak = 0
            return false
        }
        streak += 1
        guard streak >= (passed ? healthyThreshold : unhealthyThreshold) else { return false }
        isHealthy = passed
        streak = 0
        return passed
    }
}
