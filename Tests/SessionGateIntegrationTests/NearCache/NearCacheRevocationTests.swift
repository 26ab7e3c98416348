import Foundation
import NIOCore
import NIOPosix
import SessionGateRedis
import Testing

@testable import SessionGate

extension NearCacheTests {
    /// Revocation with the near-cache on: a session cached by two instances is refused by both within 5 ms.
    @Suite("Near-cache revocation")
    struct NearCacheRevocationTests {
        /// The store `sessiongate session revoke` uses: the same factory, without a cache.
        private func commandLineStore(_ redis: RedisServer) -> (store: SessionStore, client: (any RedisCommandRouting)?, group: MultiThreadedEventLoopGroup) {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let configuration = NearCacheInstance.configuration(redis: redis, localCache: false)
            let factory = SessionStoreFactory(configuration: configuration, group: group, logger: RedisIntegration.quietLogger)
            factory.redis?.start()
            return (factory.store, factory.redis, group)
        }

        /// Polls the instances until each refuses `token`. Returns, per instance, how long after `revokedAt` the last
        /// validation that still *accepted* the session began (zero if none did).
        ///
        /// Measuring the accepting validations' start times, not when the poll loop happened to see the first refusal,
        /// keeps the measure honest when the test task itself is descheduled: a hit is decided synchronously when
        /// `validate` is called, and a miss asks Redis, where the session is already gone.
        private func lastAcceptance(
            _ token: SessionToken, on instances: [NearCacheInstance], after revokedAt: ContinuousClock.Instant
        ) async throws -> [Duration] {
            var lastAccepted: [Duration] = instances.map { _ in .zero }
            var refused = instances.map { _ in false }
            while refused.contains(false) {
                for (index, instance) in instances.enumerated() where !refused[index] {
                    let start = ContinuousClock.now
                    if try await instance.validate(token) == nil {
                        refused[index] = true
                    } else {
                        lastAccepted[index] = start - revokedAt
                    }
                }
                if ContinuousClock.now - revokedAt > .seconds(1) { break }
                // A short sleep, not a busy loop: on a 2-core machine a spinning poller takes a core from the
                // instances' event loops, and would itself delay the invalidation it is waiting for.
                try await Task.sleep(for: .microseconds(100))
            }
            return zip(lastAccepted, refused).map { $1 ? $0 : .seconds(1) }
        }

        @Test func aRevokedSessionIsRefusedByBothInstancesWithin5msInEveryOf1000Trials() async throws {
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let a = try await NearCacheInstance.start(redis: redis)
            let b = try await NearCacheInstance.start(redis: redis)
            let cli = commandLineStore(redis)
            _ = await cli.client?.waitUntilConnected(timeout: .seconds(5))
            defer {
                Task {
                    await a.stop()
                    await b.stop()
                    await cli.client?.shutdown()
                    try? await cli.group.shutdownGracefully()
                }
            }

            // A cached session costs no Redis command on either instance.
            let probe = try await cli.store.create(NewSession(userID: "probe", userName: "p", roles: []))
            try await a.prime(probe.token)
            try await b.prime(probe.token)
            let before = try redis.totalCommands()
            #expect(try await a.validate(probe.token)?.userID == "probe")
            #expect(try await b.validate(probe.token)?.userID == "probe")
            #expect(try redis.totalCommands() - before == 1, "only the first INFO ran")

            var slowest: Duration = .zero
            var late = 0
            for trial in 0..<1000 {
                let userID = "user-\(trial)"
                let created = try await cli.store.create(NewSession(userID: userID, userName: "u", roles: ["r"]))
                try await a.prime(created.token)
                try await b.prime(created.token)
                // Half as `sessiongate session revoke` does it (another process's store), half as a logout on
                // instance A does it (`POST /auth/logout` ends the presented session through A's own store).
                let start: ContinuousClock.Instant
                if trial % 2 == 0 {
                    #expect(try await cli.store.revokeAll(userID: userID) == 1)
                    start = .now
                } else {
                    #expect(try await a.store.destroy(created.token, userID: userID))
                    start = .now
                }
                for time in try await lastAcceptance(created.token, on: [a, b], after: start) {
                    slowest = max(slowest, time)
                    if time > .milliseconds(5) { late += 1 }
                }
                // A breather between trials, so the test does not starve other suites' timing on a 2-core machine.
                try await Task.sleep(for: .milliseconds(5))
            }
            print("near-cache revocation: 1,000 trials on two instances, latest acceptance after revocation \(slowest)")
            #expect(late == 0, "sessions still accepted later than 5 ms after revocation: \(late); latest \(slowest)")
        }

        @Test func theRealCommandLineRevokeIsSeenByBothInstances() async throws {
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let a = try await NearCacheInstance.start(redis: redis)
            let b = try await NearCacheInstance.start(redis: redis)
            defer {
                Task {
                    await a.stop()
                    await b.stop()
                }
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessiongate-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let config = directory.appendingPathComponent("proxy.conf").path
            try """
                [session]
                local_cache = true
                [redis]
                address = "127.0.0.1:\(redis.port)"
                [[upstream]]
                name = "app"
                servers = ["127.0.0.1:1"]
                [[route]]
                path = "/"
                upstream = "app"
                """.write(toFile: config, atomically: true, encoding: .utf8)

            for trial in 0..<3 {
                let created = try await a.store.create(NewSession(userID: "cli-\(trial)", userName: "u", roles: []))
                try await a.prime(created.token)
                try await b.prime(created.token)
                let process = try ChildProcess.start(
                    try sessiongateBinary(), arguments: ["session", "revoke", "--config", config, "--user", "cli-\(trial)"])
                let status = await process.waitForExit(timeout: .seconds(20))
                let start = ContinuousClock.now
                #expect(status == 0, "stderr: \(process.stderr)")
                for time in try await lastAcceptance(created.token, on: [a, b], after: start) {
                    #expect(time <= .milliseconds(5))
                }
            }
        }
    }
}
