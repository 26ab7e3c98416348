import Foundation
import TOMLKit

/// Reads `proxy.conf` (TOML) into a validated ``ProxyConfiguration``.
///
/// Every problem is collected and reported together, each naming its key, its line and what was expected.
/// Loading has no side effects: nothing is bound or connected until the configuration is known to be good.
public enum ConfigLoader {
    /// Loads and validates the file at `path`.
    /// - Throws: ``ConfigurationError`` listing every problem, including a file that cannot be read.
    public static func load(path: String) throws -> ProxyConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                file: path,
                problems: [ConfigProblem(line: nil, key: "(file)", message: "cannot be read: \(error.localizedDescription)")]
            )
        }
        return try parse(text, file: path)
    }

    /// Parses and validates configuration text; `file` names it in messages.
    /// - Throws: ``ConfigurationError`` listing every problem.
    public static func parse(_ text: String, file: String = "proxy.conf") throws -> ProxyConfiguration {
        let root: ConfigValue
        do {
            root = ConfigValue(try TOMLTable(string: text))
        } catch let error as TOMLParseError {
            throw ConfigurationError(
                file: file,
                problems: [ConfigProblem(line: error.source.begin.line, key: "(syntax)", message: error.description)]
            )
        }
        guard case .table(let entries) = root else { preconditionFailure("a TOML document is a table") }
        let problems = ConfigProblems(lineIndex: ConfigLineIndex(text: text))
        let document = ConfigTable(path: "", entries: entries, problems: problems)
        let configuration = ConfigurationReader(problems: problems).read(document)
        guard problems.all.isEmpty else { throw ConfigurationError(file: file, problems: problems.all) }
        return configuration
    }
}
