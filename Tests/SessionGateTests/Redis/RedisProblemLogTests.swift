import Testing

@testable import SessionGateRedis

/// Which connection problems a `RedisConnection` logs while it keeps failing.
@Suite("RedisProblemLog")
struct RedisProblemLogTests {
    @Test func aRepeatedProblemIsReportedOnce() {
        var log = RedisProblemLog()
        let reported = ["WRONGPASS", "WRONGPASS", "WRONGPASS"].filter { log.shouldReport($0) }
        #expect(reported == ["WRONGPASS"])
    }

    /// The flaky-test case: on a loaded machine a wrong password and a handshake timeout alternate between retries.
    /// Each is logged once, not once per alternation.
    @Test func alternatingProblemsAreEachReportedOncePerOutage() {
        var log = RedisProblemLog()
        let reported = ["WRONGPASS", "timed out", "WRONGPASS", "timed out", "WRONGPASS", "cannot connect", "WRONGPASS"]
            .filter { log.shouldReport($0) }
        #expect(reported == ["WRONGPASS", "timed out", "cannot connect"])
    }

    @Test func aRecoveryStartsANewOutage() {
        var log = RedisProblemLog()
        let recoveredWithoutProblems = log.recovered()
        #expect(!recoveredWithoutProblems, "nothing was logged, so nothing to announce")
        let first = log.shouldReport("closed by the server")
        let recovered = log.recovered()
        let recoveredAgain = log.recovered()
        let again = log.shouldReport("closed by the server")
        #expect(first)
        #expect(recovered)
        #expect(!recoveredAgain)
        #expect(again, "a new outage logs its problem again")
    }

    @Test func memoryIsBoundedAndForgetsTheOldestFirst() {
        var log = RedisProblemLog()
        let capacity = RedisProblemLog.capacity
        let firstRound = (0...capacity).map { log.shouldReport("problem \($0)") }
        #expect(firstRound.allSatisfy { $0 })
        #expect(log.reported.count == capacity)
        let newest = log.shouldReport("problem \(capacity)")
        #expect(!newest)
        let oldest = log.shouldReport("problem 0")
        #expect(oldest, "the oldest was forgotten")
    }
}
