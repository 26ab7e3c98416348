import Testing

@testable import SessionGate

extension BalancingUnitTests {
    @Suite("ConsistentHashRing")
    struct ConsistentHashRingTests {
        static let names = (1...5).map { "10.0.0.\($0):8080" }
        /// Built once for the suite: a ring of 5 × 8192 points takes a moment in a debug build.
        static let five = ConsistentHashRing(servers: names.map { ($0, 1) })

        private func ring(_ names: [String], weights: [Int]? = nil) -> ConsistentHashRing {
            ConsistentHashRing(servers: Array(zip(names, weights ?? names.map { _ in 1 })))
        }

        @Test func theHashAndTheRingAreStableAcrossProcessesAndVersions() {
            // FNV-1a's published vectors ("" is the offset basis, "a" is 0xaf63dc4c8601ec8c), then the fixed mixer.
            #expect(StableHash.hash("") == StableHash.mix(0xcbf2_9ce4_8422_2325))
            #expect(StableHash.hash("a") == StableHash.mix(0xaf63_dc4c_8601_ec8c))
            // Recorded from this implementation: if they change, instances of different versions would route keys
            // differently, which a release must announce.
            #expect(StableHash.hash("session-token") == 17_171_349_811_037_426_683)
            let owners = testKeys(8).map { Self.five.owner(of: $0) }
            #expect(owners == [1, 4, 3, 4, 3, 0, 0, 2])
            // The server order in the file does not matter: the ring is placed by address.
            let reversed = ring(Self.names.reversed())
            #expect(testKeys(8).map { Self.names.count - 1 - reversed.owner(of: $0) } == owners)
        }

        @Test(arguments: [[1, 1, 1, 1, 1], [1, 2, 3, 1, 1], [5, 1, 1, 2, 1]])
        func hundredThousandKeysFollowTheWeightsWithin5Percent(weights: [Int]) {
            let ring = ring(Self.names, weights: weights)
            var counts = Array(repeating: 0, count: weights.count)
            for key in testKeys(100_000) { counts[ring.owner(of: key)] += 1 }
            expectShares(counts, weights: weights, tolerance: 0.05)
        }

        @Test func removingAServerMovesOnlyItsKeys() {
            let keys = testKeys(20_000)
            let before = Self.five
            let after = ring(Array(Self.names.dropLast()))
            var moved = 0
            var movedFromRemaining = 0
            for key in keys {
                let old = before.owner(of: key)
                if old == 4 {
                    moved += 1
                } else if after.owner(of: key) != old {
                    movedFromRemaining += 1
                }
            }
            #expect(movedFromRemaining == 0, "keys of the remaining servers stay")
            let fraction = Double(moved) / Double(keys.count)
            #expect(fraction <= 1.0 / 5 + 0.02, "moved \(fraction)")
        }

        @Test func addingAServerMovesAboutOneInNPlusOneKeysAllToTheNewServer() {
            let keys = testKeys(20_000)
            let before = ring(Array(Self.names.prefix(4)))
            let after = Self.five
            var moved = 0
            var movedBetweenOldServers = 0
            for key in keys {
                let new = after.owner(of: key)
                guard before.owner(of: key) != new else { continue }
                moved += 1
                if new != 4 { movedBetweenOldServers += 1 }
            }
            #expect(movedBetweenOldServers == 0, "keys move only to the new server")
            let fraction = Double(moved) / Double(keys.count)
            #expect(fraction <= 1.0 / 5 + 0.02, "moved \(fraction)")
            #expect(fraction >= 1.0 / 5 - 0.02, "moved \(fraction)")
        }

        @Test func aRefusedServersKeysGoToTheNextServerOnTheRingAndNoOtherKeyMoves() {
            let ring = Self.five
            let without2 = self.ring(Self.names.enumerated().filter { $0.offset != 2 }.map(\.element))
            var mismatches = 0
            for key in testKeys(10_000) {
                let chosen = ring.server(for: key, accept: { $0 != 2 })!
                // Walking past server 2 gives exactly the ring without server 2 (indices above 2 shift by one there).
                let expected = without2.owner(of: key)
                if chosen != (expected >= 2 ? expected + 1 : expected) { mismatches += 1 }
                if ring.owner(of: key) != 2 && chosen != ring.owner(of: key) { mismatches += 1 }
            }
            #expect(mismatches == 0)
            #expect(ring.server(for: 42, accept: { _ in false }) == nil)
        }
    }
}
