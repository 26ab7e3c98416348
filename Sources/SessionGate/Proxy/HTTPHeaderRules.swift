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
