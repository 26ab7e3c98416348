import NIOHTTP1
import Testing

@testable import SessionGate

@Suite("SessionExtractor")
struct SessionExtractorTests {
    let extractor = SessionExtractor(cookieName: "session_id", headerName: "X-Session-ID")
    static let cookieToken = "0123abcd" + String(repeating: "C", count: 43)
    static let headerToken = "0123abcd" + String(repeating: "H", count: 43)

    private func extract(_ headers: [(String, String)]) -> PresentedSession {
        extractor.extract(from: try! RequestHead.parsing(headers))
    }

    private func token(_ text: String, fromCookie: Bool) -> PresentedSession {
        .token(SessionToken(text)!, fromCookie: fromCookie)
    }

    @Test func cookieIsPreferredOverHeader() {
        let presented = extract([("X-Session-ID", Self.headerToken), ("Cookie", "session_id=\(Self.cookieToken)")])
        #expect(presented == token(Self.cookieToken, fromCookie: true))
        #expect(presented.cameFromCookie)
    }

    @Test func findsTheCookieAmongOthers() {
        let expected = token(Self.cookieToken, fromCookie: true)
        #expect(extract([("Cookie", "theme=dark; session_id=\(Self.cookieToken); lang=en")]) == expected)
        #expect(extract([("Cookie", "theme=dark;session_id=\(Self.cookieToken)")]) == expected)
        #expect(extract([("Cookie", "my_session_id=x; session_id_old=y; session_id=\(Self.cookieToken)")]) == expected)
        #expect(extract([("Cookie", "theme=dark, session_id=\(Self.cookieToken), lang=en")]) == expected)
        #expect(extract([("Cookie", "theme=dark;\tsession_id = \(Self.cookieToken) ")]) == expected)
    }

    @Test func findsTheCookieInAnyCookieHeader() {
        let presented = extract([("Cookie", "theme=dark"), ("cookie", "lang=en; session_id=\(Self.cookieToken)")])
        #expect(presented == token(Self.cookieToken, fromCookie: true))
    }

    @Test func quotedCookieValue() {
        #expect(extract([("Cookie", "session_id=\"\(Self.cookieToken)\"")]) == token(Self.cookieToken, fromCookie: true))
    }

    @Test(arguments: ["session_id=", "session_id=short", "session_id=\(String(SessionExtractorTests.cookieToken.dropLast()))+", "session_id=\"\""])
    func malformedCookieIsMalformedEvenWithAGoodHeader(cookie: String) {
        let presented = extract([("Cookie", cookie), ("X-Session-ID", Self.headerToken)])
        #expect(presented == .malformed(fromCookie: true))
        #expect(presented.cameFromCookie)
    }

    @Test func headerOnly() {
        #expect(extract([("X-Session-ID", Self.headerToken)]) == token(Self.headerToken, fromCookie: false))
        #expect(extract([("x-session-id", "  \(Self.headerToken)\t")]) == token(Self.headerToken, fromCookie: false))
        #expect(extract([("Cookie", "theme=dark"), ("X-Session-ID", Self.headerToken)]) == token(Self.headerToken, fromCookie: false))
        #expect(!extract([("X-Session-ID", Self.headerToken)]).cameFromCookie)
    }

    @Test func malformedHeader() {
        #expect(extract([("X-Session-ID", "not-a-token")]) == .malformed(fromCookie: false))
        #expect(extract([("X-Session-ID", "Bearer \(Self.headerToken)")]) == .malformed(fromCookie: false))
        // Checked byte by byte in the request's own bytes: right length but one byte outside the alphabet, a
        // non-ASCII character, a token with one character too many.
        let body = String(Self.headerToken.dropLast())
        #expect(extract([("X-Session-ID", body + "+")]) == .malformed(fromCookie: false))
        #expect(extract([("X-Session-ID", body + "é")]) == .malformed(fromCookie: false))
        #expect(extract([("X-Session-ID", String(body.dropLast()) + "é")]) == .malformed(fromCookie: false))
        #expect(extract([("X-Session-ID", Self.headerToken + "H")]) == .malformed(fromCookie: false))
    }

    @Test func nothingPresented() {
        #expect(extract([]) == PresentedSession.none)
        #expect(extract([("Cookie", "theme=dark; lang=en")]) == PresentedSession.none)
        #expect(extract([("Cookie", "Session_ID=\(Self.cookieToken)")]) == PresentedSession.none, "cookie names are case-sensitive")
        #expect(extract([("Authorization", "Bearer \(Self.headerToken)")]) == PresentedSession.none)
        #expect(!PresentedSession.none.cameFromCookie)
    }

    @Test func configuredNamesAreUsed() {
        let custom = SessionExtractor(cookieName: "sg", headerName: "X-Token")
        #expect(custom.extract(from: try! RequestHead.parsing([("Cookie", "sg=\(Self.cookieToken)")])) == token(Self.cookieToken, fromCookie: true))
        #expect(custom.extract(from: try! RequestHead.parsing([("X-Token", Self.headerToken)])) == token(Self.headerToken, fromCookie: false))
        #expect(custom.extract(from: try! RequestHead.parsing([("Cookie", "session_id=\(Self.cookieToken)")])) == PresentedSession.none)
        // The configured header name is matched in any case, as configured and as sent, also past eight bytes; a
        // name that only starts the same is another header.
        let long = SessionExtractor(cookieName: "sg", headerName: "X-My-Session-Token")
        #expect(long.extract(from: try! RequestHead.parsing([("x-my-SESSION-token", Self.headerToken)])) == token(Self.headerToken, fromCookie: false))
        #expect(long.extract(from: try! RequestHead.parsing([("X-My-Session-Tokens", Self.headerToken)])) == PresentedSession.none)
        #expect(long.extract(from: try! RequestHead.parsing([("X-My-Session-Tokex", Self.headerToken)])) == PresentedSession.none)
    }
}
