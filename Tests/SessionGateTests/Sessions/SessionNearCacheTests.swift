import Testing

@testable import SessionGate

/// The near-cache's rules, driven with explicit times: no Redis, no clock.
@Suite("SessionNearCache")
struct SessionNearCacheTests {
    let identity = SessionIdentity(userID: "42", userName: "alice", roles: ["admin"], expiresAt: 0, absoluteExpiresAt: 0)

    /// Idle 10 s, refresh 1 s, caching active.
    func activeCache(capacity: Int = 100) -> SessionNearCache {
        var cache = SessionNearCache(capacity: capacity, idleTimeoutMs: 10_000, refreshIntervalMs: 1_000)
        cache.activate()
        return cache
    }

    func entry(stored: Int64 = 10_000, absolute: Int64 = 100_000, user: String = "42") -> SessionNearCache.Entry {
        var identity = identity
        identity.userID = user
        return SessionNearCache.Entry(identity: identity, storedExpiry: stored, absoluteExpiry: absolute)
    }

    func cached(_ key: String, in cache: inout SessionNearCache, _ entry: SessionNearCache.Entry) {
        let ticket = cache.beginRead(key)
        cache.store(entry, ticket: ticket)
    }

    @Test func aStoredReadIsAHitUntilItsStoredExpiry() {
        var cache = activeCache()
        cached("k", in: &cache, entry(stored: 10_000))
        #expect(cache.lookup("k", now: 0) == .hit(identity, refresh: false))
        #expect(cache.lookup("k", now: 10_000) == .miss)
        #expect(cache.count == 0)
    }

    @Test func theAbsoluteExpiryEndsAHitToo() {
        var cache = activeCache()
        cached("k", in: &cache, entry(stored: 10_000, absolute: 500))
        #expect(cache.lookup("k", now: 499) != .miss)
        #expect(cache.lookup("k", now: 500) == .miss)
    }

    @Test func nothingIsCachedOrServedWhileInactive() {
        var cache = SessionNearCache(capacity: 10, idleTimeoutMs: 10_000, refreshIntervalMs: 1_000)
        cached("k", in: &cache, entry())
        #expect(cache.lookup("k", now: 0) == .miss)
        cache.activate()
        cached("k", in: &cache, entry())
        cache.deactivate()
        #expect(cache.lookup("k", now: 0) == .miss)
        cache.activate()
        #expect(cache.lookup("k", now: 0) == .miss, "activation flushes what was cached before")
    }

    @Test func anInvalidationArrivingBeforeTheReplyKeepsTheReplyOutOfTheCache() {
        var cache = activeCache()
        let ticket = cache.beginRead("k")
        cache.invalidate("k")
        cache.store(entry(), ticket: ticket)
        #expect(cache.lookup("k", now: 0) == .miss)
        // The next read, begun after the invalidation, is cached.
        cached("k", in: &cache, entry())
        #expect(cache.lookup("k", now: 0) != .miss)
    }

    @Test func anInvalidationOfAnotherKeyDoesNotMatter() {
        var cache = activeCache()
        let ticket = cache.beginRead("k")
        cache.invalidate("other")
        cache.store(entry(), ticket: ticket)
        #expect(cache.lookup("k", now: 0) != .miss)
    }

    @Test func overlappingReadsOfOneKeyAreAllDiscardedAfterAnInvalidation() {
        var cache = activeCache()
        let first = cache.beginRead("k")
        let second = cache.beginRead("k")
        cache.invalidate("k")
        cache.store(entry(), ticket: first)
        cache.store(entry(), ticket: second)
        #expect(cache.lookup("k", now: 0) == .miss)
    }

    @Test func aDropOfTheSubscriptionDuringAReadKeepsTheReplyOut() {
        var cache = activeCache()
        let ticket = cache.beginRead("k")
        cache.deactivate()
        cache.activate()
        cache.store(entry(), ticket: ticket)
        #expect(cache.lookup("k", now: 0) == .miss)
    }

    @Test func aMissingSessionEvictsTheKey() {
        var cache = activeCache()
        cached("k", in: &cache, entry())
        cache.store(nil, ticket: cache.beginRead("k"))
        #expect(cache.lookup("k", now: 0) == .miss)
    }

    @Test func aRefreshIsAskedOnceTheStoredExpiryTrailsByMoreThanTheInterval() {
        var cache = activeCache()
        cached("k", in: &cache, entry(stored: 10_000))
        #expect(cache.lookup("k", now: 1_000) == .hit(identity, refresh: false))
        #expect(cache.lookup("k", now: 1_001) == .hit(identity, refresh: true))
        #expect(cache.lookup("k", now: 1_002) == .hit(identity, refresh: false), "one refresh in flight")
        cache.refreshFinished("k")
        #expect(cache.lookup("k", now: 1_003) == .hit(identity, refresh: true))
    }

    @Test func noRefreshIsAskedWhenTheAbsoluteExpiryCapsTheSlidingOne() {
        var cache = activeCache()
        cached("k", in: &cache, entry(stored: 10_000, absolute: 10_000))
        #expect(cache.lookup("k", now: 5_000) == .hit(identity, refresh: false))
    }

    @Test func revokingAUserEvictsOnlyTheirSessions() {
        var cache = activeCache()
        cached("a1", in: &cache, entry(user: "a"))
        cached("a2", in: &cache, entry(user: "a"))
        cached("b1", in: &cache, entry(user: "b"))
        cache.invalidate(userID: "a")
        #expect(cache.lookup("a1", now: 0) == .miss)
        #expect(cache.lookup("a2", now: 0) == .miss)
        #expect(cache.lookup("b1", now: 0) != .miss)
    }

    @Test func theSizeIsBoundedAndEvictionKeepsTheIndexConsistent() {
        var cache = activeCache(capacity: 3)
        for index in 0..<50 {
            cached("k\(index)", in: &cache, entry())
            #expect(cache.count <= 3)
            #expect(cache.lookup("k\(index)", now: 0) != .miss, "the newest entry is kept")
        }
        cache.invalidateAll()
        #expect(cache.count == 0)
    }

    // MARK: - Finding an entry by its token's fingerprint (hits skip SHA-256)

    let tokenA = SessionToken("0123abcd" + String(repeating: "A", count: 43))!
    let tokenB = SessionToken("0123abcd" + String(repeating: "B", count: 43))!

    func cached(_ key: String, token: SessionToken, in cache: inout SessionNearCache, _ entry: SessionNearCache.Entry) {
        cache.store(entry, ticket: cache.beginRead(key, fingerprint: TokenFingerprint(token)))
    }

    @Test func aFingerprintIsStableForOneTokenAndDiffersBetweenTokens() {
        #expect(TokenFingerprint(tokenA) == TokenFingerprint(SessionToken(tokenA.rawValue)!))
        #expect(TokenFingerprint(tokenA) != TokenFingerprint(tokenB))
    }

    @Test func aStoredEntryIsFoundByItsTokensFingerprintOnly() {
        var cache = activeCache()
        cached("ka", token: tokenA, in: &cache, entry())
        #expect(cache.keyFound(by: TokenFingerprint(tokenA)) == "ka")
        #expect(cache.keyFound(by: TokenFingerprint(tokenB)) == nil, "another token never finds this entry")
    }

    @Test func invalidationEvictionAndFlushForgetTheFingerprint() {
        var cache = activeCache(capacity: 1)
        cached("ka", token: tokenA, in: &cache, entry())
        cache.invalidate("ka")
        #expect(cache.keyFound(by: TokenFingerprint(tokenA)) == nil, "an invalidated key is not found by fingerprint")

        cached("ka", token: tokenA, in: &cache, entry())
        cached("kb", token: tokenB, in: &cache, entry())
        #expect(cache.keyFound(by: TokenFingerprint(tokenA)) == nil, "the evicted entry's fingerprint is gone")
        #expect(cache.keyFound(by: TokenFingerprint(tokenB)) == "kb")

        cache.deactivate()
        #expect(cache.keyFound(by: TokenFingerprint(tokenB)) == nil, "a flush forgets every fingerprint")
    }

    @Test func entriesMovedByARemovalAreStillFoundByKeyAndFingerprint() {
        let tokenC = SessionToken("0123abcd" + String(repeating: "C", count: 43))!
        var cache = activeCache()
        cached("ka", token: tokenA, in: &cache, entry(user: "a"))
        cached("kb", token: tokenB, in: &cache, entry(user: "b"))
        cached("kc", token: tokenC, in: &cache, entry(user: "c"))
        // Removing the first entry moves the last one into its place.
        cache.invalidate("ka")
        #expect(cache.count == 2)
        #expect(cache.lookup(fingerprint: TokenFingerprint(tokenA), now: 0) == nil)
        for (token, key, user) in [(tokenB, "kb", "b"), (tokenC, "kc", "c")] {
            guard let found = cache.lookup(fingerprint: TokenFingerprint(token), now: 0) else {
                Issue.record("\(key) is not found by its fingerprint")
                continue
            }
            #expect(found.key == key)
            guard case .hit(let identity, _) = found.lookup, case .hit(let byKey, _) = cache.lookup(key, now: 0) else {
                Issue.record("\(key) is not a hit")
                continue
            }
            #expect(identity.userID == user)
            #expect(byKey.userID == user)
        }
        // An expired entry found by fingerprint is removed and reported as a miss, with its key for the read.
        let expired = cache.lookup(fingerprint: TokenFingerprint(tokenC), now: 10_000)
        #expect(expired?.key == "kc")
        #expect(expired?.lookup == .miss)
        #expect(cache.lookup(fingerprint: TokenFingerprint(tokenC), now: 0) == nil)
        #expect(cache.count == 1)
    }

    @Test func aFailedReadForgetsTheFingerprintOfTheEntryItRemoves() {
        var cache = activeCache()
        cached("ka", token: tokenA, in: &cache, entry())
        cache.store(nil, ticket: cache.beginRead("ka", fingerprint: TokenFingerprint(tokenA)))
        #expect(cache.keyFound(by: TokenFingerprint(tokenA)) == nil)
        #expect(cache.lookup("ka", now: 0) == .miss)
    }
}

extension SessionNearCache {
    /// The key of the entry stored with `fingerprint`, if any, as the proxy's hit path finds it.
    mutating func keyFound(by fingerprint: TokenFingerprint) -> String? {
        lookup(fingerprint: fingerprint, now: 0)?.key
    }
}
