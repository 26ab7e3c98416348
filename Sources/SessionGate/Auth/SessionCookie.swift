/// The session cookie's `Set-Cookie` values, with the attributes from `[session]`.
enum SessionCookie {
    /// Attributes shared by setting and clearing: `Path`, `Domain`, `HttpOnly`, `Secure`, `SameSite`.
    static func attributes(_ session: SessionConfiguration) -> String {
        var parts = ["Path=\(session.cookiePath)"]
        if let domain = session.cookieDomain { parts.append("Domain=\(domain)") }
        parts.append("HttpOnly")
        if session.cookieSecure { parts.append("Secure") }
        parts.append("SameSite=\(session.cookieSameSite.rawValue)")
        return parts.joined(separator: "; ")
    }

    /// Sets the cookie to `token` for `maxAgeSeconds`.
    static func setting(_ token: SessionToken, maxAgeSeconds: Int64, _ session: SessionConfiguration) -> String {
        "\(session.cookieName)=\(token.rawValue); Max-Age=\(maxAgeSeconds); \(attributes(session))"
    }

    /// Deletes the cookie in the browser.
    static func clearing(_ session: SessionConfiguration) -> String {
        "\(session.cookieName)=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; \(attributes(session))"
    }
}
