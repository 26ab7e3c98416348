/// Finds the line on which each key of a TOML file is written, so problems can name it.
///
/// TOMLKit reports positions only for syntax errors, so this scans the text the way a person would: it follows
/// `[table]` and `[[array]]` headers (counting array entries) and records the line of each `key = value`.
/// Keys inside inline tables and multi-line arrays are attributed to the line of the key that opens them.
struct ConfigLineIndex {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var table = ""
        var arrayCounts: [String: Int] = [:]
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("[[") {
                guard let end = line.firstRange(of: "]]") else { continue }
                let name = Self.normalize(line[line.index(line.startIndex, offsetBy: 2)..<end.lowerBound])
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                table = "\(name)[\(index)]"
                record(name, lineNumber)
                record(table, lineNumber)
            } else if line.hasPrefix("[") {
                guard let end = line.firstIndex(of: "]") else { continue }
                table = Self.normalize(line[line.index(after: line.startIndex)..<end])
                record(table, lineNumber)
            } else if let equals = line.firstIndex(of: "="),
                line[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || "_-.\"' \t".contains($0) })
            {
                let key = Self.normalize(line[..<equals])
                guard !key.isEmpty else { continue }
                record(table.isEmpty ? key : "\(table).\(key)", lineNumber)
            }
        }
    }

    /// The line of `path` (`session.cookie_name`, `upstream[1].servers`), or of its nearest located parent.
    func line(of path: String) -> Int? {
        var candidate = Substring(path)
        while !candidate.isEmpty {
            if let line = lines[String(candidate)] { return line }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = candidate[..<cut]
        }
        return nil
    }

    private mutating func record(_ path: String, _ line: Int) {
        if lines[path] == nil { lines[path] = line }
    }

    private static func normalize(_ key: Substring) -> String {
        key.split(separator: ".").map { part in
            part.trimmingCharacters(in: " \t\"'")
        }.joined(separator: ".")
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
