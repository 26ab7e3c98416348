import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SessionGateRedis

/// Shared helpers for the Redis client's integration tests.
enum RedisIntegration {
    /// A started client for `server`, with a short reconnect backoff so recovery tests are fast.
    ///
    /// Timing-sensitive tests pass their own `group`, so other tests' load on NIO's shared loops cannot delay them.
    static func client(
        for server: RedisServer,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = quietLogger,
        configure: (inout RedisClientConfiguration) -> Void = { _ in }
    ) -> RedisClient {
        var configuration = RedisClientConfiguration(host: "127.0.0.1", port: server.port)
        configuration.reconnectBackoffMax = .milliseconds(200)
        // Generous by default: a loaded test machine can stall a command (a first EVAL compiles its script) well past
        // the 500 ms a production default allows. Tests of the timeouts themselves set their own.
        configuration.commandTimeout = .seconds(5)
        configuration.connectTimeout = .seconds(2)
        configure(&configuration)
        let client = RedisClient(
            configuration: configuration, eventLoopGroup: group, logger: logger)
        client.start()
        return client
    }

    /// Runs `body` with a started client for `server`, and shuts the client down afterwards, also on failure.
    static func withClient<Result>(
        for server: RedisServer,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = quietLogger,
        configure: (inout RedisClientConfiguration) -> Void = { _ in },
        _ body: (RedisClient) async throws -> Result
    ) async throws -> Result {
        let client = client(for: server, group: group, logger: logger, configure: configure)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Runs `body` with a one-thread event loop group of its own, shut down afterwards.
    static func withOwnEventLoop<Result>(_ body: (EventLoopGroup) async throws -> Result) async throws -> Result {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = try await body(group)
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "redis-integration-test")
        logger.logLevel = .critical
        return logger
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes.
    /// - Returns: Whether it held in time.
    static func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() {
                return true
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    /// Whether `PING` answers `PONG` right now.
    static func pings(_ client: RedisClient) async -> Bool {
        (try? await client.send(RedisCommand("PING")).string) == "PONG"
    }

    /// The error `body` throws, or nil.
    static func error(_ body: () async throws -> RedisValue) async -> RedisError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? RedisError
        }
    }
}

/// A log handler that keeps every message, for asserting what was logged and how often.
struct RecordingLogHandler: LogHandler {
    let messages: NIOLockedValueBox<[(Logger.Level, String)]>
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        messages.withLockedValue { $0.append((event.level, event.message.description)) }
    }
}
