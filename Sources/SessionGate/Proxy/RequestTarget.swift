/// Checks a request target before it is routed.
///
/// Routing is by path prefix, so a path that an upstream might resolve differently from the proxy (dot segments,
/// empty segments, encoded or backslash separators) could reach a protected route through an unprotected prefix:
/// `/public/../admin/` is refused here rather than normalised, so the proxy and every upstream agree on the path.
/// The checks run on the path's UTF-8 bytes and allocate nothing.
enum RequestTarget {
    /// Nil when the target is acceptable, else why it is refused (answered with 400).
    static func problem(in uri: String) -> String? {
        // On the bytes in place: integer indices instead of `String.UTF8View`'s.
        var uri = uri
        return uri.withUTF8 { problem(inTarget: $0) }
    }

    /// ``problem(in:)`` for a target's bytes as received (see ``RequestHead/withTarget(_:)``).
    static func problem(inTarget all: UnsafeBufferPointer<UInt8>) -> String? {
        let path = all[..<(all.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? all.endIndex)]
        guard path.first == UInt8(ascii: "/") else {
            return "the request target must be a path starting with \"/\" (origin-form)"
        }
        if path.contains(UInt8(ascii: "\\")) { return "the path must not contain a backslash" }
        if hasEncodedSeparator(path) { return "the path must not contain an encoded slash, backslash or NUL" }
        // Segments after the leading "/": a dot segment ("." or "..", with any dot written as %2e) or an empty one
        // other than the last is refused, first problem first.
        var segmentStart = path.index(after: path.startIndex)
        while true {
            let end = path[segmentStart...].firstIndex(of: UInt8(ascii: "/")) ?? path.endIndex
            let segment = path[segmentStart..<end]
            if isDotSegment(segment) { return "the path must not contain \".\" or \"..\" segments" }
            guard end != path.endIndex else { return nil }
            if segment.isEmpty { return "the path must not contain empty segments (\"//\")" }
            segmentStart = path.index(after: end)
        }
    }

    /// `%2f`, `%5c` or `%00` anywhere, in either case.
    private static func hasEncodedSeparator(_ path: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var index = path.startIndex
        while let percent = path[index...].firstIndex(of: UInt8(ascii: "%")) {
            let first = path.index(after: percent)
            guard first != path.endIndex else { return false }
            let second = path.index(after: first)
            guard second != path.endIndex else { return false }
            switch (path[first], path[second].asciiLowercased) {
            case (UInt8(ascii: "2"), UInt8(ascii: "f")), (UInt8(ascii: "5"), UInt8(ascii: "c")),
                (UInt8(ascii: "0"), UInt8(ascii: "0")):
                return true
            default:
                index = first
            }
        }
        return false
    }

    /// True for `.` or `..`, each dot written as `.` or `%2e` (either case).
    private static func isDotSegment(_ segment: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var dots = 0
        var index = segment.startIndex
        while index != segment.endIndex {
            if segment[index] == UInt8(ascii: ".") {
                index = segment.index(after: index)
            } else if segment[index] == UInt8(ascii: "%"), segment.distance(from: index, to: segment.endIndex) >= 3,
                segment[segment.index(index, offsetBy: 1)] == UInt8(ascii: "2"),
                segment[segment.index(index, offsetBy: 2)].asciiLowercased == UInt8(ascii: "e")
            {
                index = segment.index(index, offsetBy: 3)
            } else {
                return false
            }
            dots += 1
        }
        return dots == 1 || dots == 2
    }
}
