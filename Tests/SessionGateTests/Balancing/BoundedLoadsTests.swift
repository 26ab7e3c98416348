import Testing

@testable import SessionGate

extension BalancingUnitTests {
    /// "Consistent Hashing with Bounded Loads": with Zipf-distributed keys (a few very hot), no server holds more than
    /// the factor times the mean in-flight load, where plain consistent hashing piles the hot keys on one server.
    @Suite("Bounded loads")
    struct BoundedLoadsTests {
        static let names = (1...8).map { "10.1.0.\($0):80" }
        static let zipf = Zipf(count: 10_000, exponent: 1.1)
        /// The hash of the key of each Zipf rank (`"user-<rank>"`).
        static let rankKeys = (0..<10_000).map { StableHash.hash("user-\($0)") }

        /// A balancer over the suite's servers; bounded loads do not need the full ring resolution.
        static func balancer(factor: Double?, weights: [Int]) -> UpstreamBalancer {
            UpstreamBalancer(
                policy: .consistentHash, names: names, weights: weights, hashBalanceFactor: factor, ringPointsPerWeight: 512)
        }

        /// Places `count` requests that all stay in flight; returns the loads.
        private static func place(_ count: Int, factor: Double?, weights: [Int]) -> [Int] {
            place(count, on: balancer(factor: factor, weights: weights))
        }

        /// Places `count` requests on a copy of `balancer` (copies share the ring).
        private static func place(_ count: Int, on balancer: UpstreamBalancer) -> [Int] {
            var b = balancer
            var random = SplitMix64(seed: 1)
            for _ in 0..<count {
                _ = b.pick(key: Self.rankKeys[Self.zipf.next(using: &random)], now: at(0))!
            }
            return b.inFlight
        }

        @Test(arguments: [1.25, 1.5, 2.0])
        func maxOverMeanStaysAtOrUnderTheFactor(factor: Double) async {
            let results = await offPool {
                let weights = Array(repeating: 1, count: Self.names.count)
                let balancer = Self.balancer(factor: factor, weights: weights)
                return [8, 100, 1_000, 5_000].map { ($0, Self.place($0, on: balancer)) }
            }
            for (total, loads) in results {
                let mean = Double(total) / Double(loads.count)
                // Capacities are whole requests: the bound is ceil(factor × mean).
                #expect(Double(loads.max()!) <= (factor * mean).rounded(.up), "loads \(loads) for \(total) in flight")
            }
        }

        @Test func withoutTheBoundTheHotKeysOverloadOneServer() async {
            let loads = await offPool { Self.place(5_000, factor: nil, weights: Array(repeating: 1, count: Self.names.count)) }
            let mean = 5_000.0 / Double(loads.count)
            #expect(Double(loads.max()!) / mean > 1.5, "the skew this suite relies on: \(loads)")
        }

        @Test func weightedCapacitiesFollowTheWeights() async {
            let weights = [1, 1, 2, 2, 1, 1, 4, 4]
            let total = 5_000
            let loads = await offPool { Self.place(total, factor: 1.25, weights: weights) }
            let totalWeight = Double(weights.reduce(0, +))
            for (load, weight) in zip(loads, weights) {
                #expect(Double(load) <= (1.25 * Double(total) * Double(weight) / totalWeight).rounded(.up), "\(loads)")
            }
        }

        @Test func withRequestsEndingEachPlacementRespectsTheCurrentBound() async {
            let overBound = await offPool {
                var b = Self.balancer(factor: 1.25, weights: Array(repeating: 1, count: 8))
                var random = SplitMix64(seed: 2)
                var open: [Int] = []
                var overBound = 0
                for _ in 0..<10_000 {
                    // Keep about 400 in flight: one ends at random, then one arrives.
                    if open.count >= 400 {
                        let index = Int.random(in: 0..<open.count, using: &random)
                        b.finish(open.swapRemoveAt(index), outcome: .success, now: at(0))
                    }
                    let before = b.inFlight.reduce(0, +)
                    let server = b.pick(key: Self.rankKeys[Self.zipf.next(using: &random)], now: at(0))!
                    let bound = (1.25 * Double(before + 1) / 8).rounded(.up)
                    if Double(b.inFlight[server]) > bound { overBound += 1 }
                    open.append(server)
                }
                return overBound
            }
            #expect(overBound == 0)
        }
    }
}

extension Array {
    fileprivate mutating func swapRemoveAt(_ index: Int) -> Element {
        swapAt(index, count - 1)
        return removeLast()
    }
}
