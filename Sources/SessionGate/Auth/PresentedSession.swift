/// The session a request presents: from the cookie, else from the header.
enum PresentedSession: Equatable {
    case none
    /// Something was sent but cannot be a token (wrong length or alphabet): refused without a store lookup.
    case malformed(fromCookie: Bool)
    case token(SessionToken, fromCookie: Bool)

    var cameFromCookie: Bool {
        switch self {
        case .none: return false
        case .malformed(let fromCookie), .token(_, let fromCookie): return fromCookie
        }
    }
}

/// Finds the session token on a request.
struct SessionExtractor: Sendable {
    let cookieName: String
    let headerName: String
    /// ``headerName`` in lowercase bytes, made once.
    private let headerNameBytes: [UInt8]

    init(cookieName: String, headerName: String) {
        self.cookieName = cookieName
        self.headerName = headerName
        self.headerNameBytes = Array(headerName.lowercased().utf8)
    }

    /// The session on a request as the proxy parsed it: strings are made only for the `Cookie` headers; a token in
    /// the header is checked and copied from the request's bytes in place.
    func extract(from head: RequestHead) -> PresentedSession {
        let cookieHeaders = head.hasCookie ? head.values(named: "cookie") : []
        if let value = cookieValue(in: cookieHeaders) {
            return SessionToken(value).map { .token($0, fromCookie: true) } ?? .malformed(fromCookie: true)
        }
        return head.withFirstValue(lowercaseName: headerNameBytes) { value in
            SessionToken(bytes: value).map { .token($0, fromCookie: false) } ?? .malformed(fromCookie: false)
        } ?? .none
    }

    /// The first cookie named ``cookieName`` across all `Cookie` headers (each split on commas as well as
    /// semicolons, as NIO's `canonicalForm` read them).
    func cookieValue(in cookieHeaders: [String]) -> Substring? {
        for header in cookieHeaders {
            for part in header.split(separator: ",") {
                for pair in part.split(separator: ";") {
                    guard let equals = pair.firstIndex(of: "=") else { continue }
                    guard pair[..<equals].trimmingSpacesAndTabs() == cookieName else { continue }
                    var value = pair[pair.index(after: equals)...].trimmingSpacesAndTabs()
                    if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
                    return value
                }
            }
        }
        return nil
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs; a slice, so nothing is copied.
    func trimmingSpacesAndTabs() -> Substring {
        var s = self
        while let f = s.utf8.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.utf8.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return s
    }
}
