import NIOCore
import Testing

@testable import SessionGateRedis

@Suite("Redis reply decoding (HiredisReader)")
struct RedisHiredisReaderTests {
    /// Every reply type, as (wire bytes, expected value).
    static let samples: [(String, RedisValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR unknown command\r\n", .error("ERR unknown command")),
        (":42\r\n", .integer(42)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", .bulkString(ByteBuffer(string: "hello"))),
        ("$0\r\n\r\n", .bulkString(ByteBuffer())),
        ("$4\r\na\r\nb\r\n", .bulkString(ByteBuffer(string: "a\r\nb"))),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("*0\r\n", .array([])),
        (
            "*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n$-1\r\n-NOSCRIPT no\r\n",
            .array([.integer(1), .array([.bulkString(ByteBuffer(string: "a")), .array([.null])]), .error("NOSCRIPT no")])
        ),
    ]

    private func decodeAll(_ chunks: [ByteBuffer]) throws -> [RedisValue] {
        let reader = HiredisReader()
        var values: [RedisValue] = []
        for chunk in chunks {
            try reader.feed(chunk)
            while let value = try reader.next() {
                values.append(value)
            }
        }
        return values
    }

    @Test(arguments: 0..<samples.count)
    func decodesEachReplyType(index: Int) throws {
        let (wire, expected) = Self.samples[index]
        #expect(try decodeAll([ByteBuffer(string: wire)]) == [expected])
    }

    @Test func decodesManyRepliesFromOneFeed() throws {
        let wire = Self.samples.map(\.0).joined()
        #expect(try decodeAll([ByteBuffer(string: wire)]) == Self.samples.map(\.1))
    }

    @Test func decodesRepliesSplitAtEveryByteBoundary() throws {
        let wire = ByteBuffer(string: Self.samples.map(\.0).joined())
        let expected = Self.samples.map(\.1)
        for split in 0...wire.readableBytes {
            let head = wire.getSlice(at: 0, length: split)!
            let tail = wire.getSlice(at: split, length: wire.readableBytes - split)!
            #expect(try decodeAll([head, tail]) == expected, "split at \(split)")
        }
    }

    @Test func decodesRepliesFedOneByteAtATime() throws {
        let wire = ByteBuffer(string: Self.samples.map(\.0).joined())
        let chunks = (0..<wire.readableBytes).map { wire.getSlice(at: $0, length: 1)! }
        #expect(try decodeAll(chunks) == Self.samples.map(\.1))
    }

    @Test func decodesBinaryAndLargeBulkStrings() throws {
        var payload = ByteBuffer()
        for index in 0..<100_000 {
            payload.writeInteger(UInt8(truncatingIfNeeded: index))
        }
        var wire = ByteBuffer(string: "$100000\r\n")
        wire.writeImmutableBuffer(payload)
        wire.writeString("\r\n")
        let chunks = stride(from: 0, to: wire.readableBytes, by: 7_000).map {
            wire.getSlice(at: $0, length: min(7_000, wire.readableBytes - $0))!
        }
        #expect(try decodeAll(chunks) == [.bulkString(payload)])
    }

    @Test func returnsNilUntilAReplyIsComplete() throws {
        let reader = HiredisReader()
        try reader.feed(ByteBuffer(string: "$5\r\nhel"))
        #expect(try reader.next() == nil)
        try reader.feed(ByteBuffer(string: "lo\r\n"))
        #expect(try reader.next() == .bulkString(ByteBuffer(string: "hello")))
        #expect(try reader.next() == nil)
    }

    @Test func rejectsInvalidReplyType() throws {
        let reader = HiredisReader()
        try reader.feed(ByteBuffer(string: "?what\r\n"))
        #expect {
            try reader.next()
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return !error.isServerError && error.description.contains("protocol error")
        }
    }
}
