/// Header facts from RFC 9110 that the proxy and the configuration both rely on.
enum HTTPHeaderRules {
    /// Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded.
    /// `Expect` is answered by the proxy itself, so it is not passed on either.
    static let hopByHop: Set<String> = [
        "connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade", "expect",
    ]

    /// ``hopByHop`` as a table for allocation-free lookups on the hot path.
    static let hopByHopTable = HeaderNameTable(hopByHop.sorted().map { ($0, ()) })

    /// Headers the proxy sets itself; identity headers may not take these names.
    static let reserved: Set<String> = hopByHop.union([
        "host", "content-length", "cookie", "set-cookie", "authorization", "x-forwarded-for", "x-forwarded-proto",
        "x-forwarded-host", "x-request-id", "x-real-ip", "forwarded",
    ])

    /// True for an RFC 9110 token: the syntax of header and cookie names.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }

    /// Appends the options a `Connection` header value lists: the names of more headers that are hop-by-hop for
    /// this message. Split on bytes, not `Character`s; `keep-alive` is left out because that header is hop-by-hop
    /// anyway, which keeps the list empty for the usual `Connection: keep-alive`.
    static func appendConnectionOptions(of value: String, to options: inout [Substring]) {
        let utf8 = value.utf8
        var start = utf8.startIndex
        while start < utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: ",")) ?? utf8.endIndex
            let option = Substring(utf8[start..<end]).trimmingASCIIWhitespace()
            if !option.isEmpty && !option.equalsTrimmedToken("keep-alive") { options.append(option) }
            start = end == utf8.endIndex ? end : utf8.index(after: end)
        }
    }

    static func isTokenByte(_ b: UInt8) -> Bool { ByteScan.isTokenByte(b) }
}

extension String {
    /// True when this header name equals `lowercaseName` ignoring ASCII case, compared on UTF-8 bytes without
    /// allocating. `lowercaseName` must be lowercase ASCII.
    @inline(__always)
    func equalsHeaderName(_ lowercaseName: String) -> Bool {
        let a = utf8
        let b = lowercaseName.utf8
        guard a.count == b.count else { return false }
        // Native strings (all parsed headers and literals) compare as plain byte buffers.
        let compared = a.withContiguousStorageIfAvailable { x in
            b.withContiguousStorageIfAvailable { y in
                for i in 0..<x.count where x[i].asciiLowercased != y[i] { return false }
                return true
            }
        }
        if let compared, let equal = compared { return equal }
        return zip(a, b).allSatisfy { x, y in x.asciiLowercased == y }
    }
}

extension UInt8 {
    /// The byte with `A`–`Z` mapped to `a`–`z`; other bytes unchanged.
    @inline(__always)
    var asciiLowercased: UInt8 { self &- 0x41 < 26 ? self | 0x20 : self }
}

extension Substring {
    /// True when this comma-list element equals `lowercaseWord` ignoring ASCII case and surrounding spaces/tabs.
    func equalsTrimmedToken(_ lowercaseWord: String) -> Bool {
        var bytes = utf8[...]
        while let f = bytes.first, f == 0x20 || f == 0x09 { bytes = bytes.dropFirst() }
        while let l = bytes.last, l == 0x20 || l == 0x09 { bytes = bytes.dropLast() }
        let b = lowercaseWord.utf8
        guard bytes.count == b.count else { return false }
        return zip(bytes, b).allSatisfy { x, y in x.asciiLowercased == y }
    }
}

extension Substring {
    /// Without leading and trailing ASCII whitespace (space, tab, CR, LF), as NIO's `canonicalForm` trims.
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d || $0 == 0x0a }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) })
        else { return self[endIndex...] }
        return Substring(utf8[first...last])
    }

    /// True when this equals the header name `name`, ignoring ASCII case in both.
    func equalsHeaderNameIgnoringCase(_ name: String) -> Bool {
        let a = utf8
        let b = name.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in x.asciiLowercased == y.asciiLowercased }
    }
}
