import Testing

@testable import SessionGate

extension BalancingUnitTests {
    @Suite("ConsistentHashRing")
    struct ConsistentHashRingTests {
        static let names = (1...5).map { "10.0.0.\($0):8080" }
        /// Built once for the suite: a ring of 5 × 8192 points takes a moment in a debug build.
        static let five = ConsistentHashRing(servers: names.map { ($0, 1) })

        @Test func theHashAndTheRingAreStableAcrossProcessesAndVersions() async {
            // FNV-1a's published vectors ("" is the offset basis, "a" is 0xaf63dc4c8601ec8c), then the fixed mixer.
            #expect(StableHash.hash("") == StableHash.mix(0xcbf2_9ce4_8422_2325))
            #expect(StableHash.hash("a") == StableHash.mix(0xaf63_dc4c_8601_ec8c))
            // Recorded from this implementation: if they change, instances of different versions would route keys
            // differently, which a release must announce.
            #expect(StableHash.hash("session-token") == 17_171_349_811_037_426_683)
            // The proxy hashes a session token's bytes in place: the same value as its text's.
            for text in ["", "a", "session-token", "0123abcd" + String(repeating: "C", count: 43)] {
                var text = text
                #expect(text.withUTF8(StableHash.hash(bytes:)) == StableHash.hash(text))
            }
            let (owners, reversedOwners) = await offPool {
                // The server order in the file does not matter: the ring is placed by address.
                let reversed = ConsistentHashRing(servers: Self.names.reversed().map { ($0, 1) })
                return (testKeys(8).map { Self.five.owner(of: $0) }, testKeys(8).map { Self.names.count - 1 - reversed.owner(of: $0) })
            }
            #expect(owners == [1, 4, 3, 4, 3, 0, 0, 2])
            #expect(reversedOwners == owners)
        }

        @Test(arguments: [[1, 1, 1, 1, 1], [1, 2, 3, 1, 1], [5, 1, 1, 2, 1]])
        func hundredThousandKeysFollowTheWeightsWithin5Percent(weights: [Int]) async {
            let counts = await offPool {
                let ring = ConsistentHashRing(servers: Array(zip(Self.names, weights)))
                var counts = Array(repeating: 0, count: weights.count)
                for key in testKeys(100_000) { counts[ring.owner(of: key)] += 1 }
                return counts
            }
            expectShares(counts, weights: weights, tolerance: 0.05)
        }

        @Test func removingAServerMovesOnlyItsKeys() async {
            let (moved, movedFromRemaining) = await offPool {
                let after = ConsistentHashRing(servers: Self.names.dropLast().map { ($0, 1) })
                var moved = 0
                var movedFromRemaining = 0
                for key in testKeys(20_000) {
                    let old = Self.five.owner(of: key)
                    if old == 4 {
                        moved += 1
                    } else if after.owner(of: key) != old {
                        movedFromRemaining += 1
                    }
                }
                return (moved, movedFromRemaining)
            }
            #expect(movedFromRemaining == 0, "keys of the remaining servers stay")
            let fraction = Double(moved) / 20_000
            #expect(fraction <= 1.0 / 5 + 0.02, "moved \(fraction)")
        }

        @Test func addingAServerMovesAboutOneInNPlusOneKeysAllToTheNewServer() async {
            let (moved, movedBetweenOldServers) = await offPool {
                let before = ConsistentHashRing(servers: Self.names.prefix(4).map { ($0, 1) })
                var moved = 0
                var movedBetweenOldServers = 0
                for key in testKeys(20_000) {
                    let new = Self.five.owner(of: key)
                    guard before.owner(of: key) != new else { continue }
                    moved += 1
                    if new != 4 { movedBetweenOldServers += 1 }
                }
                return (moved, movedBetweenOldServers)
            }
            #expect(movedBetweenOldServers == 0, "keys move only to the new server")
            let fraction = Double(moved) / 20_000
            #expect(fraction <= 1.0 / 5 + 0.02, "moved \(fraction)")
            #expect(fraction >= 1.0 / 5 - 0.02, "moved \(fraction)")
        }

        @Test func aRefusedServersKeysGoToTheNextServerOnTheRingAndNoOtherKeyMoves() async {
            let mismatches = await offPool {
                let ring = Self.five
                let without2 = ConsistentHashRing(servers: Self.names.enumerated().filter { $0.offset != 2 }.map { ($0.element, 1) })
                var mismatches = 0
                for key in testKeys(10_000) {
                    let chosen = ring.server(for: key, accept: { $0 != 2 })!
                    // Walking past server 2 gives exactly the ring without server 2 (indices above 2 shift by one).
                    let expected = without2.owner(of: key)
                    if chosen != (expected >= 2 ? expected + 1 : expected) { mismatches += 1 }
                    if ring.owner(of: key) != 2 && chosen != ring.owner(of: key) { mismatches += 1 }
                }
                return mismatches
            }
            #expect(mismatches == 0)
            #expect(Self.five.server(for: 42, accept: { _ in false }) == nil)
        }
    }
}
