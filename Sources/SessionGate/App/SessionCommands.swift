import Logging
import NIOCore
import NIOPosix

/// What `sessiongate session create|revoke` do, against the configured store.
public enum SessionCommands {
    /// Why a command could not run.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates a session and returns it (the caller prints the token).
    /// - Throws: ``Failure`` for `store = "memory"` (another process's memory cannot be reached) or when Redis
    ///   cannot be reached; ``SessionStoreError/invalidInput(_:)`` for a bad user ID, name or role.
    public static func create(configuration: ProxyConfiguration, session: NewSession, logger: Logger) async throws -> CreatedSession {
        try await withStore(configuration, logger: logger) { try await $0.create(session) }
    }

    /// Ends every session of `userID`. - Returns: how many sessions were ended.
    public static func revokeAll(configuration: ProxyConfiguration, userID: String, logger: Logger) async throws -> Int {
        try await withStore(configuration, logger: logger) { try await $0.revokeAll(userID: userID) }
    }

    private static func withStore<T: Sendable>(
        _ configuration: ProxyConfiguration, logger: Logger, _ body: (SessionStore) async throws -> T
    ) async throws -> T {
        guard configuration.session.store == .redis else {
            throw Failure(description: """
                store = "memory" keeps sessions inside the running proxy's own process, which this command cannot \
                reach; use store = "redis" to manage sessions from the command line
                """)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let stores = SessionStoreFactory(configuration: configuration, group: group, logger: logger)
        guard let redis = stores.redis else { preconditionFailure("a redis store has a client") }
        redis.start()
        let result: Result<T, Error>
        if await redis.waitUntilConnected(timeout: configuration.redis.timeout + .seconds(2)) {
            do { result = .success(try await body(stores.store)) } catch { result = .failure(error) }
        } else {
            result = .failure(Failure(description: "cannot reach Redis at \(configuration.redis.endpointDescription)"))
        }
        await redis.shutdown()
        try? await group.shutdownGracefully()
        return try result.get()
    }
}
