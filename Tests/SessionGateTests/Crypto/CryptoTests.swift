import Testing

@testable import SessionGate

@Suite("Crypto")
struct CryptoTests {
    @Test(arguments: [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256KnownVectors(input: String, expected: String) {
        #expect(Crypto.sha256Hex(input) == expected)
        #expect(Crypto.hex(Crypto.sha256(Array(input.utf8))) == expected)
        #expect(Crypto.sha256(Array(input.utf8)).count == 32)
    }

    @Test func sha256OfASlice() {
        let bytes = Array("xxabcxx".utf8)
        #expect(Crypto.hex(Crypto.sha256(bytes[2..<5])) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// RFC 4648 §10, in the base64url alphabet and without padding.
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func base64URLOfTheRFCVectors(input: String, expected: String) {
        #expect(Crypto.base64URL(Array(input.utf8)) == expected)
    }

    @Test func base64URLUsesDashAndUnderscore() {
        // Standard base64 of these bytes is "+/8=" and "++//".
        #expect(Crypto.base64URL([0xfb, 0xff]) == "-_8")
        #expect(Crypto.base64URL([0xfb, 0xef, 0xff]) == "--__")
        #expect(Crypto.base64URL([0x00, 0x00, 0x00]) == "AAAA")
        #expect(Crypto.base64URL(Array(repeating: 0xff, count: 32)).count == 43)
    }

    @Test func hexIsLowercaseAndZeroPadded() {
        #expect(Crypto.hex([0x00, 0x0f, 0xf0, 0xff, 0xa5]) == "000ff0ffa5")
        #expect(Crypto.hex([]) == "")
    }

    @Test func constantTimeEqual() {
        let a: [UInt8] = Array("session-token-hash".utf8)
        #expect(Crypto.constantTimeEqual(a, a))
        #expect(Crypto.constantTimeEqual(a, Array("session-token-hash".utf8)))
        #expect(!Crypto.constantTimeEqual(a, Array("session-token-hasH".utf8)))
        #expect(!Crypto.constantTimeEqual(a, Array("Session-token-hash".utf8)))
        #expect(!Crypto.constantTimeEqual(a, Array("session-token-has".utf8)))
        #expect(!Crypto.constantTimeEqual(a, []))
        #expect(Crypto.constantTimeEqual([], []))
    }

    @Test func randomBytes() {
        let first = Crypto.randomBytes(32)
        let second = Crypto.randomBytes(32)
        #expect(first.count == 32)
        #expect(first != second)
        #expect(Crypto.randomBytes(7).count == 7)
    }
}
