import NIOCore
import TOMLKit

/// A TOML value detached from TOMLKit, so the rest of the loader works on plain Swift values.
indirect enum ConfigValue {
    case table([String: ConfigValue])
    case array([ConfigValue])
    case string(String)
    case integer(Int)
    case double(Double)
    case bool(Bool)
    case other(TOMLType)

    init(_ value: TOMLValueConvertible) {
        switch value.type {
        case .table:
            var entries: [String: ConfigValue] = [:]
            if let table = value.table { for (key, child) in table { entries[key] = ConfigValue(child) } }
            self = .table(entries)
        case .array:
            self = .array(value.array.map { $0.map(ConfigValue.init) } ?? [])
        case .string: self = .string(value.string ?? "")
        case .int: self = .integer(value.int ?? 0)
        case .double: self = .double(value.double ?? 0)
        case .bool: self = .bool(value.bool ?? false)
        default: self = .other(value.type)
        }
    }

    /// How a value is named in "expected X, found Y" messages.
    var kindName: String {
        switch self {
        case .table: return "a table"
        case .array: return "an array"
        case .string(let s): return "the string \"\(s)\""
        case .integer(let i): return "the integer \(i)"
        case .double(let d): return "the number \(d)"
        case .bool(let b): return "the boolean \(b)"
        case .other(let type): return "a \(type)"
        }
    }
}

/// Collects problems while a configuration is read, so every one is reported together.
final class ConfigProblems {
    let lineIndex: ConfigLineIndex
    private(set) var all: [ConfigProblem] = []

    init(lineIndex: ConfigLineIndex) { self.lineIndex = lineIndex }

    func add(_ key: String, _ message: String) {
        all.append(ConfigProblem(line: lineIndex.line(of: key), key: key, message: message))
    }
}

/// One TOML table being read: typed getters that record a problem (and fall back to the default) on a bad value,
/// and remember which keys were asked for so that ``finish()`` can reject unknown ones.
final class ConfigTable {
    let path: String
    private let entries: [String: ConfigValue]
    private let problems: ConfigProblems
    private var known: [String] = []

    init(path: String, entries: [String: ConfigValue], problems: ConfigProblems) {
        self.path = path
        self.entries = entries
        self.problems = problems
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func problem(_ key: String, _ message: String) { problems.add(keyPath(key), message) }

    /// The raw value of `key`, marking it known.
    func value(_ key: String) -> ConfigValue? {
        known.append(key)
        return entries[key]
    }

    func string(_ key: String) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let s) = value else {
            problem(key, "expected a string, found \(value.kindName)")
            return nil
        }
        return s
    }

    func string(_ key: String, default fallback: String) -> String { string(key) ?? fallback }

    func bool(_ key: String, default fallback: Bool) -> Bool {
        guard let value = value(key) else { return fallback }
        guard case .bool(let b) = value else {
            problem(key, "expected true or false, found \(value.kindName)")
            return fallback
        }
        return b
    }

    func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        guard let value = value(key) else { return fallback }
        guard case .integer(let i) = value else {
            problem(key, "expected an integer from \(range.lowerBound) to \(range.upperBound), found \(value.kindName)")
            return fallback
        }
        guard range.contains(i) else {
            problem(key, "\(i) is out of range (expected \(range.lowerBound) to \(range.upperBound))")
            return fallback
        }
        return i
    }

    /// A duration such as `"500ms"`, `"30s"`, `"30m"`, `"24h"`; must be positive.
    func duration(_ key: String, default fallback: TimeAmount) -> TimeAmount {
        guard let text = string(key) else { return fallback }
        guard let amount = ConfigDuration.parse(text) else {
            problem(key, "\"\(text)\" is not a duration (expected a number and a unit: \"500ms\", \"30s\", \"30m\", \"24h\", \"7d\")")
            return fallback
        }
        guard amount.nanoseconds > 0 else {
            problem(key, "must be greater than zero")
            return fallback
        }
        return amount
    }

    /// One of an enum's raw values.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default fallback: E) -> E where E.RawValue == String {
        guard let text = string(key) else { return fallback }
        guard let choice = E(rawValue: text) else {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            problem(key, "\"\(text)\" is not allowed (expected one of: \(allowed))")
            return fallback
        }
        return choice
    }

    /// The strings of an array, each with its position in the file's array (non-strings are reported and skipped,
    /// and later entries keep their own index in messages).
    func indexedStringArray(_ key: String) -> [(index: Int, value: String)]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else {
            problem(key, "expected an array of strings, found \(value.kindName)")
            return nil
        }
        var strings: [(index: Int, value: String)] = []
        for (index, item) in items.enumerated() {
            guard case .string(let s) = item else {
                problems.add("\(keyPath(key))[\(index)]", "expected a string, found \(item.kindName)")
                continue
            }
            strings.append((index, s))
        }
        return strings
    }

    func stringArray(_ key: String) -> [String]? { indexedStringArray(key)?.map(\.value) }

    /// A sub-table (`[section]`); an empty one when absent.
    func table(_ key: String) -> ConfigTable {
        let entries: [String: ConfigValue]
        switch value(key) {
        case .none: entries = [:]
        case .table(let t)?: entries = t
        case let other?:
            problem(key, "expected a table ([\(keyPath(key))]), found \(other.kindName)")
            entries = [:]
        }
        return ConfigTable(path: keyPath(key), entries: entries, problems: problems)
    }

    /// An array of tables (`[[section]]`).
    func tableArray(_ key: String) -> [ConfigTable] {
        guard let value = value(key) else { return [] }
        guard case .array(let items) = value else {
            problem(key, "expected an array of tables ([[\(keyPath(key))]]), found \(value.kindName)")
            return []
        }
        var tables: [ConfigTable] = []
        for (index, item) in items.enumerated() {
            let path = "\(keyPath(key))[\(index)]"
            guard case .table(let entries) = item else {
                problems.add(path, "expected a table, found \(item.kindName)")
                continue
            }
            tables.append(ConfigTable(path: path, entries: entries, problems: problems))
        }
        return tables
    }

    /// Reports every key present in the file that nothing asked for: a typo must never be silently ignored.
    func finish() {
        let knownKeys = Set(known)
        for key in entries.keys.sorted() where !knownKeys.contains(key) {
            var message = "unknown key"
            if let guess = knownKeys.min(by: { editDistance($0, key) < editDistance($1, key) }),
                editDistance(guess, key) <= max(2, key.count / 3)
            {
                message += " (did you mean \"\(guess)\"?)"
            }
            message += "; known keys here: " + known.uniqued().joined(separator: ", ")
            problem(key, message)
        }
    }
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
