/// One thing wrong with a configuration file: where, which key, what was expected.
public struct ConfigProblem: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line in the file, when the key could be located.
    public var line: Int?
    /// The key's path, such as `session.idle_timeout` or `upstream[0].servers[1]`.
    public var key: String
    /// What is wrong and what was expected.
    public var message: String

    public var description: String { "\(line.map { "line \($0): " } ?? "")\(key): \(message)" }
}

/// A configuration that cannot be used, with every problem found (validation never stops at the first).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The file the problems were found in.
    public var file: String
    public var problems: [ConfigProblem]

    public var description: String {
        let header = "\(file): \(problems.count) configuration problem\(problems.count == 1 ? "" : "s")"
        let lines = problems.map { problem in
            "  \(file)\(problem.line.map { ":\($0)" } ?? ""): \(problem.key): \(problem.message)"
        }
        return ([header] + lines).joined(separator: "\n")
    }
}
