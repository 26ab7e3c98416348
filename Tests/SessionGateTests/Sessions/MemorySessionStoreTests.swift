import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import SessionGate

/// A clock the test moves by hand, in milliseconds since the epoch.
final class ManualClock: Sendable {
    private let millis = NIOLockedValueBox<Int64>(1_700_000_000_000)

    var now: Int64 { millis.withLockedValue { $0 } }
    func advance(_ amount: TimeAmount) { millis.withLockedValue { $0 += amount.nanoseconds / 1_000_000 } }
    func set(_ value: Int64) { millis.withLockedValue { $0 = value } }
}

@Suite("MemorySessionStore")
struct MemorySessionStoreTests {
    let clock = ManualClock()
    let store: MemorySessionStore

    init() {
        let clock = self.clock
        store = MemorySessionStore(idleTimeout: .minutes(30), absoluteTimeout: .hours(2), now: { clock.now })
    }

    private func create(_ userID: String = "42", roles: [String] = ["user"]) async throws -> CreatedSession {
        try await store.create(NewSession(userID: userID, userName: "alice", roles: roles))
    }

    @Test func createdSessionValidatesWithItsIdentity() async throws {
        let start = clock.now
        let created = try await create(roles: ["admin", "user"])

        #expect(created.token.tag == Substring(SessionToken.tag(forUser: "42")))
        #expect(SessionToken(created.token.rawValue) == created.token)
        #expect(created.identity.expiresAt == start + 30 * 60_000)
        #expect(created.identity.absoluteExpiresAt == start + 2 * 3_600_000)

        let identity = try #require(store.validateNow(created.token))
        #expect(identity.userID == "42")
        #expect(identity.userName == "alice")
        #expect(identity.roles == ["admin", "user"])
    }

    @Test func validateThroughTheProtocolAnswersOnTheEventLoop() async throws {
        let created = try await create()
        let loop = EmbeddedEventLoop()
        let identity = try await store.validate(created.token, on: loop).get()
        #expect(identity?.userID == "42")
        let unknown = try await store.validate(SessionToken.generate(tag: "00000000"), on: loop).get()
        #expect(unknown == nil)
    }

    @Test func validationSlidesTheIdleExpiry() async throws {
        let created = try await create()
        clock.advance(.minutes(20))
        let refreshed = try #require(store.validateNow(created.token))
        #expect(refreshed.expiresAt == clock.now + 30 * 60_000)

        // 40 minutes after creation: past the original idle expiry, but within 30 minutes of the last use.
        clock.advance(.minutes(20))
        #expect(store.validateNow(created.token) != nil)
    }

    @Test func idleSessionExpires() async throws {
        let used = try await create()
        let unused = try await create()
        clock.advance(.minutes(30) - .milliseconds(1))
        #expect(store.validateNow(used.token) != nil)

        clock.advance(.milliseconds(1))
        #expect(store.validateNow(unused.token) == nil, "30 minutes without use")
        #expect(store.validateNow(used.token) != nil, "used 1 ms ago")

        clock.advance(.minutes(30))
        #expect(store.validateNow(used.token) == nil)
    }

    @Test func expiredSessionIsGoneForGood() async throws {
        let created = try await create()
        let start = clock.now
        clock.advance(.minutes(31))
        #expect(store.validateNow(created.token) == nil)
        clock.set(start)
        #expect(store.validateNow(created.token) == nil, "an expired session is deleted, not only hidden")
    }

    @Test func absoluteExpiryEndsASessionHoweverActive() async throws {
        let created = try await create()
        let absolute = created.identity.absoluteExpiresAt
        var elapsed: TimeAmount = .zero
        // Use it every 25 minutes (below the idle timeout) until just before the absolute limit.
        while elapsed + .minutes(25) < .hours(2) {
            clock.advance(.minutes(25))
            elapsed = elapsed + .minutes(25)
            let identity = try #require(store.validateNow(created.token), "valid after \(elapsed)")
            #expect(identity.expiresAt == min(clock.now + 30 * 60_000, absolute), "never extended past the absolute expiry")
            #expect(identity.absoluteExpiresAt == absolute)
        }
        clock.set(absolute - 1)
        #expect(store.validateNow(created.token) != nil)
        clock.set(absolute)
        #expect(store.validateNow(created.token) == nil)
    }

    @Test func revokeAllEndsOnlyThatUsersSessions() async throws {
        let first = try await create("42")
        let second = try await create("42")
        let other = try await create("7")

        #expect(try await store.revokeAll(userID: "42") == 2)
        #expect(store.validateNow(first.token) == nil)
        #expect(store.validateNow(second.token) == nil)
        #expect(store.validateNow(other.token)?.userID == "7")

        #expect(try await store.revokeAll(userID: "42") == 0)
        #expect(try await store.revokeAll(userID: "nobody") == 0)
    }

    @Test func unknownTokenIsNil() async throws {
        _ = try await create()
        let neverIssued = SessionToken.generate(tag: SessionToken.tag(forUser: "42"))
        #expect(store.validateNow(neverIssued) == nil)
    }
}

@Suite("NewSession")
struct NewSessionTests {
    @Test func acceptsPlainValues() throws {
        let session = try NewSession(userID: "42", userName: "Zoë O'Brien", roles: ["admin", "user"])
        #expect(session.userID == "42")
        #expect(session.userName == "Zoë O'Brien")
        #expect(session.roles == ["admin", "user"])
        #expect(try NewSession(userID: "42", userName: "", roles: []).roles.isEmpty)
    }

    @Test(arguments: [
        ("", "bob", ["user"]), ("4\r\n2", "bob", ["user"]), ("42", "bob\nX-Roles: admin", ["user"]),
        ("42", "bob\u{7f}", ["user"]), ("42", "bob", ["ad\tmin"]), ("42", "bob", ["admin,root"]), ("42", "bob", ["a b"]),
        ("42", "bob", [""]),
    ])
    func rejectsValuesThatCannotTravelInAHeader(userID: String, userName: String, roles: [String]) {
        let error = #expect(throws: SessionStoreError.self) {
            _ = try NewSession(userID: userID, userName: userName, roles: roles)
        }
        guard case .invalidInput(let why)? = error else {
            Issue.record("expected invalidInput, got \(String(describing: error))")
            return
        }
        print(why)
    }
}
