import NIOHTTP1

/// The CSRF rule for cookie-authenticated requests: an unsafe method (POST, PUT, PATCH, DELETE) must come from one of
/// the site's own origins, as the browser states in `Origin` (or, when absent, in `Referer`).
///
/// Cookies are sent by the browser whatever site started the request; `Origin` is set by the browser and cannot be
/// forged by a page. Requests authenticated with the session header are exempt: another site cannot add a custom
/// header without a CORS preflight.
struct OriginPolicy: Sendable {
    /// Normalised origins (`scheme://host[:port]`, lowercase, default ports removed), as bytes. Empty: same-origin,
    /// i.e. the origin's `host[:port]` must equal the request's `Host`.
    private let allowed: [[UInt8]]

    init(allowed: [String]) {
        self.allowed = Array(Set(allowed.compactMap(Self.normalize))).map { Array($0.utf8) }
    }

    static func isUnsafe(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .TRACE: return false
        default: return true
        }
    }

    /// Whether a cookie-authenticated request with these headers may act for the user (the `[auth]` endpoints, which
    /// have NIO's headers); the same rule as ``allows(_:)``.
    func allows(headers: HTTPHeaders) -> Bool {
        let origin = headers.first(name: "origin")
        return Self.withBytes(origin) { origin in
            Self.withBytes(origin == nil ? headers.first(name: "referer") : nil) { referer in
                Self.withBytes(headers.first(name: "host")) { host in
                    allows(origin: origin, referer: referer, host: host)
                }
            }
        }
    }

    /// Whether a cookie-authenticated request may act for the user, read off its own bytes: the three headers are
    /// found in place and the stated origin is normalised on the stack, so a browser's unsafe request makes no string
    /// for its check.
    func allows(_ head: RequestHead) -> Bool {
        let origin = head.firstValueRange(lowercaseName: Self.originName)
        let referer = origin == nil ? head.firstValueRange(lowercaseName: Self.refererName) : nil
        let host = head.firstValueRange(lowercaseName: Self.hostName)
        return head.raw.withUnsafeReadableBytes { bytes in
            allows(
                origin: origin.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) },
                referer: referer.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) },
                host: host.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) })
        }
    }

    /// The rule: the origin `Origin` states (or, without it, `Referer`'s), normalised, must be an allowed one, or
    /// with none configured name the request's `Host`. No `Origin` and no `Referer`: the request did not come from a
    /// browser page we can place; refused. Letters are lowercased as ASCII (browsers send hosts in ASCII, IDNs as
    /// punycode).
    private func allows(origin: UnsafeRawBufferPointer?, referer: UnsafeRawBufferPointer?, host: UnsafeRawBufferPointer?)
        -> Bool
    {
        let stated: UnsafeRawBufferPointer
        if let origin {
            stated = origin
        } else if let referer, let part = Self.originPart(ofURL: referer) {
            stated = part
        } else {
            return false
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(stated.count, 1)) { buffer in
            guard let (length, schemeLength) = Self.normalize(stated, into: buffer) else { return false }
            let normalized = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[..<length])
            if !allowed.isEmpty { return allowed.contains { $0.elementsEqual(normalized) } }
            guard let host else { return false }
            let authority = UnsafeRawBufferPointer(rebasing: normalized[(schemeLength + 3)...])
            return Self.equalsLowercased(authority, host) || Self.equalsLowercased(authority, Self.withoutDefaultPort(host))
        }
    }

    private static let originName = Array("origin".utf8)
    private static let refererName = Array("referer".utf8)
    private static let hostName = Array("host".utf8)

    /// `body` with a string's UTF-8 bytes, or nil.
    private static func withBytes<Result>(_ text: String?, _ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        guard var text else { return body(nil) }
        return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// ``normalize(_:)`` into `buffer` (at least as long as `origin`): the normalised origin's length and its
    /// scheme's, or nil.
    private static func normalize(_ origin: UnsafeRawBufferPointer, into buffer: UnsafeMutableBufferPointer<UInt8>)
        -> (length: Int, schemeLength: Int)?
    {
        for index in 0..<origin.count { buffer[index] = origin[index].asciiLowercased }
        let lower = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[..<origin.count])
        let schemeLength: Int
        if ByteScan.hasPrefix(lower, at: 0, "https://") {
            schemeLength = 5
        } else if ByteScan.hasPrefix(lower, at: 0, "http://") {
            schemeLength = 4
        } else {
            return nil
        }
        var end = lower.count
        if end > schemeLength + 3, lower[end - 1] == UInt8(ascii: "/") { end -= 1 }
        let authority = schemeLength + 3..<end
        guard !authority.isEmpty, !lower[authority].contains(where: { Self.notInAuthority.contains($0) }) else {
            return nil
        }
        let defaultPort: StaticString = schemeLength == 4 ? ":80" : ":443"
        let portLength = defaultPort.utf8CodeUnitCount
        if authority.count >= portLength, ByteScan.hasPrefix(lower, at: end - portLength, defaultPort) { end -= portLength }
        return (end, schemeLength)
    }

    private static let notInAuthority: [UInt8] = Array("/?#@ ".utf8)

    /// `scheme://host[:port]` of an absolute URL, in place, or nil.
    private static func originPart(ofURL url: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard url.count >= 3 else { return nil }
        for index in 0...(url.count - 3)
        where url[index] == UInt8(ascii: ":") && url[index + 1] == UInt8(ascii: "/") && url[index + 2] == UInt8(ascii: "/")
        {
            var end = index + 3
            while end < url.count, url[end] != UInt8(ascii: "/"), url[end] != UInt8(ascii: "?"), url[end] != UInt8(ascii: "#") {
                end += 1
            }
            return UnsafeRawBufferPointer(rebasing: url[..<end])
        }
        return nil
    }

    /// Whether `lowercase` equals `text` with its ASCII letters lowercased.
    private static func equalsLowercased(_ lowercase: UnsafeRawBufferPointer, _ text: UnsafeRawBufferPointer) -> Bool {
        lowercase.count == text.count && zip(lowercase, text).allSatisfy { $0 == $1.asciiLowercased }
    }

    /// `host` without a default port (`:80`, `:443`).
    private static func withoutDefaultPort(_ host: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        for port: StaticString in [":80", ":443"] where host.count >= port.utf8CodeUnitCount {
            let start = host.count - port.utf8CodeUnitCount
            if ByteScan.hasPrefix(host, at: start, port) { return UnsafeRawBufferPointer(rebasing: host[..<start]) }
        }
        return host
    }

    /// `scheme://host[:port]` of an absolute URL, or nil.
    static func origin(ofURL url: String) -> String? {
        withBytes(url) { originPart(ofURL: $0!).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Lowercase, without a default port (`:80` for http, `:443` for https); nil for `null`, for anything with a path,
    /// user info, or an unknown scheme. Non-ASCII letters are lowercased too (configured origins; see ``allows(_:)``).
    static func normalize(_ origin: String) -> String? {
        withBytes(origin.lowercased()) { lower in
            let lower = lower!
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(lower.count, 1)) { buffer in
                normalize(lower, into: buffer).map { String(decoding: UnsafeBufferPointer(rebasing: buffer[..<$0.length]), as: UTF8.self) }
            }
        }
    }
}
