import NIOCore
import Testing

@testable import SessionGate

/// `[redis] mode = "sentinel" | "cluster"` and their keys, `min_replicas_ack`, `replica_ack_timeout`.
@Suite("ConfigLoader: Redis Sentinel, Cluster and durability keys")
struct ConfigRedisTopologyTests {
    @Test func sentinelKeysAreRead() throws {
        let redis = try ConfigLoader.parse(ConfigFixture.withTail("""
            [redis]
            mode = "sentinel"
            sentinels = ["127.0.0.1:26379", "[::1]:26380"]
            master_name = "sessions"
            sentinel_password = "s3cret"
            read_from_replicas = true
            password = "data"
            min_replicas_ack = 1
            replica_ack_timeout = "200ms"
            """)).redis
        #expect(redis.mode == .sentinel)
        #expect(redis.topology.sentinels == [HostPort(host: "127.0.0.1", port: 26379), HostPort(host: "::1", port: 26380)])
        #expect(redis.topology.masterName == "sessions")
        #expect(redis.topology.sentinelPassword == "s3cret")
        #expect(redis.topology.readFromReplicas)
        #expect(redis.password == "data")
        #expect(redis.topology.minReplicasAck == 1)
        #expect(redis.topology.replicaAckTimeout == .milliseconds(200))
    }

    @Test func clusterKeysAreRead() throws {
        let redis = try ConfigLoader.parse(ConfigFixture.withTail("""
            [redis]
            mode = "cluster"
            nodes = ["10.0.0.1:7000", "10.0.0.2:7000"]
            """)).redis
        #expect(redis.mode == .cluster)
        #expect(redis.topology.nodes.map(\.description) == ["10.0.0.1:7000", "10.0.0.2:7000"])
        #expect(redis.topology.minReplicasAck == 0)
    }

    @Test func sentinelModeNeedsSentinelsAndAMasterName() throws {
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("[redis]\nmode = \"sentinel\""))
        #expect(problems.map(\.key) == ["redis.sentinels", "redis.master_name"])
        #expect(problems.map(\.line) == [1, 1])
    }

    @Test func clusterModeNeedsNodesAndDatabaseZero() throws {
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("[redis]\nmode = \"cluster\"\ndatabase = 3"))
        #expect(problems.map(\.key) == ["redis.nodes", "redis.database"])
        #expect(problems[1].message == "must be 0 with mode = \"cluster\" (a cluster has one database)")
    }

    @Test func aBadNodeAddressNamesItsIndexAndLine() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [redis]
            mode = "cluster"
            nodes = ["127.0.0.1:7000", "127.0.0.1"]
            """))
        #expect(problem.key == "redis.nodes[1]")
        #expect(problem.line == 3)
    }

    @Test func keysOfAnotherModeAreProblems() throws {
        let standalone = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[redis]\nmaster_name = \"m\""))
        #expect(standalone.key == "redis.master_name")
        #expect(standalone.message == "is only used with mode = \"sentinel\"")
        let cluster = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [redis]
            mode = "cluster"
            nodes = ["127.0.0.1:7000"]
            address = "127.0.0.1:6379"
            """))
        #expect(cluster.key == "redis.address")
        #expect(cluster.line == 4)
    }

    @Test func theAckTimeoutMustBeBelowTheCommandTimeout() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [redis]
            timeout = "500ms"
            min_replicas_ack = 1
            replica_ack_timeout = "1s"
            """))
        #expect(problem.key == "redis.replica_ack_timeout")
        #expect(problem.line == 4)
        #expect(problem.message == "1s must be less than timeout (500ms), which bounds every command, WAIT included")
    }

    @Test func theNearCacheIsRefusedInClusterMode() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [session]
            local_cache = true

            [redis]
            mode = "cluster"
            nodes = ["127.0.0.1:7000"]
            """))
        #expect(problem.key == "session.local_cache")
        #expect(problem.line == 2)
    }

    @Test func aTypoInATopologyKeyIsCaught() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[redis]\nmin_replica_ack = 1"))
        #expect(problem.key == "redis.min_replica_ack")
        #expect(problem.message.contains("min_replicas_ack"))
    }

    @Test func replicaReadsAndTheNearCacheExcludeEachOther() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [session]
            local_cache = true

            [redis]
            mode = "sentinel"
            sentinels = ["127.0.0.1:26379"]
            master_name = "m"
            read_from_replicas = true
            """))
        #expect(problem.key == "redis.read_from_replicas")
        #expect(problem.line == 8)
    }
}
