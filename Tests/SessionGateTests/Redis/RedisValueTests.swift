import NIOCore
import Testing

@testable import SessionGateRedis

@Suite("RedisValue, RedisError, RedisScript, RedisBackoff")
struct RedisValueTests {
    @Test func stringAccessor() {
        #expect(RedisValue.simpleString("OK").string == "OK")
        #expect(RedisValue.bulkString(ByteBuffer(string: "héllo")).string == "héllo")
        #expect(RedisValue.null.string == nil)
        #expect(RedisValue.integer(1).string == nil)
    }

    @Test func intAccessor() {
        #expect(RedisValue.integer(-5).int == -5)
        #expect(RedisValue.bulkString(ByteBuffer(string: "42")).int == 42)
        #expect(RedisValue.simpleString("7").int == 7)
        #expect(RedisValue.bulkString(ByteBuffer(string: "4x")).int == nil)
        #expect(RedisValue.bulkString(ByteBuffer(string: String(repeating: "1", count: 30))).int == nil)
        #expect(RedisValue.null.int == nil)
    }

    /// The byte parser agrees with `Int64(String)` at the edges.
    @Test(arguments: [
        "0", "-0", "+7", "-1", "1733059200000", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "-9223372036854775809", "", "-", "+", " 1", "1 ", "1.5", "0x10", "١",
    ])
    func bulkIntegersParseAsInt64Does(text: String) {
        #expect(RedisValue.bulkString(ByteBuffer(string: text)).int == Int64(text))
    }

    @Test func arrayAndNullAccessors() {
        #expect(RedisValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RedisValue.null.array == nil)
        #expect(RedisValue.null.isNull)
        #expect(!RedisValue.array([]).isNull)
    }

    @Test func errorMembers() {
        let server = RedisError.server("NOSCRIPT No matching script")
        #expect(server.isServerError)
        #expect(server.serverMessage == "NOSCRIPT No matching script")
        #expect(server == .server("NOSCRIPT No matching script"))
        #expect(server != .server("ERR"))
        #expect(!RedisError.timeout.isServerError)
        #expect(RedisError.timeout.serverMessage == nil)
        #expect(RedisError.connectionUnavailable != .connectionClosed)
        #expect(RedisError.protocolError("x").description.contains("x"))
    }

    @Test func scriptSHA1MatchesKnownVectors() {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(RedisScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(RedisScript("return 1").source == "return 1")
    }

    @Test func backoffDoublesUpToTheMaximumWithJitterInTheUpperHalf() {
        let backoff = RedisBackoff(initial: .milliseconds(50), maximum: .seconds(2))
        #expect(backoff.delay(attempt: 1, jitter: 1) == .milliseconds(50))
        #expect(backoff.delay(attempt: 1, jitter: 0) == .milliseconds(25))
        #expect(backoff.delay(attempt: 2, jitter: 1) == .milliseconds(100))
        #expect(backoff.delay(attempt: 3, jitter: 1) == .milliseconds(200))
        #expect(backoff.delay(attempt: 7, jitter: 1) == .seconds(2))
        #expect(backoff.delay(attempt: 1_000, jitter: 1) == .seconds(2))
        #expect(backoff.delay(attempt: 1_000, jitter: 0.5) == .milliseconds(1_500))
    }

    @Test func handshakeCommandsFollowTheConfiguration() {
        var configuration = RedisClientConfiguration(host: "localhost", port: 6379)
        #expect(configuration.handshakeCommands.isEmpty)
        configuration.password = "pw"
        configuration.database = 2
        #expect(configuration.handshakeCommands.map { String(buffer: $0.encoded) } == [
            "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n",
        ])
        configuration.username = "app"
        #expect(String(buffer: configuration.handshakeCommands[0].encoded) == "*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$2\r\npw\r\n")
    }
}
