import Foundation
import NIOCore
import Testing

@testable import SessionGate

/// The balancing suites with CPU-heavy checks (100,000 keys, rings of tens of thousands of points), run one test at a
/// time: in parallel they would occupy every thread of Swift's cooperative pool for seconds and delay the
/// continuations of unrelated tests that measure time.
@Suite("Balancing (pure, one test at a time)", .serialized)
enum BalancingUnitTests {}

/// Runs CPU-heavy work on a thread of its own and returns its result: off Swift's cooperative pool, whose few
/// threads the integration tests' continuations need promptly.
func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}

/// A deterministic random source (SplitMix64), so every run of the balancing tests sees the same keys.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return StableHash.mix(state)
    }
}

/// Ranks 0..<count drawn with probability ∝ 1/(rank+1)^s: a few keys are very hot, most are cold.
struct Zipf {
    private let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var sum = 0.0
        cumulative = (1...count).map { rank in
            sum += 1 / Double(rank).pow(exponent)
            return sum
        }
    }

    func next(using random: inout SplitMix64) -> Int {
        let target = Double.random(in: 0..<cumulative.last!, using: &random)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] <= target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension Double {
    fileprivate func pow(_ exponent: Double) -> Double { exp(exponent * log(self)) }
}

/// The hashes of `count` distinct request keys (`"key-0"`, `"key-1"`, ...), computed once for all tests.
func testKeys(_ count: Int) -> ArraySlice<UInt64> { allTestKeys.prefix(count) }

private let allTestKeys = (0..<100_000).map { StableHash.hash("key-\($0)") }

/// A fixed instant and offsets from it, for state machines that take the time as an argument.
let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
func at(_ seconds: Double) -> NIODeadline { t0 + .nanoseconds(Int64(seconds * 1e9)) }
