import NIOCore

/// Parses the configuration's durations: a number and a unit, optionally repeated (`"500ms"`, `"30s"`, `"30m"`,
/// `"24h"`, `"7d"`, `"1h30m"`).
enum ConfigDuration {
    /// The units accepted, longest suffix first so that `ms` is not read as `m` followed by garbage.
    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
    ]

    static func parse(_ text: String) -> TimeAmount? {
        var rest = Substring(text)
        var total: Int64 = 0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { return nil }
            rest = rest.dropFirst(unit.suffix.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.nanoseconds)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !overflow, !sumOverflow else { return nil }
            total = sum
        }
        return .nanoseconds(total)
    }

    /// Renders a duration the way the configuration writes it, for messages.
    static func format(_ amount: TimeAmount) -> String {
        let ns = amount.nanoseconds
        for (suffix, unit) in units.reversed() where ns % unit == 0 && ns >= unit {
            return "\(ns / unit)\(suffix)"
        }
        return "\(ns / 1_000_000)ms"
    }
}
