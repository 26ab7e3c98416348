import Foundation
import NIOCore
import SessionGateRedis
import Testing

@testable import SessionGate

/// `min_replicas_ack`: session writes wait (`WAIT`) for replicas, and fail when too few acknowledge.
@Suite("Redis replica acknowledgements")
struct ReplicaAckTests {
    @Test func withoutAReplicaWritesFailInsteadOfBeingAcknowledged() async throws {
        let master = try await RedisServer.start()
        defer { master.stop() }
        try await RedisIntegration.withClient(for: master) { client in
            let store = RedisSessionStore(
                client: client, keyPrefix: "sg:", idleTimeout: .minutes(30), absoluteTimeout: .hours(1), replicaAcks: 1,
                replicaAckTimeout: .milliseconds(50))
            await #expect(throws: SessionStoreError.self) {
                _ = try await store.create(NewSession(userID: "u1", userName: "u1", roles: []))
            }
            await #expect(throws: SessionStoreError.self) {
                _ = try await store.revokeAll(userID: "u1")
            }
        }
        #expect(try master.commandCount("wait") >= 2)  // one per write, plus one per first NOSCRIPT
    }

    @Test func withAReplicaAnAcknowledgedSessionIsAlreadyOnTheReplica() async throws {
        let master = try await RedisServer.start()
        defer { master.stop() }
        let replica = try await RedisServer.start(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)])
        defer { replica.stop() }
        while try !replica.command("INFO", "replication").contains("master_link_status:up") {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await RedisIntegration.withClient(for: master) { client in
            let store = RedisSessionStore(
                client: client, keyPrefix: "sg:", idleTimeout: .minutes(30), absoluteTimeout: .hours(1), replicaAcks: 1,
                // Long enough for a loaded CI machine; `WAIT` returns as soon as the replica acknowledges.
                replicaAckTimeout: .seconds(5))
            for index in 0..<20 {
                let created = try await store.create(NewSession(userID: "u\(index)", userName: "u", roles: []))
                let key = RedisSessionKeys(prefix: "sg:").session(created.token)
                #expect(try replica.command("EXISTS", key) == "1")
            }
            #expect(try await store.revokeAll(userID: "u3") == 1)
            #expect(try replica.command("EXISTS", RedisSessionKeys(prefix: "sg:").userIndex(userID: "u3")) == "0")
        }
        #expect(try master.commandCount("wait") >= 21)
    }
}
