/// Header facts from RFC 9110 that the proxy and the configuration both rely on.
enum HTTPHeaderRules {
    /// Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded.
    /// `Expect` is answered by the proxy itself, so it is not passed on either.
    static let hopByHop: Set<String> = [
        "connection", "proxy-connection", "keep-alive", "te", "transfer-encoding", "upgrade", "expect",
    ]

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

extension UInt8 {
    /// The byte with `A`–`Z` mapped to `a`–`z`; other bytes unchanged.
    @inline(__always)
    var asciiLowercased: UInt8 { self &- 0x41 < 26 ? self | 0x20 : self }
}
