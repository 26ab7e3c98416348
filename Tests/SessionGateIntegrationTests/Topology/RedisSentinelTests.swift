import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SessionGateRedis
import Testing

@testable import SessionGate

/// SessionGate on a real Sentinel deployment (a master, a replica, three sentinels): the master is SIGKILLed under
/// steady logins (the store's `create`, which login calls) and authenticated requests through the proxy.
///
/// Each run prints how long requests failed and how many sessions whose creation was acknowledged are gone after the
/// failover. With `min_replicas_ack = 1` that must be none.
@Suite("Redis Sentinel failover", .serialized)
struct RedisSentinelTests {
    @Test func withReplicaAcknowledgementsNoAcknowledgedSessionIsLost() async throws {
        let report = try await failover(minReplicasAck: 1)
        #expect(report.acknowledged > 0)
        #expect(report.lost == 0, "acknowledged sessions gone after failover: \(report.lost) of \(report.acknowledged)")
        #expect(report.switched)
        #expect(report.recovered)
    }

    @Test func withoutReplicaAcknowledgementsTheLossIsMeasured() async throws {
        let report = try await failover(minReplicasAck: 0)
        #expect(report.acknowledged > 0)
        #expect(report.switched)
        #expect(report.recovered)
        // What is lost here depends on replication lag at the moment of the kill: reported above, not asserted.
    }

    @Test func theMasterIsFoundThroughTheSentinelsAndSessionsWork() async throws {
        let fixture = try await RedisSentinelFixture.start()
        defer { fixture.stop() }
        let proxy = try await TopologyProxy.start(redisSection: fixture.redisSection)
        let client = try #require(proxy.client as? RedisSentinelClient)
        #expect(client.masterAddress?.port == fixture.master.port)
        let token = try await proxy.store.create(NewSession(userID: "u1", userName: "u1", roles: [])).token
        #expect(await proxy.authenticatedStatus(token.rawValue) == 200)
        #expect(try fixture.master.command("EXISTS", RedisSessionKeys(prefix: "sg:").session(token)) == "1")
        #expect(try await proxy.store.revokeAll(userID: "u1") == 1)
        #expect(await proxy.authenticatedStatus(token.rawValue) == 401)
        await proxy.stop()
    }

    @Test func validationReadsAReplicaAndFallsBackToTheMasterOnAMiss() async throws {
        let fixture = try await RedisSentinelFixture.start()
        defer { fixture.stop() }
        let proxy = try await TopologyProxy.start(redisSection: fixture.redisSection + """

            read_from_replicas = true
            min_replicas_ack = 1
            replica_ack_timeout = "300ms"
            """)
        let client = try #require(proxy.client as? RedisSentinelClient)
        let keys = RedisSessionKeys(prefix: "sg:")
        let token = try await proxy.store.create(NewSession(userID: "u1", userName: "u1", roles: [])).token
        let deadline = ContinuousClock.now + .seconds(10)
        while client.replicaAddress == nil && ContinuousClock.now < deadline {
            #expect(await proxy.authenticatedStatus(token.rawValue) == 200)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(client.replicaAddress?.port == fixture.replica.port)
        func scripts(_ server: RedisServer) throws -> Int {
            try server.commandCount("evalsha") + server.commandCount("eval")
        }

        // Hits come from the replica; the master is not asked (the refresh is not due for minutes).
        let (master, replica) = (try scripts(fixture.master), try scripts(fixture.replica))
        for _ in 0..<10 {
            #expect(await proxy.authenticatedStatus(token.rawValue) == 200)
        }
        #expect(try scripts(fixture.master) == master)
        #expect(try scripts(fixture.replica) >= replica + 10)

        // A session the replica does not have (yet) is found on the master.
        let fresh = try await proxy.store.create(NewSession(userID: "u2", userName: "u2", roles: [])).token
        try fixture.replica.command("CONFIG", "SET", "replica-read-only", "no")
        try fixture.replica.command("DEL", keys.session(fresh))
        let beforeMiss = try scripts(fixture.master)
        #expect(await proxy.authenticatedStatus(fresh.rawValue) == 200)
        #expect(try scripts(fixture.master) > beforeMiss)

        // A revocation acknowledged by the replica is seen there at once.
        #expect(try await proxy.store.revokeAll(userID: "u1") == 1)
        #expect(await proxy.authenticatedStatus(token.rawValue) == 401)
        await proxy.stop()
    }

    /// The near-cache's invalidation connection moves to the new master: a session deleted there afterwards is refused.
    @Test func theNearCacheFollowsTheNewMaster() async throws {
        let fixture = try await RedisSentinelFixture.start()
        defer { fixture.stop() }
        let proxy = try await TopologyProxy.start(
            redisSection: fixture.redisSection + "\nmin_replicas_ack = 1\nreplica_ack_timeout = \"300ms\"",
            sessionSection: "local_cache = true")
        let client = try #require(proxy.client as? RedisSentinelClient)
        let store = try #require(proxy.store as? CachingSessionStore)
        let token = try await proxy.store.create(NewSession(userID: "u1", userName: "u1", roles: [])).token
        #expect(await proxy.authenticatedStatus(token.rawValue) == 200)

        fixture.master.kill()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, client.masterAddress?.port != fixture.replica.port || !store.isCaching {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(client.masterAddress?.port == fixture.replica.port)
        #expect(store.isCaching)
        #expect(try fixture.replica.command("CLIENT", "LIST").contains("name=sessiongate-invalidations"))
        #expect(await proxy.authenticatedStatus(token.rawValue) == 200)
        #expect(store.isCached(token))

        // Another instance (here redis-cli) deletes the session on the new master: this instance hears of it.
        try fixture.replica.command("DEL", store.sessionKey(token))
        var status = await proxy.authenticatedStatus(token.rawValue)
        let refusedBy = ContinuousClock.now + .seconds(5)
        while status == 200 && ContinuousClock.now < refusedBy {
            try await Task.sleep(for: .milliseconds(20))
            status = await proxy.authenticatedStatus(token.rawValue)
        }
        #expect(status == 401)
        await proxy.stop()
    }

    struct Report {
        var acknowledged = 0
        var lost = 0
        var switched = false
        var recovered = false
    }

    private func failover(minReplicasAck: Int) async throws -> Report {
        let fixture = try await RedisSentinelFixture.start()
        defer { fixture.stop() }
        var section = fixture.redisSection
        if minReplicasAck > 0 {
            section += "\nmin_replicas_ack = \(minReplicasAck)\nreplica_ack_timeout = \"200ms\""
        }
        let proxy = try await TopologyProxy.start(redisSection: section)
        let client = try #require(proxy.client as? RedisSentinelClient)
        let probe = try await proxy.store.create(NewSession(userID: "probe", userName: "probe", roles: [])).token

        let start = ContinuousClock.now
        let stop = NIOLockedValueBox(false)
        let logins = Task {
            var acknowledged: [(token: SessionToken, at: Duration)] = []
            var failed = 0
            var index = 0
            while !stop.withLockedValue({ $0 }) {
                index += 1
                do {
                    let created = try await proxy.store.create(NewSession(userID: "user-\(index)", userName: "u", roles: []))
                    acknowledged.append((created.token, ContinuousClock.now - start))
                } catch {
                    failed += 1
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            return (acknowledged, failed)
        }
        let requests = Task {
            var outcomes: [(at: Duration, ok: Bool)] = []
            while !stop.withLockedValue({ $0 }) {
                let status = await proxy.authenticatedStatus(probe.rawValue)
                outcomes.append((ContinuousClock.now - start, status == 200))
                try? await Task.sleep(for: .milliseconds(10))
            }
            return outcomes
        }

        try await Task.sleep(for: .milliseconds(700))
        let killedAt = ContinuousClock.now - start
        fixture.master.kill()
        // Wait for the switch and for a successful request after it (or give up after 30 s).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if client.masterAddress?.port == fixture.replica.port,
                await proxy.authenticatedStatus(probe.rawValue) == 200
            {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(500))
        stop.withLockedValue { $0 = true }
        let (acknowledged, failedLogins) = await logins.value
        let outcomes = await requests.value

        var report = Report()
        report.switched = client.masterAddress?.port == fixture.replica.port
        report.acknowledged = acknowledged.count
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        for (token, _) in acknowledged {
            if try await proxy.store.validate(token, on: loop).get() == nil {
                report.lost += 1
            }
        }
        let afterKill = outcomes.filter { $0.at >= killedAt }
        let lastFailure = afterKill.last { !$0.ok }?.at
        let recoveredAt = afterKill.first { outcome in
            outcome.ok && (lastFailure.map { outcome.at > $0 } ?? true)
        }?.at
        report.recovered = recoveredAt != nil
        let downtime = recoveredAt.map { "\(($0 - killedAt).formatted(.units(allowed: [.milliseconds])))" } ?? "never"
        let failedRequests = afterKill.filter { !$0.ok }.count
        let beforeKill = acknowledged.filter { $0.at < killedAt }.count
        print(
            "sentinel failover, min_replicas_ack = \(minReplicasAck): requests succeeded again \(downtime) after the "
                + "SIGKILL (\(failedRequests) of \(afterKill.count) requests failed meanwhile); logins acknowledged: "
                + "\(acknowledged.count) (\(beforeKill) before the kill), failed: \(failedLogins); acknowledged sessions "
                + "lost: \(report.lost); master switches seen by the client: \(client.switches)")
        await proxy.stop()
        return report
    }
}
