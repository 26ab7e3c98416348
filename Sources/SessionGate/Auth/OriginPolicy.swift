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

    init(allowed: [String]) {
        self.allowed = Set(allowed.compactMap(Self.normalize))
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
