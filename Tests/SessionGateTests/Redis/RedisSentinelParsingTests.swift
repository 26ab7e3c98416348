import Testing

@testable import SessionGateRedis

@Suite("Redis Sentinel replies")
struct RedisSentinelParsingTests {
    @Test func switchMasterNamesTheNewAddressOfOurMasterOnly() {
        let payload = "sessions 127.0.0.1 6379 127.0.0.1 6380"
        #expect(
            RedisSentinelSubscriber.newMaster(inSwitchMessage: payload, masterName: "sessions")
                == RedisNodeAddress(host: "127.0.0.1", port: 6380))
        #expect(RedisSentinelSubscriber.newMaster(inSwitchMessage: payload, masterName: "other") == nil)
        #expect(RedisSentinelSubscriber.newMaster(inSwitchMessage: "sessions 1 2", masterName: "sessions") == nil)
    }

    private func replica(_ port: Int, flags: String, link: String = "ok") -> RedisValue {
        .array([
            .simpleString("ip"), .simpleString("127.0.0.1"), .simpleString("port"), .simpleString(String(port)),
            .simpleString("flags"), .simpleString(flags), .simpleString("master-link-status"), .simpleString(link),
        ])
    }

    @Test func theFirstHealthyReplicaIsChosen() {
        let reply = RedisValue.array([
            replica(7001, flags: "slave,s_down"), replica(7002, flags: "slave", link: "err"),
            replica(7003, flags: "slave,disconnected"), replica(7004, flags: "slave"),
        ])
        #expect(RedisSentinelClient.healthyReplica(in: reply) == RedisNodeAddress(host: "127.0.0.1", port: 7004))
        #expect(RedisSentinelClient.healthyReplica(in: .array([replica(7001, flags: "slave,o_down")])) == nil)
    }

    @Test func aFailureIsRetriedOnANewMasterOnlyWhenThatIsSafe() {
        typealias Client = RedisSentinelClient
        let ok: Result<RedisValue, Error> = .success(.integer(1))
        #expect(Client.masterFailure(in: [ok], retryable: false) == nil)
        #expect(Client.masterFailure(in: [.failure(RedisError.server("ERR wrong"))], retryable: true) == nil)
        #expect(Client.masterFailure(in: [.failure(RedisError.server("READONLY replica"))], retryable: false) == .retryable)
        #expect(Client.masterFailure(in: [.failure(RedisError.connectionUnavailable)], retryable: false) == .retryable)
        #expect(Client.masterFailure(in: [.failure(RedisError.connectionClosed)], retryable: false) == .final)
        #expect(Client.masterFailure(in: [.failure(RedisError.timeout)], retryable: true) == .retryable)
        #expect(Client.masterFailure(in: [ok, .failure(RedisError.timeout)], retryable: false) == .final)
    }
}
