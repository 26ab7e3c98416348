import Foundation
import Testing

@testable import SessionGate

/// Login itself: limits, throttling, fixation, both credential backends, CSRF and malformed requests.
@Suite("Auth: login")
struct AuthLoginTests {
    @Test func limitEvictsTheOldestSession() async throws {
        let pair = try await AuthPair.start(auth: "max_sessions_per_user = 2\non_limit = \"evict_oldest\"")
        defer { Task { await pair.stop() } }
        let first = try await pair.a.device("alice", userAgent: "first")
        let second = try await pair.b.device("alice", userAgent: "second")
        let third = try await pair.a.device("alice", userAgent: "third")
        #expect(try await pair.b.isValid(first) == false)
        #expect(try await pair.b.isValid(second))
        #expect(try await pair.a.isValid(third))
        #expect(try await pair.a.sessions(third).map { $0["user_agent"] as? String } == ["second", "third"])
    }

    @Test func limitRejectsAFurtherLogin() async throws {
        let pair = try await AuthPair.start(auth: "max_sessions_per_user = 2\non_limit = \"reject\"")
        defer { Task { await pair.stop() } }
        let first = try await pair.a.device("alice")
        let second = try await pair.b.device("alice")
        let refused = try await pair.a.login("alice", "wonderland")
        #expect(refused.status == 409)
        #expect(refused.errorCode == "session_limit")
        #expect(try await pair.b.isValid(first))
        #expect(try await pair.a.isValid(second))
        // Another user is not affected; after a logout there is room again.
        _ = try await pair.a.device("bob")
        #expect(try await pair.a.send("POST", "/auth/logout", headers: first.headerHeaders).status == 200)
        #expect(try await pair.b.login("alice", "wonderland").status == 200)
    }

    @Test func failedLoginsPerUserAreThrottledAcrossBothInstances() async throws {
        let pair = try await AuthPair.start(auth: "max_failed_logins_per_user = 3\nfailed_login_window = \"10m\"")
        defer { Task { await pair.stop() } }
        // Three failures from three addresses, alternating instances.
        #expect(try await pair.a.login("alice", "wrong1", address: "10.1.0.1").status == 401)
        #expect(try await pair.b.login("alice", "wrong2", address: "10.1.0.2").status == 401)
        #expect(try await pair.a.login("alice", "wrong3", address: "10.1.0.3").status == 401)
        for instance in [pair.b, pair.a] {
            let limited = try await instance.login("alice", "wonderland", address: "10.1.0.4")
            #expect(limited.status == 429)
            let retryAfter = try #require(limited.header("Retry-After").flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 600)
            #expect(try limited.json()["retry_after"] as? Int == retryAfter)
            #expect(limited.errorCode == "too_many_requests")
        }
        // Another user is not throttled.
        #expect(try await pair.b.login("bob", "builder", address: "10.1.0.1").status == 200)
    }

    @Test func failedLoginsPerAddressAreThrottledAcrossBothInstances() async throws {
        let pair = try await AuthPair.start(auth: "max_failed_logins_per_ip = 2")
        defer { Task { await pair.stop() } }
        #expect(try await pair.a.login("alice", "nope", address: "203.0.113.9").status == 401)
        #expect(try await pair.b.login("bob", "nope", address: "203.0.113.9").status == 401)
        let limited = try await pair.a.login("root", "r00t-pass", address: "203.0.113.9")
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") != nil)
        #expect(try await pair.b.login("root", "r00t-pass", address: "203.0.113.10").status == 200)
    }

    @Test func successfulLoginResetsTheUsersFailures() async throws {
        let pair = try await AuthPair.start(auth: "max_failed_logins_per_user = 2")
        defer { Task { await pair.stop() } }
        #expect(try await pair.a.login("alice", "bad").status == 401)
        #expect(try await pair.b.login("alice", "wonderland").status == 200)
        #expect(try await pair.a.login("alice", "bad").status == 401)
        #expect(try await pair.b.login("alice", "bad").status == 401)
        #expect(try await pair.a.login("alice", "wonderland").status == 429)
    }

    @Test func preLoginSessionIsEndedAndTheNewIDDiffers() async throws {
        let pair = try await AuthPair.start()
        defer { Task { await pair.stop() } }
        // A session planted in the browser before login (e.g. by an attacker who knows its ID).
        let planted = try await pair.a.login(user: "u-alice", name: "alice", roles: ["user"])
        let plantedDevice = Device(token: planted, address: "10.0.0.1", userAgent: "x")
        #expect(try await pair.b.isValid(plantedDevice))
        let response = try await pair.a.login(
            "alice", "wonderland", extraHeaders: [("Cookie", "session_id=\(planted)"), ("Origin", AuthPair.origin)])
        #expect(response.status == 200)
        let fresh = try #require(try response.json()["token"] as? String)
        #expect(fresh != planted)
        #expect(response.header("Set-Cookie")?.hasPrefix("session_id=\(fresh);") == true)
        #expect(try await pair.b.isValid(plantedDevice) == false)
        #expect(try await pair.b.isValid(Device(token: fresh, address: "10.0.0.1", userAgent: "x")))
    }

    @Test func unknownUserAndWrongPasswordAnswerAlike() async throws {
        let pair = try await AuthPair.start(single: true)
        defer { Task { await pair.stop() } }
        let wrongPassword = try await pair.a.login("alice", "not-her-password")
        let unknownUser = try await pair.a.login("mallory", "whatever")
        #expect(wrongPassword.status == 401)
        #expect(unknownUser.status == wrongPassword.status)
        #expect(unknownUser.bodyString == wrongPassword.bodyString)
        #expect(unknownUser.header("Set-Cookie") == nil && wrongPassword.header("Set-Cookie") == nil)
    }

    @Test func htmlFormLoginWorks() async throws {
        let pair = try await AuthPair.start(single: true)
        defer { Task { await pair.stop() } }
        let response = try await pair.a.send(
            "POST", "/auth/login", headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", AuthPair.origin)],
            body: "username=root&password=r00t-pass")
        #expect(response.status == 200)
        #expect((try response.json()["user"] as? [String: Any])?["id"] as? String == "u-root")
    }

    @Test func malformedRequestsGetPreciseErrors() async throws {
        let pair = try await AuthPair.start(single: true)
        defer { Task { await pair.stop() } }
        let get = try await pair.a.send("GET", "/auth/login")
        #expect(get.status == 405)
        #expect(get.header("Allow") == "POST")
        let text = try await pair.a.send("POST", "/auth/login", headers: [("Content-Type", "text/plain")], body: "alice:pw")
        #expect(text.status == 415)
        let badJSON = try await pair.a.send("POST", "/auth/login", headers: [("Content-Type", "application/json")], body: "{\"username\":")
        #expect(badJSON.status == 400)
        let missing = try await pair.a.send("POST", "/auth/login", headers: [("Content-Type", "application/json")], body: "{\"username\":\"alice\"}")
        #expect(missing.status == 400)
        #expect(missing.bodyString.contains("password"))
        let huge = try await pair.a.send(
            "POST", "/auth/login", headers: [("Content-Type", "application/json")], body: String(repeating: "x", count: 20_000))
        #expect(huge.status == 413)
        #expect(try await pair.a.send("GET", "/auth/nothing-here").status == 404)
        #expect(try await pair.a.send("DELETE", "/auth/sessions/zz").status == 401)
    }

    @Test func authenticatorBackend() async throws {
        let authenticator = try await TestAuthenticator.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sg-auth-\(UUID().uuidString)")
        let pair = try await AuthPair.start(
            toml: """
                [auth]
                authenticator = "http://127.0.0.1:\(authenticator.port)/check"
                authenticator_timeout = "2s"
                """,
            directory: directory)
        defer { Task { await pair.stop() } }
        let login = try await pair.a.login("carol", "s3cret")
        #expect(login.status == 200)
        let token = try #require(try login.json()["token"] as? String)
        let me = try await pair.b.send("GET", "/auth/me", headers: [("X-Session-ID", token)])
        #expect(try me.json()["user_id"] as? String == "c-100")
        #expect(try me.json()["roles"] as? [String] == ["user", "editor"])
        #expect(try await pair.a.login("carol", "wrong").status == 401)
        #expect(try await pair.b.login("dave", "s3cret").status == 401)
        #expect(authenticator.callCount == 3)

        await authenticator.stop()
        let down = try await pair.a.login("carol", "s3cret")
        #expect(down.status == 503, "fail closed when the user service is unreachable")
        #expect(down.errorCode == "credential_backend_unavailable")
    }

    @Test func crossOriginCookieRequestsAreRefused() async throws {
        let pair = try await AuthPair.start()
        defer { Task { await pair.stop() } }
        let alice = try await pair.a.device("alice")
        let cookie = ("Cookie", "session_id=\(alice.token)")

        let evil = try await pair.b.send("POST", "/app/transfer", headers: [cookie, ("Origin", "https://evil.example")], body: "x")
        #expect(evil.status == 403)
        #expect(evil.errorCode == "forbidden")
        #expect(try await pair.b.send("POST", "/app/transfer", headers: [cookie], body: "x").status == 403, "no Origin, no Referer")
        #expect(try await pair.b.send("DELETE", "/app/item/1", headers: [cookie, ("Origin", "null")]).status == 403)
        let logout = try await pair.a.send("POST", "/auth/logout", headers: [cookie, ("Origin", "https://evil.example")])
        #expect(logout.status == 403)
        #expect(try await pair.a.isValid(alice), "the refused logout did nothing")

        #expect(try await pair.b.send("POST", "/app/transfer", headers: [cookie, ("Origin", AuthPair.origin)], body: "x").status == 200)
        #expect(try await pair.b.send("PUT", "/app/x", headers: [cookie, ("Referer", AuthPair.origin + "/page?a=1")], body: "x").status == 200)
        #expect(try await pair.b.send("GET", "/app/x", headers: [cookie, ("Origin", "https://evil.example")]).status == 200)
        // API clients with the session header are not subject to it.
        #expect(try await pair.b.send(
            "POST", "/app/transfer", headers: [("X-Session-ID", alice.token), ("Origin", "https://evil.example")], body: "x").status == 200)
        // Login from another site's page is refused too (login CSRF).
        let crossLogin = try await pair.a.login("alice", "wonderland", extraHeaders: [("Origin", "https://evil.example")])
        #expect(crossLogin.status == 403)
    }

    @Test func loginFailsClosedWhenRedisIsDown() async throws {
        let pair = try await AuthPair.start(single: true)
        defer { Task { await pair.stop() } }
        let alice = try await pair.a.device("alice")
        pair.redis.kill()
        let login = try await pair.a.login("alice", "wonderland")
        #expect(login.status == 503)
        #expect(login.errorCode == "session_store_unavailable")
        #expect(login.header("Set-Cookie") == nil)
        #expect(try await pair.a.send("GET", "/auth/me", headers: alice.headerHeaders).status == 503)
        #expect(try await pair.a.send("POST", "/auth/logout", headers: alice.headerHeaders).status == 503)
    }
}
