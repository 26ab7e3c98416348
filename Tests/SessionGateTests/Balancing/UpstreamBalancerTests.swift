import Testing

@testable import SessionGate

extension BalancingUnitTests {
    @Suite("UpstreamBalancer")
    struct UpstreamBalancerTests {
        static let names = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]

        private func balancer(_ policy: BalancingPolicy, weights: [Int] = [1, 1, 1, 1], factor: Double? = 1.25)
            -> UpstreamBalancer
        {
            UpstreamBalancer(policy: policy, names: Self.names, weights: weights, hashBalanceFactor: factor)
        }

        @Test func roundRobinSkipsADownServerAndTakesItBackAfterFailTimeout() {
            var b = balancer(.roundRobin)
            let first = b.pick(key: nil, now: at(0))!
            b.finish(first, outcome: .failure, now: at(0))
            for _ in 0..<30 {
                let server = b.pick(key: nil, now: at(1))!
                #expect(server != first)
                b.finish(server, outcome: .success, now: at(1))
            }
            var seen = Set<Int>()
            for _ in 0..<4 {
                let server = b.pick(key: nil, now: at(11))!
                seen.insert(server)
                b.finish(server, outcome: .success, now: at(11))
            }
            #expect(seen == [0, 1, 2, 3])
        }

        @Test func triedServersAreNotPickedAgain() {
            var b = balancer(.consistentHash)
            var tried = ServerSet()
            for _ in 0..<4 {
                let server = b.pick(key: 7, excluding: tried, now: at(0))!
                #expect(!tried.contains(server))
                tried.insert(server)
            }
            let r1 = b.pick(key: 7, excluding: tried, now: at(0))
            #expect(r1 == nil)
        }

        @Test func whenEveryServerIsDownNothingIsPickedAndTheFailuresAreForgivenAsNginxDoes() {
            var b = balancer(.roundRobin)
            for _ in 0..<4 {
                let server = b.pick(key: nil, now: at(0))!
                b.finish(server, outcome: .failure, now: at(0))
            }
            let r2 = b.pick(key: nil, now: at(1))
            #expect(r2 == nil)
            let r3 = b.pick(key: nil, now: at(1))
            #expect(r3 != nil, "the next request tries again")
        }

        @Test func aServerDownToTheProbesStaysOutUntilTheyPassAgain() {
            var b = balancer(.consistentHash, factor: nil)
            let key = StableHash.hash("some-session")
            let home = b.pick(key: key, now: at(0))!
            b.finish(home, outcome: .success, now: at(0))
            b.recordProbe(home, passed: false)
            b.recordProbe(home, passed: false)
            let elsewhere = b.pick(key: key, now: at(1))!
            b.finish(elsewhere, outcome: .success, now: at(1))
            #expect(elsewhere != home)
            let r4 = b.recordProbe(home, passed: true)
            #expect(!r4)
            let r5 = b.pick(key: key, now: at(2))
            #expect(r5 == elsewhere)
            b.finish(elsewhere, outcome: .success, now: at(2))
            let r6 = b.recordProbe(home, passed: true)
            #expect(r6)
            let r7 = b.pick(key: key, now: at(3))
            #expect(r7 == home, "the key comes back when its server recovers")
        }

        @Test func aMissingKeyFallsBackToRoundRobin() {
            var b = balancer(.consistentHash)
            var picks: [Int] = []
            for _ in 0..<8 {
                let server = b.pick(key: nil, now: at(0))!
                picks.append(server)
                b.finish(server, outcome: .neutral, now: at(0))
            }
            #expect(picks == [0, 1, 2, 3, 0, 1, 2, 3])
        }

        @Test func leastConnPicksFewestInFlightRelativeToWeightAndBreaksTiesByRoundRobin() {
            var b = balancer(.leastConn, weights: [2, 1, 1, 1])
            // Empty: all tie at 0; the weighted round robin starts with the heaviest.
            let r8 = b.pick(key: nil, now: at(0))
            #expect(r8 == 0)
            // Server 0 holds 1 of weight 2 (ratio 0.5); servers 1-3 hold 0 and tie.
            let next = (0..<3).map { _ in b.pick(key: nil, now: at(0))! }
            #expect(Set(next) == [1, 2, 3])
            // Now 0 holds 1/2 and the others 1/1: server 0 is least loaded.
            let r9 = b.pick(key: nil, now: at(0))
            #expect(r9 == 0)
            b.finish(2, outcome: .success, now: at(0))
            let r10 = b.pick(key: nil, now: at(0))
            #expect(r10 == 2)
            #expect(b.inFlight == [2, 1, 1, 1])
        }

        @Test func ipHashSpreadsByWeightIsStickyAndReturnsAfterRecovery() async {
            let (counts, movedWhileDown, wrongWhileDown, wrongAfter) = await offPool {
                var b = UpstreamBalancer(policy: .ipHash, names: Self.names, weights: [1, 2, 3, 4])
                var counts = [0, 0, 0, 0]
                let keys = testKeys(100_000)
                var home: [Int] = []
                for key in keys {
                    let server = b.pick(key: key, now: at(0))!
                    counts[server] += 1
                    home.append(server)
                    b.finish(server, outcome: .success, now: at(0))
                }
                b.recordProbe(3, passed: false)
                b.recordProbe(3, passed: false)
                var moved = 0
                var wrongWhileDown = 0
                for (key, server) in zip(keys.prefix(2000), home) {
                    let now = b.pick(key: key, now: at(1))!
                    b.finish(now, outcome: .success, now: at(1))
                    if server == 3 { moved += 1 }
                    if server == 3 ? now == 3 : now != server { wrongWhileDown += 1 }
                }
                b.recordProbe(3, passed: true)
                b.recordProbe(3, passed: true)
                var wrongAfter = 0
                for (key, server) in zip(keys.prefix(2000), home) {
                    let now = b.pick(key: key, now: at(2))!
                    b.finish(now, outcome: .success, now: at(2))
                    if now != server { wrongAfter += 1 }
                }
                return (counts, moved, wrongWhileDown, wrongAfter)
            }
            expectShares(counts, weights: [1, 2, 3, 4], tolerance: 0.05)
            #expect(movedWhileDown > 0)
            #expect(wrongWhileDown == 0, "only the down server's clients move")
            #expect(wrongAfter == 0, "and they return when it is back")
        }

        @Test func consistentHashWithWeightsSpreads100kKeysWithin5Percent() async {
            let counts = await offPool {
                var b = UpstreamBalancer(
                    policy: .consistentHash, names: Self.names, weights: [1, 2, 3, 4], hashBalanceFactor: nil)
                var counts = [0, 0, 0, 0]
                for key in testKeys(100_000) {
                    let server = b.pick(key: key, now: at(0))!
                    counts[server] += 1
                    b.finish(server, outcome: .success, now: at(0))
                }
                return counts
            }
            expectShares(counts, weights: [1, 2, 3, 4], tolerance: 0.05)
        }
    }
}

extension BalancingUnitTests.UpstreamBalancerTests {
    @Test func aLoneServerIsNeverMarkedDownByFailuresAsInNginx() {
        var b = UpstreamBalancer(policy: .roundRobin, names: ["10.0.0.1:80"], weights: [1])
        for second in 0..<5 {
            let server = b.pick(key: nil, now: at(Double(second)))
            #expect(server == 0)
            b.finish(0, outcome: .failure, now: at(Double(second)))
        }
    }
}
