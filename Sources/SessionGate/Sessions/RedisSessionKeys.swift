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

    /// Built by appending into one reserved string: interpolation costs several appends and reallocations, and this
    /// runs for every authenticated request.
    func session(_ token: SessionToken) -> String {
        var key = ""
        key.reserveCapacity(prefix.utf8.count + SessionToken.tagLength + 68)
        key += prefix
        key += "{"
        key += token.tag
        key += "}:s:"
        key += token.hashHex
        return key
    }

    /// The prefix of every session key of the user with `tag` (a session key is this plus the token's hash).
    func sessionPrefix(tag: String) -> String { "\(prefix){\(tag)}:s:" }

    func userIndex(userID: String) -> String { "\(prefix){\(SessionToken.tag(forUser: userID))}:u:\(userID)" }
}
