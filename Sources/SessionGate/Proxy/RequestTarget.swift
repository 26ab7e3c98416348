/// Checks a request target before it is routed.
///
/// Routing is by path prefix, so a path that an upstream might resolve differently from the proxy (dot segments,
/// empty segments, encoded or backslash separators) could reach a protected route through an unprotected prefix:
/// `/public/../admin/` is refused here rather than normalised, so the proxy and every upstream agree on the path.
enum RequestTarget {
    /// Nil when the target is acceptable, else why it is refused (answered with 400).
    static func problem(in uri: String) -> String? {
        let path = uri.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") })
            .map { uri[..<$0] } ?? Substring(uri)
        guard path.hasPrefix("/") else {
            return "the request target must be a path starting with \"/\" (origin-form)"
        }
        if path.contains("\\") { return "the path must not contain a backslash" }
        let lowered = path.lowercased()
        if lowered.contains("%2f") || lowered.contains("%5c") || lowered.contains("%00") {
            return "the path must not contain an encoded slash, backslash or NUL"
        }
        let segments = lowered.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            let decoded = segment.replacingOccurrences(of: "%2e", with: ".")
            if decoded == "." || decoded == ".." { return "the path must not contain \".\" or \"..\" segments" }
            if segment.isEmpty && index < segments.count - 1 { return "the path must not contain empty segments (\"//\")" }
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
