import Testing

@testable import SessionGateRedis

@Suite("Redis Cluster slot map")
struct RedisClusterSlotMapTests {
    private let a = RedisNodeAddress(host: "127.0.0.1", port: 7000)
    private let b = RedisNodeAddress(host: "127.0.0.1", port: 7001)
    private let c = RedisNodeAddress(host: "127.0.0.1", port: 7002)

    private func node(_ fields: [(String, RedisValue)]) -> RedisValue {
        .array(fields.flatMap { [RedisValue.simpleString($0.0), $0.1] })
    }

    /// A `CLUSTER SHARDS` reply as Redis 7 sends it (abridged fields).
    private var shardsReply: RedisValue {
        .array([
            node([
                ("slots", .array([.integer(0), .integer(5460)])),
                ("nodes", .array([
                    node([("id", .simpleString("r1")), ("port", .integer(7003)), ("ip", .simpleString("127.0.0.1")),
                          ("endpoint", .simpleString("127.0.0.1")), ("role", .simpleString("replica")),
                          ("health", .simpleString("online"))]),
                    node([("id", .simpleString("m1")), ("port", .integer(7000)), ("ip", .simpleString("127.0.0.1")),
                          ("endpoint", .simpleString("127.0.0.1")), ("role", .simpleString("master")),
                          ("health", .simpleString("online"))]),
                ])),
            ]),
            node([
                ("slots", .array([.integer(5461), .integer(10922)])),
                ("nodes", .array([
                    node([("port", .integer(7001)), ("ip", .simpleString("127.0.0.1")), ("endpoint", .simpleString("?")),
                          ("role", .simpleString("master")), ("health", .simpleString("online"))]),
                ])),
            ]),
            node([
                ("slots", .array([.integer(10923), .integer(16000), .integer(16001), .integer(16383)])),
                ("nodes", .array([
                    node([("port", .integer(7002)), ("ip", .simpleString("127.0.0.1")),
                          ("role", .simpleString("master")), ("health", .simpleString("online"))]),
                ])),
            ]),
        ])
    }

    @Test func buildsFromClusterShards() throws {
        let map = try #require(RedisClusterSlotMap.fromShards(shardsReply))
        #expect(map.isComplete)
        #expect(map.master(forSlot: 0) == a)
        #expect(map.master(forSlot: 5460) == a)
        #expect(map.master(forSlot: 5461) == b)
        #expect(map.master(forSlot: 16383) == c)
        #expect(map.masters.count == 3)
    }

    @Test func buildsFromClusterSlots() throws {
        let reply = RedisValue.array([
            .array([.integer(0), .integer(8191), .array([.simpleString("127.0.0.1"), .integer(7000), .simpleString("id")])]),
            .array([.integer(8192), .integer(16383), .array([.simpleString("127.0.0.1"), .integer(7001)]),
                    .array([.simpleString("127.0.0.1"), .integer(7004)])]),
        ])
        let map = try #require(RedisClusterSlotMap.fromSlots(reply))
        #expect(map.isComplete)
        #expect(map.master(forSlot: 8191) == a)
        #expect(map.master(forSlot: 8192) == b)
    }

    @Test func rejectsMalformedReplies() {
        #expect(RedisClusterSlotMap.fromSlots(.simpleString("OK")) == nil)
        #expect(RedisClusterSlotMap.fromSlots(.array([.array([.integer(5), .integer(1)])])) == nil)
        #expect(RedisClusterSlotMap.fromShards(.array([.array([.simpleString("slots")])])) == nil)
    }

    @Test func gapsLeaveTheMapIncomplete() {
        var map = RedisClusterSlotMap()
        #expect(map.isEmpty)
        map.assign(0...100, to: a)
        #expect(!map.isEmpty)
        #expect(!map.isComplete)
        #expect(map.master(forSlot: 101) == nil)
    }

    @Test func movedToAKnownMasterMovesOneSlot() {
        var map = RedisClusterSlotMap()
        map.assign(0...8191, to: a)
        map.assign(8192...16383, to: b)
        #expect(map.moved(slot: 42, to: b) == .retry(b))
        #expect(map.master(forSlot: 42) == b)
        #expect(map.master(forSlot: 41) == a)
        #expect(map.slots(of: b).count == 8193)
    }

    @Test func movedToAnUnknownNodeAsksForARefresh() {
        var map = RedisClusterSlotMap()
        map.assign(0...16383, to: a)
        #expect(map.moved(slot: 7, to: c) == .retryAndRefresh(c))
        #expect(map.master(forSlot: 7) == c)
        #expect(map.masters == [a, c])
    }

    @Test func aMasterLeftWithoutSlotsIsForgotten() {
        var map = RedisClusterSlotMap()
        map.assign(0...0, to: a)
        map.assign(1...16383, to: b)
        _ = map.moved(slot: 0, to: b)
        #expect(map.masters == [b])
        #expect(map.master(forSlot: 0) == b)
        #expect(map.master(forSlot: 16383) == b)
    }
}
