import Testing

@testable import SessionGate

extension BalancingUnitTests {
    @Suite("PassiveHealth and ActiveHealth")
    struct HealthStateMachineTests {
        @Test func maxFailsWithinFailTimeoutMarksDownThenProbationThenUp() {
            var health = PassiveHealth(maxFails: 3, failTimeout: .seconds(10))
            health.recordFailure(at: at(0))
            health.recordFailure(at: at(4))
            #expect(health.status(at: at(5)) == .up)
            health.recordFailure(at: at(9))
            #expect(health.status(at: at(9)) == .down)
            #expect(health.status(at: at(18.9)) == .down)
            #expect(!health.isAvailable(at: at(18.9)))
            #expect(health.status(at: at(19)) == .probation)
            #expect(health.isAvailable(at: at(19)))
            health.recordSuccess()
            #expect(health.status(at: at(19)) == .up)
        }

        @Test func failuresSpreadWiderThanFailTimeoutDoNotAddUp() {
            var health = PassiveHealth(maxFails: 2, failTimeout: .seconds(10))
            health.recordFailure(at: at(0))
            health.recordFailure(at: at(11))
            #expect(health.status(at: at(11)) == .up)
            health.recordFailure(at: at(12))
            #expect(health.status(at: at(12)) == .down)
        }

        @Test func aSuccessClearsTheCount() {
            var health = PassiveHealth(maxFails: 2, failTimeout: .seconds(10))
            health.recordFailure(at: at(0))
            health.recordSuccess()
            health.recordFailure(at: at(1))
            #expect(health.status(at: at(1)) == .up)
        }

        @Test func aFailureOnProbationMarksDownForAnotherFailTimeout() {
            var health = PassiveHealth(maxFails: 1, failTimeout: .seconds(10))
            health.recordFailure(at: at(0))
            #expect(health.status(at: at(0)) == .down)
            #expect(health.status(at: at(10)) == .probation)
            health.recordFailure(at: at(10))
            #expect(health.status(at: at(19)) == .down)
            #expect(health.status(at: at(20)) == .probation)
        }

        @Test func maxFailsZeroNeverMarksDown() {
            var health = PassiveHealth(maxFails: 0, failTimeout: .seconds(10))
            for second in 0..<100 { health.recordFailure(at: at(Double(second) / 10)) }
            #expect(health.status(at: at(10)) == .up)
        }

        @Test func activeHealthNeedsConsecutiveProbesEachWay() {
            var health = ActiveHealth(healthy: 2, unhealthy: 3)
            #expect(health.isHealthy)
            health.record(passed: false)
            health.record(passed: false)
            health.record(passed: true)
            health.record(passed: false)
            health.record(passed: false)
            #expect(health.isHealthy, "the pass in between restarted the count")
            health.record(passed: false)
            #expect(!health.isHealthy)
            let firstPass = health.record(passed: true)
            #expect(!firstPass)
            #expect(!health.isHealthy)
            let secondPass = health.record(passed: true)
            #expect(secondPass, "the second consecutive pass brings it back")
            #expect(health.isHealthy)
        }
    }
}
