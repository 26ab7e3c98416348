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
        // One promise instead of a chain of `map`s: each future costs an allocation and runtime type lookups, on
        // every request.
        let promise = eventLoop.makePromise(of: SessionIdentity?.self)
        client.eval(RedisSessionScripts.validate, keys: [keys.session(token)], arguments: [idleTimeoutMs], on: eventLoop)
            .whenComplete { result in
                switch result {
                case .success(let reply):
                    promise.succeed(RedisSessionScripts.identity(fromValidationReply: reply, fieldCount: 5))
                case .failure(let error):
                    promise.fail(SessionStoreError.unavailable(String(describing: error)))
                }
            }
        return promise.futureResult
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
