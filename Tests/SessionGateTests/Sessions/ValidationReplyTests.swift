import NIOCore
import SessionGateRedis
import Testing

@testable import SessionGate

/// Decoding the validation scripts' replies: what comes back from Redis becomes upstream header values.
@Suite("Validation reply decoding")
struct ValidationReplyTests {
    private func reply(user: String, name: String, roles: String) -> RedisValue {
        .array([
            .bulkString(ByteBuffer(string: user)), .bulkString(ByteBuffer(string: name)),
            .bulkString(ByteBuffer(string: roles)), .integer(2_000), .integer(1_000),
        ])
    }

    @Test func aWellFormedReplyIsTheIdentity() throws {
        let identity = try #require(
            RedisSessionScripts.identity(fromValidationReply: reply(user: "42", name: "Zoë Ñ", roles: "admin,user"), fieldCount: 5))
        #expect(identity.userID == "42")
        #expect(identity.userName == "Zoë Ñ")
        #expect(identity.roles == ["admin", "user"])
        #expect(identity.expiresAt == 1_000 && identity.absoluteExpiresAt == 2_000)
    }

    /// A record written to Redis by something other than SessionGate must not be able to split a header upstream.
    @Test(arguments: [
        ("42\r\nX-Admin: 1", "alice", "user"),
        ("42", "alice\nX-Roles: admin", "user"),
        ("42", "alice", "user\r\nX-Evil: 1"),
        ("42", "al\u{0}ice", "user"),
        ("42", "al\u{7f}ice", "user"),
    ])
    func aReplyThatCouldSplitAHeaderIsNoSession(user: String, name: String, roles: String) {
        #expect(RedisSessionScripts.identity(fromValidationReply: reply(user: user, name: name, roles: roles), fieldCount: 5) == nil)
    }
}
