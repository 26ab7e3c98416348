/// The Redis key schema (documented in README.md so other tools can read it).
///
/// - `<prefix>{<tag>}:s:<sha256(token)>`: a hash, one per session (fields in ``RedisSessionScripts``); its TTL is
///   the sliding expiry, never beyond the absolute expiry.
/// - `<prefix>{<tag>}:u:<user id>`: a sorted set of the user's session hashes scored by absolute expiry (ms).
///
/// `<tag>` is the first 8 hex characters of the token, derived from the user ID, so all of one user's keys share
/// a Redis Cluster slot and multi-key scripts stay atomic there.
struct RedisSessionKeys: Sendable {
    let prefix: String

    /// `<prefix>{<tag>}:s:<sha256 hex>`, written straight into one string's storage: this runs for every
    /// authenticated request (cache hits included), where appends and a separate hex string cost more than the hash.
    func session(_ token: SessionToken) -> String {
        var prefix = self.prefix
        return prefix.withUTF8 { prefix in
            token.withBytes { raw in
                Crypto.withSHA256(raw) { digest in
                    String(unsafeUninitializedCapacity: prefix.count + SessionToken.tagLength + 5 + 2 * digest.count) { out in
                        var at = 0
                        func put(_ bytes: UnsafeBufferPointer<UInt8>) {
                            for byte in bytes {
                                out[at] = byte
                                at += 1
                            }
                        }
                        put(prefix)
                        out[at] = UInt8(ascii: "{")
                        at += 1
                        put(UnsafeBufferPointer(rebasing: raw[..<SessionToken.tagLength]))
                        for byte in "}:s:".utf8 {
                            out[at] = byte
                            at += 1
                        }
                        at += Crypto.writeHex(digest, into: UnsafeMutableBufferPointer(rebasing: out[at...]))
                        return at
                    }
                }
            }
        }
    }

    /// The prefix of every session key of the user with `tag` (a session key is this plus the token's hash).
    func sessionPrefix(tag: String) -> String { "\(prefix){\(tag)}:s:" }

    func userIndex(userID: String) -> String { "\(prefix){\(SessionToken.tag(forUser: userID))}:u:\(userID)" }
}
