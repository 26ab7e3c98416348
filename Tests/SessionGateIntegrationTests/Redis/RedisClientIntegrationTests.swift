import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SessionGateRedis
import Testing

/// The client against a real `redis-server` (each test starts its own): commands, pipelining, scripts, AUTH, SELECT.
@Suite("Redis client integration", .timeLimit(.minutes(1)))
struct RedisClientIntegrationTests {
    @Test func setThenGetRoundTrips() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withClient(for: redis) { client async throws in
            #expect(try await client.send(RedisCommand("SET", "greeting", "héllo\r\nworld")) == .simpleString("OK"))
            #expect(try await client.send(RedisCommand("GET", "greeting")).string == "héllo\r\nworld")
            #expect(try await client.send(RedisCommand("GET", "missing")).isNull)
            #expect(try await client.send(RedisCommand("INCRBY", "counter", "5")).int == 5)
            #expect(try redis.command("STRLEN", "greeting") == "13")  // é is two bytes
            let error = await RedisIntegration.error { try await client.send(RedisCommand("NOSUCHCOMMAND")) }
            #expect(error?.serverMessage?.hasPrefix("ERR unknown command") == true)
        }
    }

    @Test func tenThousandConcurrentCommandsAreMatchedToTheirReplies() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withClient(for: redis, configure: { $0.commandTimeout = .seconds(10) }) { client async throws in
            let connected = await client.waitUntilConnected(timeout: .seconds(5))
            #expect(connected)
            let group = MultiThreadedEventLoopGroup.singleton
            // Half from outside the event loops, half from inside them: both routing paths, concurrently.
            let futures = (0..<10_000).map { index -> EventLoopFuture<RedisValue> in
                let command = RedisCommand("ECHO", "value-\(index)")
                if index.isMultiple(of: 2) {
                    return client.send(command)
                }
                let loop = group.next()
                return loop.flatSubmit { client.send(command, on: loop) }
            }
            var mismatches = 0
            for (index, future) in futures.enumerated() {
                if try await future.get().string != "value-\(index)" {
                    mismatches += 1
                }
            }
            #expect(mismatches == 0)
            #expect(try redis.commandCount("echo") == 10_000)
        }
    }

    @Test func replyFutureCompletesOnTheRequestedLoop() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withClient(for: redis) { client async throws in
            for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
                let onLoop = try await client.send(RedisCommand("PING"), on: loop).map { _ in loop.inEventLoop }.get()
                #expect(onLoop)
            }
        }
    }

    @Test func evalFallsBackToEvalOnNoScript() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withClient(for: redis) { client async throws in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await client.eval(script, keys: ["n"], arguments: ["2"]).int == 2)  // NOSCRIPT, then EVAL
            #expect(try await client.eval(script, keys: ["n"], arguments: ["3"]).int == 5)  // EVALSHA hits
            #expect(try redis.commandCount("eval") == 1)
            try redis.command("SCRIPT", "FLUSH")
            #expect(try await client.eval(script, keys: ["n"], arguments: ["4"]).int == 9)
            #expect(try redis.commandCount("eval") == 2)
            #expect(try redis.commandCount("evalsha") == 3)
            let failing = RedisScript("return redis.error_reply('ERR custom failure')")
            let error = await RedisIntegration.error { try await client.eval(failing, keys: [], arguments: []) }
            #expect(error?.serverMessage == "ERR custom failure")
        }
    }

    /// The proxy's hot path uses the callback form: it must fall back on `NOSCRIPT` too, and answer on the asked loop.
    @Test func evalWithACallbackFallsBackOnNoScriptAndAnswersOnTheLoop() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withClient(for: redis) { client async throws in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            func evalByCallback(_ increment: String, _ script: RedisScript) async -> (Result<RedisValue, any Error>, Bool) {
                await withCheckedContinuation { continuation in
                    client.eval(script, keys: ["n"], arguments: [increment], on: loop) { result in
                        continuation.resume(returning: (result, loop.inEventLoop))
                    }
                }
            }
            let (first, firstOnLoop) = await evalByCallback("2", script)  // NOSCRIPT, then EVAL
            #expect(try first.get().int == 2)
            #expect(firstOnLoop)
            #expect(try await evalByCallback("3", script).0.get().int == 5)  // EVALSHA hits
            try redis.command("SCRIPT", "FLUSH")
            #expect(try await evalByCallback("4", script).0.get().int == 9)
            #expect(try redis.commandCount("eval") == 2)
            #expect(try redis.commandCount("evalsha") == 3)
            let failing = RedisScript("return redis.error_reply('ERR custom failure')")
            let (failed, failedOnLoop) = await evalByCallback("1", failing)
            #expect(failedOnLoop)
            #expect(throws: RedisError.server("ERR custom failure")) { try failed.get() }
        }
    }

    @Test func authenticatesWithTheRightPassword() async throws {
        let redis = try await RedisServer.start(extraArguments: ["--requirepass", "s3cret"])
        try await RedisIntegration.withClient(for: redis, configure: { $0.password = "s3cret" }) { client async throws in
            let connected = await client.waitUntilConnected(timeout: .seconds(5))
            #expect(connected)
            #expect(try await client.send(RedisCommand("SET", "k", "v")) == .simpleString("OK"))
        }
        let asDefaultUser: (inout RedisClientConfiguration) -> Void = {
            $0.username = "default"
            $0.password = "s3cret"
        }
        try await RedisIntegration.withClient(for: redis, configure: asDefaultUser) { client async throws in
            #expect(try await client.send(RedisCommand("GET", "k")).string == "v")
        }
    }

    @Test func wrongPasswordFailsFastAndIsLoggedOncePerConnection() async throws {
        let redis = try await RedisServer.start(extraArguments: ["--requirepass", "s3cret"])
        let messages = NIOLockedValueBox<[(Logger.Level, String)]>([])
        let logger = Logger(label: "redis-auth-test") { _ in RecordingLogHandler(messages: messages) }
        let configure: (inout RedisClientConfiguration) -> Void = {
            $0.password = "wrong"
            $0.database = 2  // AUTH's and SELECT's errors then arrive in one read
            $0.reconnectBackoffInitial = .milliseconds(10)
            $0.reconnectBackoffMax = .milliseconds(20)
        }
        try await RedisIntegration.withClient(for: redis, logger: logger, configure: configure) { client async throws in
            let start = ContinuousClock.now
            let queued = await RedisIntegration.error { try await client.send(RedisCommand("GET", "k")) }
            #expect(queued == .connectionUnavailable)
            let connected = await client.waitUntilConnected(timeout: .milliseconds(300))
            #expect(!connected)
            let later = await RedisIntegration.error { try await client.send(RedisCommand("GET", "k")) }
            #expect(later == .connectionUnavailable)
            // The two `connectionUnavailable`s show the client fails rather than queues; the clock only catches a
            // hang, with room for a loaded CI machine (4 s was once exceeded there).
            #expect(ContinuousClock.now - start < .seconds(20), "failed fast, not hung")
        }
        // Many attempts in 300 ms, yet each of the two connections logged the WRONGPASS problem once, also when a
        // retry failed differently in between (a handshake or connect timing out on a loaded machine).
        #expect(try redis.commandCount("auth") > 4)
        let wrongPass = messages.withLockedValue { $0.filter { $0.1.contains("WRONGPASS") } }
        #expect(wrongPass.count == 2)
        #expect(wrongPass.allSatisfy { $0.0 == .warning })
    }

    @Test func selectIsolatesDatabases() async throws {
        let redis = try await RedisServer.start()
        try await RedisIntegration.withClient(for: redis, configure: { $0.database = 3 }) { db3 async throws in
            #expect(try await db3.send(RedisCommand("SET", "isolated", "three")) == .simpleString("OK"))
            #expect(try await db3.send(RedisCommand("GET", "isolated")).string == "three")
        }
        try await RedisIntegration.withClient(for: redis) { db0 async throws in
            #expect(try await db0.send(RedisCommand("GET", "isolated")).isNull)
        }
        #expect(try redis.command("-n", "3", "GET", "isolated") == "three")
        #expect(try redis.command("-n", "0", "EXISTS", "isolated") == "0")
    }

    @Test func shutdownFailsLaterCommandsAndIsIdempotent() async throws {
        let redis = try await RedisServer.start()
        let client = RedisIntegration.client(for: redis)
        let pinged = await RedisIntegration.pings(client)
        #expect(pinged)
        await client.shutdown()
        await client.shutdown()
        let error = await RedisIntegration.error { try await client.send(RedisCommand("PING")) }
        #expect(error == .connectionUnavailable)
        let connected = await client.waitUntilConnected(timeout: .milliseconds(100))
        #expect(!connected)
    }
}
