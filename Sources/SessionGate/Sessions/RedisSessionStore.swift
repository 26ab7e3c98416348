import NIOCore
import SessionGateRedis

/// Sessions in Redis: validation and sliding refresh in one `EVALSHA`, pipelined with other requests' commands.
public final class RedisSessionStore: SessionStore {
    private let client: RedisClient
    private let keys: RedisSessionKeys
    private let idleTimeoutMs: String
    private let absoluteTimeoutMs: String

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

    public func create(_ session: NewSession) async throws -> CreatedSession {
        let token = SessionToken.generate(tag: SessionToken.tag(forUser: session.userID))
        let reply: RedisValue
        do {
            reply = try await client.eval(
                RedisSessionScripts.create,
                keys: [keys.session(token), keys.userIndex(userID: session.userID)],
                arguments: [
                    session.userID, session.userName, session.roles.joined(separator: ","), idleTimeoutMs,
                    absoluteTimeoutMs, token.hashHex,
                ]
            )
        } catch {
            throw SessionStoreError.unavailable(String(describing: error))
        }
        guard let fields = reply.array, fields.count == 3, let absolute = fields[1].int, let expires = fields[2].int else {
            throw SessionStoreError.unavailable("unexpected reply to the create script: \(reply)")
        }
        let identity = SessionIdentity(
            userID: session.userID, userName: session.userName, roles: session.roles,
            expiresAt: expires, absoluteExpiresAt: absolute
        )
        return CreatedSession(token: token, identity: identity)
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
