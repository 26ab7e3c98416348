/// An htpasswd file as `htpasswd -B` writes it: one `name:hash` per line, bcrypt hashes only.
///
/// Blank lines and lines starting with `#` are skipped. Other hash kinds (MD5 `$apr1$`, SHA1 `{SHA}`, crypt) are
/// refused rather than half-supported: they are too weak to accept logins with.
public struct Htpasswd: Sendable, Equatable {
    /// User name → bcrypt hash.
    public var entries: [String: String]

    /// One problem in the file, with its 1-based line number.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Parses the file's text. - Returns: the entries and every problem found (both may be non-empty).
    public static func parse(_ text: String) -> (Htpasswd, [Problem]) {
        var entries: [String: String] = [:]
        var problems: [Problem] = []
        // "\r\n" is one Character in Swift: both line ends are separators.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated() {
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            line = line.trimmingSpacesAndTabs()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                problems.append(Problem(line: index + 1, message: "expected \"name:hash\""))
                continue
            }
            let name = String(line[..<colon])
            let hash = String(line[line.index(after: colon)...])
            if name.isEmpty {
                problems.append(Problem(line: index + 1, message: "the user name is empty"))
            } else if !PasswordHash.isBcrypt(hash) {
                problems.append(Problem(
                    line: index + 1,
                    message: "the hash of \"\(name)\" is not bcrypt (create entries with `htpasswd -B` or `sessiongate auth hash-password`)"))
            } else if entries[name] != nil {
                problems.append(Problem(line: index + 1, message: "\"\(name)\" is listed twice"))
            } else {
                entries[name] = hash
            }
        }
        return (Htpasswd(entries: entries), problems)
    }
}
