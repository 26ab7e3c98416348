import Testing

@testable import SessionGate

extension BalancingUnitTests {
    @Suite("SmoothWeightedRoundRobin")
    struct SmoothWeightedRoundRobinTests {
        @Test func weights511GiveNginxsSequence() {
            var rr = SmoothWeightedRoundRobin(weights: [5, 1, 1])
            let names = ["a", "b", "c"]
            let sequence = (0..<14).map { _ in names[rr.next(where: { _ in true })!] }
            #expect(sequence == ["a", "a", "b", "a", "c", "a", "a", "a", "a", "b", "a", "c", "a", "a"])
        }

        @Test func equalWeightsAlternate() {
            var rr = SmoothWeightedRoundRobin(weights: [1, 1, 1])
            let picks = (0..<6).map { _ in rr.next(where: { _ in true })! }
            #expect(picks == [0, 1, 2, 0, 1, 2])
        }

        @Test func ineligibleServersAreSkippedAndNoneEligibleIsNil() {
            var rr = SmoothWeightedRoundRobin(weights: [1, 1, 1])
            let picks = (0..<4).map { _ in rr.next(where: { $0 != 1 })! }
            #expect(picks == [0, 2, 0, 2])
            let none = rr.next(where: { _ in false })
            #expect(none == nil)
        }

        @Test func everyWindowOfTotalWeightPicksGivesEachServerExactlyItsWeight() {
            let weights = [1, 2, 3, 4]
            var rr = SmoothWeightedRoundRobin(weights: weights)
            var windowsOff = 0
            for _ in 0..<1_000 {
                var counts = [0, 0, 0, 0]
                for _ in 0..<10 { counts[rr.next(where: { _ in true })!] += 1 }
                if counts != weights { windowsOff += 1 }
            }
            #expect(windowsOff == 0)
        }
    }
}

/// Each server's share of `counts` is within `tolerance` (relative) of its share of the weights.
func expectShares(_ counts: [Int], weights: [Int], tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation) {
    let total = Double(counts.reduce(0, +))
    let totalWeight = Double(weights.reduce(0, +))
    for (count, weight) in zip(counts, weights) {
        let expected = total * Double(weight) / totalWeight
        #expect(
            abs(Double(count) - expected) <= tolerance * expected,
            "got \(counts) for weights \(weights)", sourceLocation: sourceLocation)
    }
}
