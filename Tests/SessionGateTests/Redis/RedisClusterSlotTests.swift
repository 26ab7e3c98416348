import Testing

@testable import SessionGateRedis

@Suite("Redis Cluster key slots")
struct RedisClusterSlotTests {
    /// Answers of a real Redis 7.0.15 (`redis-server --cluster-enabled yes`, then `CLUSTER KEYSLOT <key>`).
    /// The integration test `clusterKeySlotsMatchTheServer` asks a live node again for more keys.
    private static let vectors: [(key: String, slot: Int)] = [
        ("foo", 12182), ("bar", 5061), ("{user1000}.following", 3443), ("sg:{abcd1234}:s:xx", 3897), ("", 0),
        ("123456789", 12739), ("a{}b", 13694), ("{}{x}", 3257), ("x{y}z{w}", 12222), ("{{a}}", 10276),
        ("hello{", 1235), ("sg:{0badf00d}:u:alice", 3358),
    ]

    @Test(arguments: vectors)
    func matchesClusterKeySlot(_ vector: (key: String, slot: Int)) {
        #expect(RedisClusterSlot.of(vector.key) == vector.slot)
    }

    @Test func crc16IsXmodem() {
        // The check value of CRC-16/XMODEM.
        #expect(RedisClusterSlot.crc16(Array("123456789".utf8)[...]) == 0x31C3)
    }

    @Test func keysOfOneUserShareTheirTagsSlot() {
        #expect(RedisClusterSlot.of("sg:{0badf00d}:s:abc") == RedisClusterSlot.of("sg:{0badf00d}:u:bob"))
        #expect(RedisClusterSlot.of("sg:{0badf00d}:s:abc") == RedisClusterSlot.of("0badf00d"))
    }
}

@Suite("Redis Cluster redirections")
struct RedisClusterRedirectionTests {
    @Test func parsesMovedAndAsk() {
        #expect(
            RedisClusterRedirection(errorMessage: "MOVED 3999 127.0.0.1:6381")
                == RedisClusterRedirection(kind: .moved, slot: 3999, address: RedisNodeAddress(host: "127.0.0.1", port: 6381)))
        #expect(
            RedisClusterRedirection(errorMessage: "ASK 1 [::1]:7000")
                == RedisClusterRedirection(kind: .ask, slot: 1, address: RedisNodeAddress(host: "::1", port: 7000)))
    }

    @Test(arguments: ["ERR unknown", "MOVED 99999 h:1", "MOVED x h:1", "ASK 1 nohost", "MOVED 1 h:0", "TRYAGAIN 1 h:2"])
    func rejectsOtherErrors(_ message: String) {
        #expect(RedisClusterRedirection(errorMessage: message) == nil)
    }
}
