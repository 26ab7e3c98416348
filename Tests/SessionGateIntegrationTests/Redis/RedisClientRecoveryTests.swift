import NIOCore
import NIOPosix
import SessionGateRedis
import Testing

/// The client when Redis misbehaves: slow commands, a killed and restarted server, killed client connections.
@Suite("Redis client recovery", .timeLimit(.minutes(1)))
struct RedisClientRecoveryTests {
    @Test func slowCommandTimesOutAndTheClientRecovers() async throws {
        let redis = try await RedisServer.start(extraArguments: ["--enable-debug-command", "yes"])
        let configure: (inout RedisClientConfiguration) -> Void = {
            $0.connections = 1
            $0.commandTimeout = .milliseconds(100)
        }
        try await RedisIntegration.withOwnEventLoop { group in
            try await RedisIntegration.withClient(for: redis, group: group, configure: configure) { client async throws in
                let connected = await client.waitUntilConnected(timeout: .seconds(5))
                #expect(connected)
                let start = ContinuousClock.now
                let sleep = client.send(RedisCommand("DEBUG", "SLEEP", "1"), on: nil)
                let behind = client.send(RedisCommand("GET", "behind-the-sleep"), on: nil)
                let sleepError = await RedisIntegration.error { try await sleep.get() }
                let behindError = await RedisIntegration.error { try await behind.get() }
                #expect(sleepError == .timeout)
                #expect(behindError == .connectionClosed)  // its reply would have been misaligned
                // `.timeout` shows the 100 ms timer ended the command: the server's own answer (after 1 s) would have
                // been a success. The clock only catches a hang, with room for a loaded CI machine.
                #expect(ContinuousClock.now - start < .seconds(20), "failed fast, not hung")
                let recovered = await RedisIntegration.eventually(timeout: .seconds(5)) { await RedisIntegration.pings(client) }
                #expect(recovered)
                #expect(try await client.send(RedisCommand("SET", "after", "1")) == .simpleString("OK"))
            }
        }
    }

    @Test func killedServerFailsFastThenReconnectsAfterRestart() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withOwnEventLoop { group in
            try await RedisIntegration.withClient(for: redis, group: group) { client async throws in
                let connected = await client.waitUntilConnected(timeout: .seconds(5))
                #expect(connected)
                redis.kill()
                for _ in 0..<5 {
                    let start = ContinuousClock.now
                    let error = await RedisIntegration.error { try await client.send(RedisCommand("PING")) }
                    #expect(error != nil)
                    #expect(ContinuousClock.now - start < .seconds(3), "failed fast, not hung")  // at most the command timeout
                    try await Task.sleep(for: .milliseconds(30))
                }
                try await redis.restart()
                let reconnected = await client.waitUntilConnected(timeout: .seconds(5))
                #expect(reconnected)
                #expect(try await client.send(RedisCommand("SET", "k", "back")) == .simpleString("OK"))
            }
        }
    }

    @Test func killedClientConnectionsAreReplaced() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withClient(for: redis) { client async throws in
            let connected = await client.waitUntilConnected(timeout: .seconds(5))
            #expect(connected)
            let killed = try redis.command("CLIENT", "KILL", "TYPE", "normal")
            #expect(killed == "2")
            // A PING only succeeds on a new connection: the killed ones fail it.
            let recovered = await RedisIntegration.eventually(timeout: .seconds(5)) {
                let pinged = await RedisIntegration.pings(client)
                return pinged ? await client.waitUntilConnected(timeout: .milliseconds(100)) : false
            }
            #expect(recovered)
            #expect(try await client.send(RedisCommand("INCR", "after-kill")).int == 1)
            // Both connections are back, plus redis-cli's own.
            #expect(try redis.command("CLIENT", "LIST").split(separator: "\n").count == 3)
        }
    }
}
