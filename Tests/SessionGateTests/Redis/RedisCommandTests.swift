import NIOCore
import Testing

@testable import SessionGateRedis

@Suite("RedisCommand encoding")
struct RedisCommandTests {
    private func bytes(_ command: RedisCommand) -> String {
        String(buffer: command.encoded)
    }

    @Test func encodesArrayOfBulkStrings() {
        #expect(bytes(RedisCommand("SET", "k", "value")) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n")
    }

    @Test func arrayAndVariadicInitialisersAgree() {
        #expect(RedisCommand(["GET", "key"]).encoded == RedisCommand("GET", "key").encoded)
    }

    @Test func encodesEmptyAndMultiDigitLengths() {
        let long = String(repeating: "x", count: 123)
        let ten = String(repeating: "y", count: 10)
        #expect(bytes(RedisCommand("SET", "", long, ten)) == "*4\r\n$3\r\nSET\r\n$0\r\n\r\n$123\r\n\(long)\r\n$10\r\n\(ten)\r\n")
    }

    @Test func countsUTF8BytesNotCharacters() {
        #expect(bytes(RedisCommand("ECHO", "é€")) == "*2\r\n$4\r\nECHO\r\n$5\r\né€\r\n")
    }

    @Test func keepsCRLFAndSpacesInsideArguments() {
        #expect(bytes(RedisCommand("SET", "a b", "1\r\n2")) == "*3\r\n$3\r\nSET\r\n$3\r\na b\r\n$4\r\n1\r\n2\r\n")
    }

    @Test func encodesTwelveArguments() {
        let arguments = ["DEL"] + (1...11).map { "k\($0)" }
        let expected = "*12\r\n$3\r\nDEL\r\n" + (1...11).map { "$\("k\($0)".count)\r\nk\($0)\r\n" }.joined()
        #expect(bytes(RedisCommand(arguments)) == expected)
    }

    @Test func encodesBinaryArguments() {
        let value = ByteBuffer(bytes: [0, 255, 13, 10])
        let command = RedisCommand("set", bytes: [ByteBuffer(string: "k"), value])
        var expected = ByteBuffer(string: "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$4\r\n")
        expected.writeBytes([0, 255, 13, 10])
        expected.writeString("\r\n")
        #expect(command.encoded == expected)
        #expect(command.name == "SET")
    }

    @Test func nameIsUppercasedFirstArgument() {
        #expect(RedisCommand("evalsha", "abc", "0").name == "EVALSHA")
        #expect(RedisCommand("AUTH", "secret").description == "AUTH")
    }

    @Test func encodingRoundTripsThroughTheReader() throws {
        let arguments = ["SET", "key", "", "with space", "line\r\nbreak", "ünïcode"]
        let reader = HiredisReader()
        try reader.feed(RedisCommand(arguments).encoded)
        let decoded = try reader.next()
        #expect(decoded == .array(arguments.map { .bulkString(ByteBuffer(string: $0)) }))
    }
}
