import Testing

@testable import SessionGate

@Suite("SessionToken")
struct SessionTokenTests {
    /// A well-formed token: 8 lowercase hex, then 43 base64url characters.
    static let fixed = "0123abcd" + String(repeating: "A", count: 43)

    @Test func generatedTokenHasTheDocumentedShape() throws {
        let tag = SessionToken.tag(forUser: "42")
        let token = SessionToken.generate(tag: tag)

        #expect(token.rawValue.count == 51)
        #expect(token.rawValue.utf8.count == 51)
        #expect(token.rawValue.hasPrefix(tag))
        #expect(token.tag == Substring(tag))
        // What was generated is accepted back when a client presents it.
        let parsed = try #require(SessionToken(token.rawValue))
        #expect(parsed == token)
    }

    /// Equality and hashing are written by hand over the token's inline words: tokens differing in any one byte,
    /// the first and the last included, are different keys; equal tokens are one key.
    @Test func tokensDifferingInAnyByteAreDifferentKeys() throws {
        let base = try #require(SessionToken(Self.fixed))
        var keys: Set<SessionToken> = [base, try #require(SessionToken(Self.fixed))]
        #expect(keys.count == 1)
        for position in 0..<SessionToken.length {
            var bytes = Array(Self.fixed.utf8)
            bytes[position] = position < SessionToken.tagLength ? UInt8(ascii: "f") : UInt8(ascii: "B")
            let other = try #require(SessionToken(String(decoding: bytes, as: UTF8.self)))
            #expect(other != base, "byte \(position)")
            keys.insert(other)
        }
        #expect(keys.count == 1 + SessionToken.length)
        #expect(keys.contains(try #require(SessionToken(Self.fixed))))
    }

    @Test func tagIsTheFirstEightHexDigitsOfTheUsersHash() {
        // printf 'sessiongate-user:42' | sha256sum
        #expect(SessionToken.tag(forUser: "42") == "5c1da3ca")
        #expect(SessionToken.tag(forUser: "alice@example.com") == "0e48c68e")
        #expect(SessionToken.tag(forUser: "42") == SessionToken.tag(forUser: "42"))
        #expect(SessionToken.tag(forUser: "43") != SessionToken.tag(forUser: "42"))
    }

    @Test func randomPartCarriesAtLeast256Bits() {
        let tag = SessionToken.tag(forUser: "42")
        let tokens = (0..<100).map { _ in SessionToken.generate(tag: tag) }
        let randomParts = tokens.map { String($0.rawValue.dropFirst(SessionToken.tagLength)) }

        // 43 base64url characters: 258 bits of room for 32 random bytes.
        #expect(randomParts.allSatisfy { $0.count == 43 })
        #expect(Set(randomParts).count == tokens.count)
        #expect(tokens[0] != tokens[1])
        // Every one of the 64 symbols turns up in 100 × 42 full-entropy characters (hex would give only 16).
        let symbols = Set(randomParts.flatMap { $0.dropLast() })
        #expect(symbols.count == 64)
        // The last character carries 2 bits of the 32nd byte and 4 zero bits: exactly 32 bytes were encoded.
        let lastSymbols = Set("AEIMQUYcgkosw048")
        #expect(randomParts.allSatisfy { lastSymbols.contains($0.last!) })
    }

    /// The token is held as inline bytes: whichever way it was read, it is the same token, its text and hash are the
    /// client's, and one differing byte (the last) makes another token.
    @Test func tokenFromBytesEqualsTokenFromText() throws {
        let fromText = try #require(SessionToken(Self.fixed))
        let fromBytes = try #require(Array(Self.fixed.utf8).withUnsafeBytes { SessionToken(bytes: $0) })
        #expect(fromBytes == fromText)
        #expect(fromBytes.hashValue == fromText.hashValue)
        #expect(fromBytes.rawValue == Self.fixed)
        #expect(fromBytes.hashHex == Crypto.sha256Hex(Self.fixed))
        let other = try #require(SessionToken(String(Self.fixed.dropLast()) + "B"))
        #expect(other != fromText)
        #expect(Set([fromText, fromBytes, other]).count == 2)
    }

    @Test func acceptsAWellFormedToken() throws {
        let token = try #require(SessionToken(Self.fixed))
        #expect(token.rawValue == Self.fixed)
        #expect(token.tag == "0123abcd")
        let withEveryAlphabetClass = "abcdef09" + "AZaz09-_" + String(repeating: "x", count: 35)
        #expect(SessionToken(withEveryAlphabetClass) != nil)
        #expect(SessionToken(Substring("xx" + Self.fixed + "yy").dropFirst(2).dropLast(2)) != nil)
    }

    @Test(arguments: [
        "", String(fixed.dropLast()), fixed + "A", String(repeating: "a", count: 8),
        "0123ABCD" + String(repeating: "A", count: 43),  // uppercase hex in the tag
        "0123abcg" + String(repeating: "A", count: 43),  // not hex
        "0123abc-" + String(repeating: "A", count: 43),  // base64url, but not in the tag
        "0123abcd" + String(repeating: "A", count: 42) + "+",  // standard base64, not base64url
        "0123abcd" + String(repeating: "A", count: 42) + "/",
        "0123abcd" + String(repeating: "A", count: 42) + "=",  // padding
        "0123abcd" + String(repeating: "A", count: 42) + " ",
        "0123abcd" + String(repeating: "A", count: 41) + "é",  // 51 bytes, not all ASCII
        "0123abcd" + String(repeating: "A", count: 42) + "\n",
    ])
    func rejectsMalformedTokens(text: String) {
        #expect(SessionToken(text) == nil)
    }

    /// Every byte value, in the tag and in the random part, as checked in a request's bytes: accepted exactly when
    /// it is in that part's alphabet.
    @Test func everyByteIsJudgedByItsPartsAlphabet() {
        let hex = Set("0123456789abcdef".utf8)
        let base64URL = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let base = Array(Self.fixed.utf8)
        for value in 0...255 {
            let byte = UInt8(value)
            for (position, alphabet) in [(0, hex), (7, hex), (8, base64URL), (30, base64URL), (50, base64URL)] {
                var bytes = base
                bytes[position] = byte
                let accepted = bytes.withUnsafeBytes { SessionToken(bytes: $0) != nil }
                #expect(accepted == alphabet.contains(byte), "byte \(value) at \(position)")
            }
        }
    }

    @Test func hashIsSHA256HexOfTheWholeToken() throws {
        let token = try #require(SessionToken(Self.fixed))
        // printf '0123abcdAAA…A' | sha256sum
        #expect(token.hashHex == "2d8c6993c63f77519b7627488ee36ca95dd62c9e1286e33a3ddfe57b347aac84")
        #expect(token.hashHex.count == 64)
        #expect(token.hashHex.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(token.hashHex != token.rawValue)
        #expect(!token.hashHex.contains(token.rawValue))

        let other = SessionToken.generate(tag: "0123abcd")
        #expect(other.hashHex != token.hashHex)
        #expect(other.hashHex.count == 64)
    }
}

@Suite("Redis key schema")
struct RedisSessionKeysTests {
    @Test func aSessionKeyIsPrefixTagAndTheTokensHash() throws {
        let token = try #require(SessionToken("0a1b2c3d" + String(repeating: "A", count: 43)))
        let key = RedisSessionKeys(prefix: "sg:").session(token)
        #expect(key == "sg:{0a1b2c3d}:s:" + Crypto.sha256Hex(token.rawValue))
        #expect(key.utf8.count == 3 + 10 + 3 + 64)
        // Any prefix, including non-ASCII and empty ones, is copied as written.
        #expect(RedisSessionKeys(prefix: "é:").session(token).hasPrefix("é:{0a1b2c3d}:s:"))
        #expect(RedisSessionKeys(prefix: "").session(token) == "{0a1b2c3d}:s:" + token.hashHex)
    }
}
