import CCrypto

/// The few primitives SessionGate needs, from OpenSSL's libcrypto: random bytes, SHA-256, constant-time compare.
public enum Crypto {
    /// `count` bytes from OpenSSL's CSPRNG.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)) }
        // A CSPRNG that cannot produce bytes must stop the process rather than hand out guessable tokens.
        precondition(ok == 1, "RAND_bytes failed: the system's random source is unavailable")
        return bytes
    }

    /// SHA-256 of `bytes`.
    public static func sha256<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        [UInt8](unsafeUninitializedCapacity: Int(SHA256_DIGEST_LENGTH)) { out, count in
            sha256(bytes, into: out.baseAddress!)
            count = Int(SHA256_DIGEST_LENGTH)
        }
    }

    /// SHA-256 of a string's UTF-8 bytes, as lowercase hex.
    public static func sha256Hex(_ text: String) -> String { sha256Hex(text.utf8) }

    /// SHA-256 of bytes, as lowercase hex.
    public static func sha256Hex<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(SHA256_DIGEST_LENGTH)) { digest in
            sha256(bytes, into: digest.baseAddress!)
            return hex(UnsafeBufferPointer(digest))
        }
    }

    /// Hashes straight from contiguous storage when the collection has it (a native string's UTF-8 does), else
    /// from a copy.
    private static func sha256<Bytes: Collection>(_ bytes: Bytes, into out: UnsafeMutablePointer<UInt8>)
    where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { input in
            digest(input, into: out)
        }
        if done == nil {
            Array(bytes).withUnsafeBufferPointer { digest($0, into: out) }
        }
    }

    private static func digest(_ input: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
        sessiongate_sha256(input.baseAddress, input.count, out)
    }

    /// True when both byte strings are equal, in time that depends only on their length.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 } }
    }

    /// Lowercase hexadecimal.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.withContiguousStorageIfAvailable(hexContiguous) ?? hexSlow(bytes)
    }

    /// Writes the digits straight into the string's storage.
    private static func hexContiguous(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard !bytes.isEmpty else { return "" }
        return String(unsafeUninitializedCapacity: bytes.count * 2) { writeHex(bytes, into: $0) }
    }

    /// Writes `bytes` as lowercase hex at the start of `out` (which must hold twice as many bytes).
    /// - Returns: the number of bytes written.
    static func writeHex(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = digits[Int(byte >> 4)]
                out[2 * index + 1] = digits[Int(byte & 0x0f)]
            }
        }
        return bytes.count * 2
    }

    /// Calls `body` with the SHA-256 of `bytes`, held on the stack.
    static func withSHA256<Result>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(SHA256_DIGEST_LENGTH)) { digest in
            self.digest(bytes, into: digest.baseAddress!)
            return body(UnsafeBufferPointer(digest))
        }
    }

    private static func hexSlow<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Unpadded base64url (RFC 4648 §5), the alphabet of session tokens.
    public static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let n = UInt32(bytes[index]) << 16
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)]]
        } else if rest == 2 {
            let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [alphabet[Int(n >> 18 & 63)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
