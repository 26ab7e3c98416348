import Foundation
import Testing

@testable import SessionGate

/// Login, logout, logout-others, the session list and admin revocation over HTTP, on two SessionGate instances
/// sharing one real Redis.
@Suite("Auth: session lifecycle across two instances")
struct AuthLifecycleTests {
    @Test("log in on A, use on B; logout on B is seen on A", arguments: [false, true])
    func loginOnAUseOnBLogoutOnB(nearCache: Bool) async throws {
        let pair = try await AuthPair.start(localCache: nearCache)
        defer { Task { await pair.stop() } }

        let login = try await pair.a.login("alice", "wonderland")
        #expect(login.status == 200)
        let json = try login.json()
        let token = try #require(json["token"] as? String)
        let user = try #require(json["user"] as? [String: Any])
        #expect(user["id"] as? String == "u-alice")
        #expect(user["name"] as? String == "alice")
        #expect(user["roles"] as? [String] == ["user"])
        #expect((json["expires_at"] as? Int ?? 0) > 0)
        let cookie = try #require(login.header("Set-Cookie"))
        #expect(cookie.hasPrefix("session_id=\(token); Max-Age=86400;"))
        #expect(cookie.contains("HttpOnly"))
        #expect(cookie.contains("SameSite=Lax"))
        #expect(cookie.contains("Path=/"))
        #expect(token.count == 51, "8 tag characters and 43 base64url characters: 256 random bits")

        let device = Device(token: token, address: "10.0.0.1", userAgent: "TestAgent/1")
        // Used on A first, so A's near-cache (when on) holds the session.
        #expect(try await pair.a.send("GET", "/app/x", headers: device.cookieHeaders).status == 200)
        let onB = try await pair.b.send("GET", "/app/x", headers: device.cookieHeaders)
        #expect(onB.status == 200)
        #expect(try onB.upstreamHeader("X-User-ID") == ["u-alice"])

        let logout = try await pair.b.send("POST", "/auth/logout", headers: device.cookieHeaders)
        #expect(logout.status == 200)
        #expect(logout.header("Set-Cookie")?.hasPrefix("session_id=; Max-Age=0") == true)
        #expect(await authEventually { try await pair.a.send("GET", "/app/x", headers: device.cookieHeaders).status == 401 })
        #expect(try await pair.b.send("GET", "/auth/me", headers: device.headerHeaders).status == 401)
    }

    @Test func logoutOthersLeavesExactlyThatDevice() async throws {
        let pair = try await AuthPair.start()
        defer { Task { await pair.stop() } }
        let phone = try await pair.a.device("alice", address: "10.0.0.1", userAgent: "Phone")
        let laptop = try await pair.b.device("alice", address: "10.0.0.2", userAgent: "Laptop")
        let tablet = try await pair.a.device("alice", address: "10.0.0.3", userAgent: "Tablet")
        let bob = try await pair.a.device("bob")

        let response = try await pair.b.send("POST", "/auth/logout-others", headers: laptop.cookieHeaders)
        #expect(response.status == 200)
        #expect(try response.json()["ended"] as? Int == 2)
        #expect(try await pair.a.isValid(phone) == false)
        #expect(try await pair.b.isValid(tablet) == false)
        #expect(try await pair.a.isValid(laptop))
        #expect(try await pair.a.isValid(bob), "another user's session is untouched")
        let sessions = try await pair.a.sessions(laptop)
        #expect(sessions.count == 1)
        #expect(sessions.first?["current"] as? Bool == true)
        #expect(sessions.first?["user_agent"] as? String == "Laptop")
    }

    @Test func adminRevocationEndsEverySessionOfTheUser() async throws {
        let pair = try await AuthPair.start()
        defer { Task { await pair.stop() } }
        let alice1 = try await pair.a.device("alice")
        let alice2 = try await pair.b.device("alice", address: "10.0.0.2")
        let bob = try await pair.a.device("bob")
        let root = try await pair.b.device("root")

        #expect(try await pair.a.send("POST", "/auth/users/u-alice/revoke").status == 401)
        let notAdmin = try await pair.a.send("POST", "/auth/users/u-alice/revoke", headers: bob.headerHeaders)
        #expect(notAdmin.status == 403)
        #expect(try await pair.a.isValid(alice1))

        let revoked = try await pair.a.send("POST", "/auth/users/u-alice/revoke", headers: root.cookieHeaders)
        #expect(revoked.status == 200)
        #expect(try revoked.json()["ended"] as? Int == 2)
        #expect(try await pair.a.isValid(alice1) == false)
        #expect(try await pair.b.isValid(alice2) == false)
        #expect(try await pair.b.isValid(bob))
        #expect(try await pair.a.isValid(root))
    }

    @Test func sessionListShowsWhatTheDevicesDid() async throws {
        let pair = try await AuthPair.start()
        defer { Task { await pair.stop() } }
        let phone = try await pair.a.device("alice", address: "192.0.2.10", userAgent: "Phone/2.0")
        let laptop = try await pair.b.device("alice", address: "198.51.100.7", userAgent: "Laptop/5.1")
        let bob = try await pair.a.device("bob")
        let before = try await pair.a.sessions(laptop)
        try await Task.sleep(for: .milliseconds(30))
        #expect(try await pair.a.isValid(phone))  // the phone is used again, on A

        let sessions = try await pair.b.sessions(laptop)
        #expect(sessions.count == 2)
        let phoneEntry = try #require(sessions.first { $0["user_agent"] as? String == "Phone/2.0" })
        let laptopEntry = try #require(sessions.first { $0["user_agent"] as? String == "Laptop/5.1" })
        #expect(phoneEntry["ip"] as? String == "192.0.2.10")
        #expect(laptopEntry["ip"] as? String == "198.51.100.7")
        #expect(phoneEntry["current"] as? Bool == false)
        #expect(laptopEntry["current"] as? Bool == true)
        let phoneBefore = try #require(before.first { $0["user_agent"] as? String == "Phone/2.0" })
        let seenBefore = try #require(phoneBefore["last_seen_at"] as? Int)
        let seenAfter = try #require(phoneEntry["last_seen_at"] as? Int)
        #expect(seenAfter > seenBefore, "using the phone moved its last_seen_at")
        #expect((phoneEntry["created_at"] as? Int ?? .max) <= seenAfter)
        let handle = try #require(phoneEntry["handle"] as? String)
        #expect(handle != phone.token && !handle.contains(phone.token) && !phone.token.contains(handle))

        // A handle of another user's session is not the caller's to revoke.
        let bobHandle = try #require(try await pair.a.sessions(bob).first?["handle"] as? String)
        #expect(try await pair.a.send("DELETE", "/auth/sessions/\(bobHandle)", headers: laptop.headerHeaders).status == 404)
        #expect(try await pair.a.isValid(bob))

        let deleted = try await pair.a.send("DELETE", "/auth/sessions/\(handle)", headers: laptop.cookieHeaders)
        #expect(deleted.status == 200)
        #expect(try await pair.b.isValid(phone) == false)
        #expect(try await pair.b.isValid(laptop))
        #expect(try await pair.a.sessions(laptop).count == 1)
    }

    @Test func meShowsTheUser() async throws {
        let pair = try await AuthPair.start()
        defer { Task { await pair.stop() } }
        let root = try await pair.a.device("root")
        let me = try await pair.b.send("GET", "/auth/me", headers: root.cookieHeaders)
        #expect(me.status == 200)
        let json = try me.json()
        #expect(json["user_id"] as? String == "u-root")
        #expect(json["username"] as? String == "root")
        #expect(json["roles"] as? [String] == ["admin", "user"])
        #expect((json["expires_at"] as? Int ?? 0) > Int(Date().timeIntervalSince1970 * 1000))
        #expect(try await pair.b.send("GET", "/auth/me").status == 401)
    }

    @Test func memoryStoreHasTheSameLifecycle() async throws {
        let pair = try await AuthPair.start(auth: "max_sessions_per_user = 2", store: "memory", single: true)
        defer { Task { await pair.stop() } }
        let one = try await pair.a.device("alice", userAgent: "One")
        let two = try await pair.a.device("alice", userAgent: "Two")
        let three = try await pair.a.device("alice", userAgent: "Three")
        #expect(try await pair.a.isValid(one) == false, "evicted as the oldest")
        #expect(try await pair.a.sessions(three).map { $0["user_agent"] as? String } == ["Two", "Three"])
        #expect(try await pair.a.send("POST", "/auth/logout-others", headers: three.headerHeaders).status == 200)
        #expect(try await pair.a.isValid(two) == false)
        #expect(try await pair.a.send("POST", "/auth/logout", headers: three.headerHeaders).status == 200)
        #expect(try await pair.a.isValid(three) == false)
    }
}
