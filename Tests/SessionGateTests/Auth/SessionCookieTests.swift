import Foundation
import Testing

@testable import SessionGate

@Suite("SessionCookie")
struct SessionCookieTests {
    static let token = SessionToken("0123abcd" + String(repeating: "A", count: 43))!

    /// The `name=value` pair and the attributes of a `Set-Cookie` value.
    private func parse(_ setCookie: String) -> (pair: String, attributes: [String]) {
        let parts = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        return (parts[0], Array(parts.dropFirst()))
    }

    @Test func defaultSettingCookie() {
        let value = SessionCookie.setting(Self.token, maxAgeSeconds: 1800, SessionConfiguration())
        #expect(value == "session_id=\(Self.token.rawValue); Max-Age=1800; Path=/; HttpOnly; Secure; SameSite=Lax")
    }

    @Test func attributesFollowTheConfiguration() {
        var session = SessionConfiguration()
        session.cookieName = "sg"
        session.cookieSecure = false
        session.cookieSameSite = .strict
        session.cookiePath = "/app"
        session.cookieDomain = "example.com"
        let (pair, attributes) = parse(SessionCookie.setting(Self.token, maxAgeSeconds: 60, session))
        #expect(pair == "sg=\(Self.token.rawValue)")
        #expect(Set(attributes) == ["Max-Age=60", "Path=/app", "Domain=example.com", "HttpOnly", "SameSite=Strict"])
        #expect(!attributes.contains("Secure"))
    }

    @Test(arguments: CookieSameSite.allCases)
    func httpOnlyAlwaysAndSameSiteAsConfigured(sameSite: CookieSameSite) {
        var session = SessionConfiguration()
        session.cookieSameSite = sameSite
        for secure in [true, false] {
            session.cookieSecure = secure
            let attributes = parse(SessionCookie.setting(Self.token, maxAgeSeconds: 5, session)).attributes
            #expect(attributes.contains("HttpOnly"))
            #expect(attributes.contains("SameSite=\(sameSite.rawValue)"))
            #expect(attributes.contains("Secure") == secure)
            #expect(!attributes.contains { $0.hasPrefix("Domain=") })
        }
    }

    @Test func clearingCookieExpiresAtOnceWithTheSameScope() {
        var session = SessionConfiguration()
        session.cookiePath = "/app"
        session.cookieDomain = "example.com"
        let (pair, attributes) = parse(SessionCookie.clearing(session))
        #expect(pair == "session_id=")
        #expect(attributes.contains("Max-Age=0"))
        #expect(attributes.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"))
        #expect(attributes.contains("Path=/app"))
        #expect(attributes.contains("Domain=example.com"))
        #expect(attributes.contains("HttpOnly"))
        #expect(attributes.contains("Secure"))
        #expect(attributes.contains("SameSite=Lax"))

        #expect(SessionCookie.clearing(SessionConfiguration())
            == "session_id=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; Secure; SameSite=Lax")
    }
}
