import NIOHTTP1
import Testing

@testable import SessionGate

@Suite("LoginCredentials: login bodies")
struct LoginCredentialsTests {
    private func parse(_ type: String?, _ body: String) -> Result<LoginCredentials, LoginCredentials.BodyError> {
        LoginCredentials.parse(contentType: type, body: Array(body.utf8))
    }

    @Test func json() {
        #expect(parse("application/json; charset=utf-8", #"{"username":"alice","password":"p\u00e4ss w"}"#)
            == .success(LoginCredentials(username: "alice", password: "päss w")))
        #expect(parse("Application/JSON", #"{"password":"x","username":"a","extra":1}"#)
            == .success(LoginCredentials(username: "a", password: "x")))
    }

    @Test func form() {
        #expect(parse("application/x-www-form-urlencoded", "username=al%69ce&password=a+b%26c%3D")
            == .success(LoginCredentials(username: "alice", password: "a b&c=")))
        #expect(parse("application/x-www-form-urlencoded", "password=x&username=bob&username=eve")
            == .success(LoginCredentials(username: "bob", password: "x")))
    }

    @Test func malformedBodies() {
        #expect(parse("application/json", "[1,2]") == .failure(.malformed("the body is not a JSON object")))
        #expect(parse("application/json", "{") == .failure(.malformed("the body is not a JSON object")))
        #expect(parse("application/json", #"{"username":5,"password":"x"}"#) == .failure(.malformed("\"username\" must be a string")))
        #expect(parse("application/json", #"{"username":"a"}"#) == .failure(.malformed("\"password\" is required")))
        #expect(parse("application/json", #"{"username":"","password":"x"}"#) == .failure(.malformed("\"username\" is required")))
        #expect(parse("application/x-www-form-urlencoded", "username=a%2&password=x")
            == .failure(.malformed("the form body is not valid percent-encoding")))
        #expect(parse("application/x-www-form-urlencoded", "username=%ff&password=x")
            == .failure(.malformed("the form body is not valid percent-encoding")))
    }

    @Test func otherMediaTypes() {
        #expect(parse("text/plain", "username=a&password=b") == .failure(.unsupportedMediaType("text/plain")))
        #expect(parse(nil, "{}") == .failure(.unsupportedMediaType(nil)))
    }
}

@Suite("OriginPolicy: CSRF origin matching")
struct OriginPolicyTests {
    @Test func configuredOrigins() {
        let policy = OriginPolicy(allowed: ["https://App.Example.com", "http://localhost:8080/"])
        #expect(policy.allows(headers: HTTPHeaders([("Origin", "https://app.example.com")])))
        #expect(policy.allows(headers: HTTPHeaders([("Origin", "https://app.example.com:443")])))
        #expect(policy.allows(headers: HTTPHeaders([("Origin", "http://localhost:8080")])))
        #expect(!policy.allows(headers: HTTPHeaders([("Origin", "http://app.example.com")])), "scheme matters")
        #expect(!policy.allows(headers: HTTPHeaders([("Origin", "https://app.example.com.evil.io")])))
        #expect(!policy.allows(headers: HTTPHeaders([("Origin", "null")])))
        #expect(!policy.allows(headers: HTTPHeaders([])), "neither Origin nor Referer")
        #expect(policy.allows(headers: HTTPHeaders([("Referer", "https://app.example.com/a/b?c=d")])))
        #expect(!policy.allows(headers: HTTPHeaders([("Referer", "https://evil.io/https://app.example.com")])))
        #expect(!policy.allows(headers: HTTPHeaders([("Origin", "https://evil.io"), ("Referer", "https://app.example.com/")])),
            "Origin wins over Referer")
    }

    @Test func sameHostWhenNoneConfigured() {
        let policy = OriginPolicy(allowed: [])
        #expect(policy.allows(headers: HTTPHeaders([("Host", "shop.example:8443"), ("Origin", "https://shop.example:8443")])))
        #expect(policy.allows(headers: HTTPHeaders([("Host", "shop.example"), ("Origin", "https://shop.example")])))
        #expect(!policy.allows(headers: HTTPHeaders([("Host", "shop.example"), ("Origin", "https://evil.example")])))
        #expect(!policy.allows(headers: HTTPHeaders([("Origin", "https://shop.example")])), "no Host")
    }

    /// The proxy checks a request's own bytes: the same answers as from its headers, for both kinds of policy.
    @Test(arguments: [
        [("Origin", "https://app.example.com")], [("Origin", "HTTPS://App.Example.COM:443/")], [("Origin", "http://localhost:8080")],
        [("Origin", "http://app.example.com")], [("Origin", "https://app.example.com.evil.io")], [("Origin", "null")], [],
        [("Origin", "")], [("Origin", "https://")], [("Origin", "https:///")], [("Origin", "http://:80")],
        [("Origin", "https://user@app.example.com")], [("Origin", "https://app.example.com/path")],
        [("Referer", "https://app.example.com/a/b?c=d")], [("Referer", "https://evil.io/https://app.example.com")],
        [("Referer", "https://app.example.com?x")], [("Referer", "https://app.example.com#x")], [("Referer", "app.example.com")],
        [("Origin", "https://evil.io"), ("Referer", "https://app.example.com/")],
        [("Host", "shop.example:8443"), ("Origin", "https://shop.example:8443")], [("Host", "Shop.Example"), ("Origin", "https://shop.example")],
        [("Host", "shop.example:443"), ("Origin", "https://shop.example")], [("Host", "shop.example:80"), ("Origin", "http://shop.example")],
        [("Host", "shop.example"), ("Origin", "https://evil.example")], [("Host", "shop.example"), ("Referer", "http://shop.example:80/x")],
        [("Host", "app.example.com"), ("Origin", "https://app.example.com")], [("Host", "localhost:8080"), ("Origin", "http://localhost:8080/")],
    ])
    func requestBytesDecideAsTheHeaders(headers: [(String, String)]) throws {
        for version in [HTTPVersion.http1_0, .http1_1] {
            let head = try RequestHead.parsing(headers, method: "POST", version: version)
            for policy in [OriginPolicy(allowed: []), OriginPolicy(allowed: ["https://App.Example.com", "http://localhost:8080/"])] {
                #expect(policy.allows(head) == policy.allows(headers: head.headers), "\(headers) \(version)")
            }
        }
    }

    @Test func requestBytesDecide() throws {
        let sameHost = OriginPolicy(allowed: [])
        #expect(sameHost.allows(try RequestHead.parsing([("Host", "shop.example"), ("Origin", "https://shop.example")])))
        #expect(!sameHost.allows(try RequestHead.parsing([("Host", "shop.example"), ("Origin", "https://evil.example")])))
        #expect(!sameHost.allows(try RequestHead.parsing([("Origin", "https://shop.example")], version: .http1_0)), "no Host")
        let listed = OriginPolicy(allowed: ["https://App.Example.com"])
        #expect(listed.allows(try RequestHead.parsing([("Referer", "https://app.example.com/a")])))
        #expect(!listed.allows(try RequestHead.parsing([("Origin", "https://evil.io"), ("Referer", "https://app.example.com/")])))
    }

    @Test func normalization() {
        #expect(OriginPolicy.normalize("HTTP://Example.COM:80") == "http://example.com")
        #expect(OriginPolicy.normalize("https://a.b/path") == nil)
        #expect(OriginPolicy.normalize("https://user@a.b") == nil)
        #expect(OriginPolicy.normalize("ftp://a.b") == nil)
        #expect(OriginPolicy.origin(ofURL: "https://a.b:1/x?y#z") == "https://a.b:1")
    }
}

@Suite("AuthEndpoint: paths")
struct AuthEndpointTests {
    @Test func matchesUnderThePrefix() {
        #expect(AuthEndpoint.match(uri: "/auth/login?next=/", prefix: "/auth") == .login)
        #expect(AuthEndpoint.match(uri: "/auth/logout", prefix: "/auth") == .logout)
        #expect(AuthEndpoint.match(uri: "/auth/logout-others", prefix: "/auth") == .logoutOthers)
        #expect(AuthEndpoint.match(uri: "/auth/sessions", prefix: "/auth") == .sessions)
        #expect(AuthEndpoint.match(uri: "/auth/sessions/abc", prefix: "/auth") == .session(handle: "abc"))
        #expect(AuthEndpoint.match(uri: "/auth/me", prefix: "/auth") == .me)
        #expect(AuthEndpoint.match(uri: "/auth/users/u%2F1/revoke", prefix: "/auth") == .revokeUser(id: "u/1"))
        #expect(AuthEndpoint.match(uri: "/session/me", prefix: "/session") == .me)
        #expect(AuthEndpoint.match(uri: "/auth", prefix: "/auth") == .unknown)
        #expect(AuthEndpoint.match(uri: "/auth/sessions/", prefix: "/auth") == .unknown)
        #expect(AuthEndpoint.match(uri: "/auth/users//revoke", prefix: "/auth") == .unknown)
        #expect(AuthEndpoint.match(uri: "/authx/login", prefix: "/auth") == nil)
        #expect(AuthEndpoint.match(uri: "/app/auth/login", prefix: "/auth") == nil)
    }

    /// The proxy asks with the target's bytes; that answer must be the string match's, including for near misses.
    @Test(arguments: [
        "/auth", "/auth?next=/", "/auth/", "/auth/login", "/auth/login?x=1", "/auth/sessions/abc", "/authx", "/authx/login",
        "/aut", "/", "", "/auth#x", "/app/auth/login", "/Auth/login", "/auth//login",
    ])
    func targetBytesMatchAsTheString(target: String) {
        var bytes = target
        let fromBytes = bytes.withUTF8 { AuthEndpoint.match(target: $0, prefix: "/auth") }
        #expect(fromBytes == AuthEndpoint.match(uri: target, prefix: "/auth"))
        let under = bytes.withUTF8 { AuthEndpoint.isUnder(prefix: "/auth", target: $0) }
        #expect(under == (AuthEndpoint.match(uri: target, prefix: "/auth") != nil))
    }

    @Test func methods() {
        #expect(AuthEndpoint.login.method == .POST)
        #expect(AuthEndpoint.sessions.method == .GET)
        #expect(AuthEndpoint.session(handle: "h").method == .DELETE)
        #expect(AuthEndpoint.unknown.method == nil)
    }
}

@Suite("AuthenticatorVerifier: answers")
struct AuthenticatorAnswerTests {
    private func user(_ json: String) -> VerifiedUser? { AuthenticatorVerifier.user(fromJSON: Array(json.utf8)) }

    @Test func readsTheUser() {
        #expect(user(#"{"user_id":"7","username":"bob","roles":["a","b"]}"#) == VerifiedUser(userID: "7", userName: "bob", roles: ["a", "b"]))
        #expect(user(#"{"user_id":"7"}"#) == VerifiedUser(userID: "7", userName: "", roles: []))
    }

    @Test func refusesMalformedAnswers() {
        #expect(user(#"{"username":"bob"}"#) == nil)
        #expect(user(#"{"user_id":""}"#) == nil)
        #expect(user(#"{"user_id":7}"#) == nil)
        #expect(user(#"{"user_id":"7","roles":"admin"}"#) == nil)
        #expect(user("not json") == nil)
    }
}
