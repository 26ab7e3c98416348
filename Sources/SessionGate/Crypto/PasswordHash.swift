import CCrypt

/// bcrypt password hashes (`$2y$`, `$2b$`, `$2a$`, as written by `htpasswd -B`), through the system's libxcrypt.
///
/// Each call uses its own `struct crypt_data` (`crypt_rn`), so calls are thread-safe. bcrypt is slow on purpose
/// (tens of milliseconds at cost 10): callers run it off the event loops (``HtpasswdVerifier`` uses a thread pool).
public enum PasswordHash {
    /// Why a hash could not be made.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Whether `hash` is a bcrypt hash this module can verify.
    public static func isBcrypt(_ hash: String) -> Bool {
        let prefixes = ["$2y$", "$2b$", "$2a$"]
        guard prefixes.contains(where: hash.hasPrefix), hash.utf8.count == 60 else { return false }
        return cost(of: hash) != nil
    }

    /// The cost factor of a bcrypt hash (`$2y$10$...` → 10).
    public static func cost(of hash: String) -> Int? {
        let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, let cost = Int(parts[2]), (4...31).contains(cost) else { return nil }
        return cost
    }

    /// Checks `password` against `hash` in time that does not depend on where they differ.
    /// - Returns: false for a wrong password and for a hash libxcrypt cannot use.
    public static func verify(password: String, hash: String) -> Bool {
        guard let computed = crypt(password, setting: hash) else { return false }
        return Crypto.constantTimeEqual(Array(computed.utf8), Array(hash.utf8))
    }

    /// A new `$2b$` hash of `password` with a random salt from the operating system.
    /// - Throws: ``Failure`` when the cost is out of range (4...31) or libxcrypt refuses.
    public static func hash(password: String, cost: Int = 10) throws -> String {
        guard (4...31).contains(cost) else { throw Failure(description: "bcrypt cost \(cost) is out of range (4...31)") }
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let made = setting.withUnsafeMutableBufferPointer { out in
            crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, out.baseAddress, Int32(out.count))
        }
        guard made != nil else { throw Failure(description: "crypt_gensalt_rn failed (no random bytes?)") }
        let settingText = String(decoding: setting.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let hashed = crypt(password, setting: settingText) else { throw Failure(description: "crypt_rn failed") }
        return hashed
    }

    /// `crypt_rn` with a private work area; nil when libxcrypt rejects the setting (it then returns NULL, or a
    /// string starting with `*`).
    private static func crypt(_ phrase: String, setting: String) -> String? {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            // The work area held the password: wipe it before giving the memory back.
            UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        UnsafeMutableRawPointer(data).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
        guard let result = crypt_rn(phrase, setting, data, Int32(MemoryLayout<crypt_data>.size)) else { return nil }
        let text = String(cString: result)
        return text.hasPrefix("*") ? nil : text
    }
}
