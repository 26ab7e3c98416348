import NIOCore
import SessionGateRedis

/// Sessions in Redis: validation and sliding refresh in one `EVALSHA`, pipelined with other requests' commands.
public final class RedisSessionStore: SessionStore {
    let client: RedisClient
    let keys: RedisSessionKeys
    let idleTimeoutMs: String
    let absoluteTimeoutMs: String

    public init(client: RedisClient, keyPrefix: String, idleTimeout: TimeAmount, absoluteTimeout: TimeAmount) {
        self.client = client
        self.keys = RedisSessionKeys(prefix: keyPrefix)
        self.idleTimeoutMs = String(idleTimeout.nanoseconds / 1_000_000)
        self.absoluteTimeoutMs = String(absoluteTimeout.nanoseconds / 1_000_000)
    }

    public func validate(_ token: SessionToken, on eventLoop: EventLoop) -> EventLoopFuture<SessionIdentity?> {
        client.eval(RedisSessionScripts.validate, keys: [keys.session(token)], arguments: [idleTimeoutMs], on: eventLoop)
            .flatMapErrorThrowing { throw SessionStoreError.unavailable(String(describing: $0)) }
            .map { RedisSessionScripts.identity(fromValidationReply: $0, fieldCount: 5) }
    }

    public func revokeAll(userID: String) async throws -> Int {
        do {
            let reply = try await client.eval(
                RedisSessionScripts.revokeAll,
                keys: [keys.userIndex(userID: userID)],
                arguments: [keys.sessionPrefix(tag: SessionToken.tag(forUser: userID))]
            )
            return Int(reply.int ?? 0)
        } catch {
            throw SessionStoreError.unavailable(String(describing: error))
        }
    }
}
