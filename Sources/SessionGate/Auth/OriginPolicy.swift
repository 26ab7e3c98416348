import NIOHTTP1

/// The CSRF rule for cookie-authenticated requests: an unsafe method (POST, PUT, PATCH, DELETE) must come from one of
/// the site's own origins, as the browser states in `Origin` (or, when absent, in `Referer`).
///
/// Cookies are sent by the browser whatever site started the request; `Origin` is set by the browser and cannot be
/// forged by a page. Requests authenticated with the session header are exempt: another site cannot add a custom
/// header without a CORS preflight.
struct OriginPolicy: Sendable {
    /// Normalised origins (`scheme://host[:port]`, lowercase, default ports removed). Empty: same-origin, i.e. the
    /// origin's `host[:port]` must equal the request's `Host`.
    let allowed: Set<String>
    /// ``allowed`` as bytes, for the check on a request's own bytes (``allows(_:)``).
    private let allowedBytes: [[UInt8]]

    init(allowed: [String]) {
        self.allowed = Set(allowed.compactMap(Self.normalize))
        self.allowedBytes = self.allowed.map { Array($0.utf8) }
    }

    static func isUnsafe(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .TRACE: return false
        default: return true
        }
    }

    /// Whether a cookie-authenticated request with these headers may act for the user.
    func allows(headers: HTTPHeaders) -> Bool {
        let stated: String?
        if let origin = headers.first(name: "origin") {
            stated = origin
        } else if let referer = headers.first(name: "referer") {
            stated = Self.origin(ofURL: referer)
        } else {
            stated = nil
        }
        // No `Origin` and no `Referer`: the request did not come from a browser page we can place; refuse.
        guard let stated, let origin = Self.normalize(stated) else { return false }
        if !allowed.isEmpty { return allowed.contains(origin) }
        guard let host = headers.first(name: "host").map({ $0.lowercased() }),
            let schemeEnd = origin.range(of: "://")
        else { return false }
        let authority = String(origin[schemeEnd.upperBound...])
        return authority == host || authority == Self.withoutDefaultPort(host)
    }

    /// ``allows(headers:)`` on the request's own bytes: the three headers are found in place and the stated origin
    /// is normalised on the stack, so a browser's unsafe request makes no string for its check. Letters are
    /// lowercased as ASCII (browsers send hosts in ASCII, IDNs as punycode).
    func allows(_ head: RequestHead) -> Bool {
        let origin = head.firstValueRange(lowercaseName: Self.originName)
        let referer = origin == nil ? head.firstValueRange(lowercaseName: Self.refererName) : nil
        let host = head.firstValueRange(lowercaseName: Self.hostName)
        return head.raw.withUnsafeReadableBytes { bytes in
            let stated: UnsafeRawBufferPointer
            if let origin {
                stated = UnsafeRawBufferPointer(rebasing: bytes[origin])
            } else if let referer, let part = Self.originPart(ofURL: UnsafeRawBufferPointer(rebasing: bytes[referer])) {
                stated = part
            } else {
                return false
            }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(stated.count, 1)) { buffer in
                guard let (length, schemeLength) = Self.normalize(stated, into: buffer) else { return false }
                let normalized = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[..<length])
                if !allowedBytes.isEmpty { return allowedBytes.contains { $0.elementsEqual(normalized) } }
                guard let host else { return false }
                let authority = UnsafeRawBufferPointer(rebasing: normalized[(schemeLength + 3)...])
                let hostBytes = UnsafeRawBufferPointer(rebasing: bytes[host])
                return Self.equalsLowercased(authority, hostBytes)
                    || Self.equalsLowercased(authority, Self.withoutDefaultPort(hostBytes))
            }
        }
    }

    private static let originName = Array("origin".utf8)
    private static let refererName = Array("referer".utf8)
    private static let hostName = Array("host".utf8)

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

    /// ``origin(ofURL:)`` in place: `scheme://host[:port]` of an absolute URL, or nil.
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

    /// ``withoutDefaultPort(_:)`` in place.
    private static func withoutDefaultPort(_ host: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        for port: StaticString in [":80", ":443"] where host.count >= port.utf8CodeUnitCount {
            let start = host.count - port.utf8CodeUnitCount
            if ByteScan.hasPrefix(host, at: start, port) { return UnsafeRawBufferPointer(rebasing: host[..<start]) }
        }
        return host
    }

    /// `scheme://host[:port]` of an absolute URL, or nil.
    static func origin(ofURL url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        return String(url[..<schemeEnd.upperBound]) + rest[..<authorityEnd]
    }

    /// Lowercase, without a default port (`:80` for http, `:443` for https); nil for `null`, for anything with a path,
    /// user info, or an unknown scheme.
    static func normalize(_ origin: String) -> String? {
        let lower = origin.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        var authority = String(lower.dropFirst(scheme.count + 3))
        if authority.hasSuffix("/") { authority.removeLast() }
        guard !authority.isEmpty, !authority.contains(where: { "/?#@ ".contains($0) }) else { return nil }
        if scheme == "http", authority.hasSuffix(":80") { authority.removeLast(3) }
        if scheme == "https", authority.hasSuffix(":443") { authority.removeLast(4) }
        return "\(scheme)://\(authority)"
    }

    private static func withoutDefaultPort(_ host: String) -> String {
        for port in [":80", ":443"] where host.hasSuffix(port) { return String(host.dropLast(port.count)) }
        return host
    }
}
