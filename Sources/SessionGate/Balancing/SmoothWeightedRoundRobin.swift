/// nginx's smooth weighted round robin (`ngx_http_upstream_get_peer`): each pick adds every eligible server's weight
/// to its current weight, takes the largest (the first one on a tie) and subtracts the total from it.
///
/// Over any window of `sum(weights)` picks each server gets exactly its weight, and a heavy server's picks are spread
/// out rather than bunched: weights 5, 1, 1 give `a a b a c a a`. Servers that are not eligible (down, or already
/// tried by this request) take no part in a pick and keep their current weight.
struct SmoothWeightedRoundRobin: Sendable {
    let weights: [Int]
    private var current: [Int]

    init(weights: [Int]) {
        self.weights = weights
        self.current = Array(repeating: 0, count: weights.count)
    }

    /// The next server among those for which `isEligible` holds, or nil when none does.
    mutating func next(where isEligible: (Int) -> Bool) -> Int? {
        var best = -1
        var total = 0
        for index in weights.indices where isEligible(index) {
            current[index] += weights[index]
            total += weights[index]
            if best < 0 || current[index] > current[best] { best = index }
        }
        guard best >= 0 else { return nil }
        current[best] -= total
        return best
    }
}
