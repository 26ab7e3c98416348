import NIOCore
import Testing

@testable import SessionGate

/// The lifecycle operations of the memory store: the same semantics as the Redis scripts, under a manual clock.
@Suite("MemorySessionStore: lifecycle")
struct MemorySessionStoreLifecycleTests {
    let clock = ManualClock()
    let store: MemorySessionStore

    init() {
        let clock = self.clock
        store = MemorySessionStore(idleTimeout: .minutes(30), absoluteTimeout: .hours(2), now: { clock.now })
    }

    private func login(_ user: String, _ agent: String, limit: SessionLimit? = nil) async throws -> CreatedSession {
        try await store.create(
            NewSession(userID: user, userName: user, roles: []), device: SessionDevice(clientAddress: "10.0.0.1", userAgent: agent),
            limit: limit)
    }

    @Test func limitsEvictTheOldestOrReject() async throws {
        let evict = SessionLimit(maxSessions: 2, action: .evictOldest)
        let first = try await login("u", "1", limit: evict)
        clock.advance(.seconds(1))
        _ = try await login("u", "2", limit: evict)
        clock.advance(.seconds(1))
        _ = try await login("u", "3", limit: evict)
        #expect(store.validateNow(first.token) == nil)
        #expect(try await store.list(userID: "u").map(\.userAgent) == ["2", "3"])
        await #expect(throws: SessionLimitReached.self) {
            try await login("u", "4", limit: SessionLimit(maxSessions: 2, action: .reject))
        }
        // Expired sessions do not count against the limit.
        clock.advance(.minutes(31))
        _ = try await login("u", "5", limit: SessionLimit(maxSessions: 1, action: .reject))
    }

    @Test func listRecordsDeviceAndLastSeen() async throws {
        let created = try await login("u", "Phone")
        clock.advance(.minutes(5))
        _ = store.validateNow(created.token)
        let list = try await store.list(userID: "u")
        #expect(list.count == 1)
        #expect(list[0].handle == created.token.hashHex)
        #expect(list[0].lastSeenAt - list[0].createdAt == 300_000)
        #expect(list[0].clientAddress == "10.0.0.1" && list[0].userAgent == "Phone")
    }

    @Test func destroyOthersAndRevokeByHandleStayWithinTheUser() async throws {
        let keep = try await login("u", "keep")
        let other = try await login("u", "other")
        let foreign = try await login("v", "foreign")
        #expect(try await store.revoke(handle: foreign.token.hashHex, userID: "u") == false)
        #expect(try await store.destroyOthers(userID: "u", except: keep.token) == 1)
        #expect(store.validateNow(other.token) == nil)
        #expect(store.validateNow(keep.token) != nil)
        #expect(store.validateNow(foreign.token) != nil)
        #expect(try await store.revoke(handle: keep.token.hashHex, userID: "u"))
        #expect(try await store.destroy(foreign.token, userID: "v"))
        #expect(try await store.destroy(foreign.token, userID: "v") == false)
    }

    @Test func throttleCountsWithinTheWindow() async throws {
        let counter = [LoginCounter(key: "u:x", limit: 2, windowMs: 60_000)]
        #expect(try await store.countLoginAttempt(counter) == nil)
        #expect(try await store.countLoginAttempt(counter) == nil)
        clock.advance(.seconds(10))
        #expect(try await store.countLoginAttempt(counter) == 50_000)
        clock.advance(.seconds(51))
        #expect(try await store.countLoginAttempt(counter) == nil, "a new window")
        try await store.loginSucceeded(resetting: "u:x", refunding: "ip:y")
        #expect(try await store.countLoginAttempt(counter) == nil)
    }
}
