import CCrypto

/// A Lua script identified by the SHA1 Redis uses to cache it.
///
/// The digest is computed once, here, so ``RedisCommandRouting/eval(_:keys:arguments:on:)`` can send the short
/// `EVALSHA` on every call and only ship the source when the server answers `NOSCRIPT` (after a restart or
/// `SCRIPT FLUSH`). Create scripts once (for example as `static let`s) rather than per request.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source sent with `EVAL`.
    public let source: String
    /// The lowercase hex SHA1 of ``source``, as `SCRIPT LOAD` would return it.
    public let sha1: String
    /// Whether running the script twice with the same keys and arguments leaves the same state as running it once:
    /// such a script is retried once on a new master when its connection failed with the script in flight.
    public let isIdempotent: Bool

    /// Creates a script and computes its SHA1 with libcrypto.
    /// - Parameters:
    ///   - source: The Lua source, exactly as Redis should hash it.
    ///   - idempotent: See ``isIdempotent``. Default: false (never run twice after an ambiguous failure).
    public init(_ source: String, idempotent: Bool = false) {
        self.source = source
        self.sha1 = Self.hexSHA1(of: source)
        self.isIdempotent = idempotent
    }

    /// `["EVALSHA", sha1, numkeys, keys..., arguments...]`, built in one allocation.
    func evalshaWords(keys: [String], arguments: [String]) -> [String] {
        var words: [String] = []
        words.reserveCapacity(3 + keys.count + arguments.count)
        words.append("EVALSHA")
        words.append(sha1)
        words.append(String(keys.count))
        words.append(contentsOf: keys)
        words.append(contentsOf: arguments)
        return words
    }

    /// The `EVAL` form of ``evalshaWords(keys:arguments:)``'s words: the source instead of the digest.
    func evalWords(from evalshaWords: [String]) -> [String] {
        var words = evalshaWords
        words[0] = "EVAL"
        words[1] = source
        return words
    }

    /// Whether an error is the server's `NOSCRIPT` (it does not have the script cached: send its source).
    static func isNoScript(_ error: any Error) -> Bool {
        (error as? RedisError)?.serverMessage?.hasPrefix("NOSCRIPT") == true
    }

    private static func hexSHA1(of source: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        let bytes = Array(source.utf8)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                _ = SHA1(input.baseAddress, input.count, output.baseAddress)
            }
        }
        let hexDigits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(digest.count * 2)
        for byte in digest {
            hex.append(hexDigits[Int(byte >> 4)])
            hex.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
