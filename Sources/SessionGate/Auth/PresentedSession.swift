import NIOHTTP1

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

    func extract(from headers: HTTPHeaders) -> PresentedSession {
        if let value = cookieValue(in: headers) {
            return SessionToken(value).map { .token($0, fromCookie: true) } ?? .malformed(fromCookie: true)
        }
        if let value = headers.first(name: headerName) {
            let trimmed = Substring(value).trimmingSpaces()
            return SessionToken(trimmed).map { .token($0, fromCookie: false) } ?? .malformed(fromCookie: false)
        }
        return .none
    }

    /// The first cookie named ``cookieName`` across all `Cookie` headers.
    func cookieValue(in headers: HTTPHeaders) -> Substring? {
        for header in headers[canonicalForm: "cookie"] {
            for pair in header.split(separator: ";") {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let name = pair[..<equals].trimmingSpaces()
                guard name == cookieName else { continue }
                var value = Substring(pair[pair.index(after: equals)...].trimmingSpaces())
                if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
                return value
            }
        }
        return nil
    }
}
