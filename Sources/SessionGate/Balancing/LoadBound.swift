/// The capacity rule of "Consistent Hashing with Bounded Loads" (Mirrokni, Thorup, Zadimoghaddam, 2018), weighted.
///
/// With `m` requests in flight on the available servers and the new one about to arrive, server `i` of weight `w_i`
/// (out of `W` available) may hold at most `ceil(factor × (m + 1) × w_i / W)`; a key whose server is full walks the
/// ring to the next one with room. The capacities add up to more than `m`, so some available server always has room,
/// and no server is ever pushed past `factor` × its fair share, however hot one key is.
struct LoadBound {
    private let factor: Double
    private let weights: [Int]
    private let total: Double
    private let availableWeight: Double

    init(factor: Double, weights: [Int], inFlight: [Int], eligible: (Int) -> Bool) {
        var total = 0
        var availableWeight = 0
        for server in weights.indices where eligible(server) {
            total += inFlight[server]
            availableWeight += weights[server]
        }
        self.factor = factor
        self.weights = weights
        self.total = Double(total)
        self.availableWeight = Double(max(availableWeight, 1))
    }

    /// The most requests `server` may hold once the new one is placed.
    func capacity(of server: Int) -> Int {
        Int((factor * (total + 1) * Double(weights[server]) / availableWeight).rounded(.up))
    }

    /// Whether `server`, holding `inFlight`, may take one more.
    func hasRoom(_ server: Int, inFlight: Int) -> Bool { inFlight < capacity(of: server) }
}
