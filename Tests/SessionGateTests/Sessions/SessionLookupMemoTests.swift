import Testing

@testable import SessionGate

/// A connection's memo gives the fingerprint and the Redis key a fresh computation gives, for the token it is asked
/// about, whatever token it last remembered.
@Suite("SessionLookupMemo")
struct SessionLookupMemoTests {
    @Test func theMemoAnswersOnlyForTheTokenItWasMadeFrom() throws {
        let first = try #require(SessionToken("0123abcd" + String(repeating: "A", count: 43)))
        let second = try #require(SessionToken("0123abcd" + String(repeating: "A", count: 42) + "E"))
        let memo = SessionLookupMemo()

        #expect(memo.fingerprint(of: first) == TokenFingerprint(first))
        #expect(memo.fingerprint(of: first) == TokenFingerprint(first))
        // Another token (here differing in its last byte only) is not answered from the memo.
        #expect(memo.fingerprint(of: second) == TokenFingerprint(second))
        #expect(TokenFingerprint(second) != TokenFingerprint(first))
        #expect(memo.fingerprint(of: first) == TokenFingerprint(first))
    }

    @Test func theRedisKeyIsTheTokensOwnWhateverWasRememberedBefore() throws {
        let first = try #require(SessionToken("0123abcd" + String(repeating: "A", count: 43)))
        let second = try #require(SessionToken("0123abcd" + String(repeating: "A", count: 42) + "E"))
        let keys = RedisSessionKeys(prefix: "sg:")
        let memo = SessionLookupMemo()

        #expect(memo.redisKey(of: first, keys) == keys.session(first))
        #expect(memo.redisKey(of: first, keys) == keys.session(first))
        #expect(memo.redisKey(of: second, keys) == keys.session(second))
        #expect(keys.session(second) != keys.session(first))
        #expect(memo.redisKey(of: first, keys) == keys.session(first))
        // Asked for the fingerprint of another token in between: the key remembered for the first is gone with it.
        #expect(memo.fingerprint(of: second) == TokenFingerprint(second))
        #expect(memo.redisKey(of: first, keys) == keys.session(first))
        #expect(memo.fingerprint(of: first) == TokenFingerprint(first))
    }
}
