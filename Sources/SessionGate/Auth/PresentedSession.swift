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
    /// ``cookieName``'s bytes, made once (cookie names compare byte for byte).
    private let cookieNameBytes: [UInt8]

    init(cookieName: String, headerName: String) {
        self.cookieName = cookieName
        self.headerName = headerName
        self.headerNameBytes = Array(headerName.lowercased().utf8)
        self.cookieNameBytes = Array(cookieName.utf8)
    }

    /// The session on a request as the proxy parsed it: the token in a `Cookie` header (``CookieHeader``), else in
    /// the session header, checked and copied from the request's bytes in place. Nothing is allocated.
    func extract(from head: RequestHead) -> PresentedSession {
        if head.hasCookie, let presented = fromCookie(head) { return presented }
        return head.withFirstValue(lowercaseName: headerNameBytes) { value in
            SessionToken(bytes: value).map { .token($0, fromCookie: false) } ?? .malformed(fromCookie: false)
        } ?? .none
    }

    /// The first cookie named ``cookieName`` across the `Cookie` headers, when there is one.
    private func fromCookie(_ head: RequestHead) -> PresentedSession? {
        cookieNameBytes.withUnsafeBytes { name in
            CookieHeader.withFirstValue(named: name, in: head) { value in
                SessionToken(bytes: value).map { .token($0, fromCookie: true) } ?? .malformed(fromCookie: true)
            }
        }
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
