import NIOCore
import NIOPosix
import SessionGateRedis
import Testing

@testable import SessionGate

/// Validations asked for on one event loop during one tick go to a real Redis in one script call, and each request
/// still gets exactly its own session's answer, refresh included.
@Suite("Validations batched per event-loop tick")
struct ValidationBatchTests {
    /// Calls `validate` for every token inside one task on `loop` (so within one tick), and waits for the outcomes.
    static func validateInOneTick(
        _ tokens: [SessionToken], store: RedisSessionStore, loop: EventLoop
    ) async throws -> [Result<SessionIdentity?, any Error>] {
        let futures = try await loop.submit {
            tokens.map { token -> EventLoopFuture<SessionIdentity?> in
                let promise = loop.makePromise(of: SessionIdentity?.self)
                let lookup = store.validate(token, on: loop) { { promise.completeWith($0) } }
                if case .known(let identity) = lookup { promise.succeed(identity) }
                return promise.futureResult
            }
        }.get()
        return try await EventLoopFuture.whenAllComplete(futures, on: loop).get()
    }

    static func users(_ results: [Result<SessionIdentity?, any Error>]) -> [String?] {
        results.map { result in (try? result.get())?.flatMap { $0.userID } ?? nil }
    }

    @Test func sessionsAskedForInOneTickShareOneScriptCallAndEachGetsItsOwnAnswer() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await RedisIntegration.withOwnEventLoop { group in
            try await RedisIntegration.withClient(for: redis, group: group) { client in
                let loop = group.next()
                let store = RedisSessionStore(
                    client: client, keyPrefix: "sg:", idleTimeout: .minutes(30), absoluteTimeout: .hours(1),
                    batchingOn: group)
                var tokens: [String: SessionToken] = [:]
                for user in ["a", "b", "c", "d"] {
                    tokens[user] = try await store.create(NewSession(userID: user, userName: user, roles: ["r"])).token
                }
                _ = try await store.revokeAll(userID: "d")
                let unknown = SessionToken(String(tokens["a"]!.rawValue.prefix(8)) + String(repeating: "Z", count: 43))!
                let a = tokens["a"]!, b = tokens["b"]!, c = tokens["c"]!, d = tokens["d"]!
                // Loads the scripts, so that the counts below see no NOSCRIPT retry.
                _ = try await Self.validateInOneTick([a, b], store: store, loop: loop)
                _ = try await Self.validateInOneTick([a], store: store, loop: loop)

                // A sliding expiry that has run down, to see the batch refresh it.
                let keyA = RedisSessionKeys(prefix: "sg:").session(a)
                try redis.command("PEXPIRE", keyA, "5000")
                let before = try redis.commandCount("evalsha")
                let readsBefore = try redis.commandCount("hmget")
                let results = try await Self.validateInOneTick([a, b, unknown, c, a, d], store: store, loop: loop)
                #expect(try redis.commandCount("evalsha") - before == 1, "six validations, one script call")
                #expect(try redis.commandCount("hmget") - readsBefore == 5, "a's second request shares its first's check")
                #expect(Self.users(results) == ["a", "b", nil, "c", "a", nil])
                let failures = results.filter { if case .failure = $0 { true } else { false } }
                #expect(failures.isEmpty, "a missing session is an answer, not a failure")
                let ttl = try #require(Int(try redis.command("PTTL", keyA)))
                #expect(ttl > 29 * 60 * 1000, "the batch refreshed the sliding expiry to the idle timeout")
                #expect(try redis.command("HGET", keyA, "user_id") == "a")

                // More sessions than a call may hold are split: 64, 64, then the last 2 at the end of the tick.
                var many = [a, b, c]
                for index in 3..<130 {
                    many.append(try await store.create(NewSession(userID: "u\(index)", userName: "", roles: [])).token)
                }
                let beforeMany = try redis.commandCount("evalsha")
                let manyResults = try await Self.validateInOneTick(many, store: store, loop: loop)
                #expect(try redis.commandCount("evalsha") - beforeMany == 3)
                #expect(Self.users(manyResults) == ["a", "b", "c"] + (3..<130).map { "u\($0)" })

                // One session asked for four times in a tick: one check, four answers.
                let (callsBefore, checksBefore) = (try redis.commandCount("evalsha"), try redis.commandCount("hmget"))
                #expect(Self.users(try await Self.validateInOneTick([a, a, a, a], store: store, loop: loop)) == ["a", "a", "a", "a"])
                #expect(try redis.commandCount("evalsha") - callsBefore == 1)
                #expect(try redis.commandCount("hmget") - checksBefore == 1)
            }
        }
    }

    @Test func aBatchThatCannotReachRedisFailsEveryRequestInIt() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await RedisIntegration.withOwnEventLoop { group in
            try await RedisIntegration.withClient(for: redis, group: group, configure: { $0.commandTimeout = .seconds(1) }) {
                client in
                let loop = group.next()
                let store = RedisSessionStore(
                    client: client, keyPrefix: "sg:", idleTimeout: .minutes(30), absoluteTimeout: .hours(1),
                    batchingOn: group)
                let token = try await store.create(NewSession(userID: "a", userName: "a", roles: [])).token
                #expect(Self.users(try await Self.validateInOneTick([token, token], store: store, loop: loop)) == ["a", "a"])
                redis.kill()
                let results = try await Self.validateInOneTick([token, token, token], store: store, loop: loop)
                for result in results {
                    #expect(throws: SessionStoreError.self) { try result.get() }
                }
            }
        }
    }
}
