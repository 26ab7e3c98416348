/// A keyed 128-bit fingerprint of a session token, for finding a token's near-cache entry without hashing it with
/// SHA-256 on every request.
///
/// The Redis key of a session needs SHA-256 of its token (``RedisSessionKeys/session(_:)``, about 2.2k instructions
/// with the hex key string). A near-cache hit only has to recognise a token it has already validated: two SipHash
/// passes of the token (Swift's `Hasher`, randomly seeded per process) under two random 64-bit salts drawn at
/// start-up. The salts never leave the process, so nobody outside can compute a fingerprint, let alone make a forged
/// token collide with a cached one; and the cache holds fingerprints, never tokens.
struct TokenFingerprint: Hashable, Sendable {
    private let high: UInt64
    private let low: UInt64

    private static let salts = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))

    init(_ token: SessionToken) {
        (high, low) = token.withBytes { bytes in
            let raw = UnsafeRawBufferPointer(bytes)
            return (Self.hash(raw, salt: Self.salts.0), Self.hash(raw, salt: Self.salts.1))
        }
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer, salt: UInt64) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(salt)
        hasher.combine(bytes: bytes)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// A dictionary needs only one of the two halves: each is already a keyed hash of the whole token.
    func hash(into hasher: inout Hasher) { hasher.combine(low) }
}

/// What a client connection remembers of the last token it presented: a keep-alive client sends the same token on
/// every request (a browser's cookie, a service's header), so the work a lookup does on the token alone is done once
/// per connection instead of once per request.
/// - Its near-cache fingerprint: a hit then costs a 64-byte comparison instead of two SipHash passes (824
///   instructions fewer per near-cache hit, by `scripts/callgrind`).
/// - Its Redis key (SHA-256 of the token, in hex, ``RedisSessionKeys/session(_:)``), for a store that asks Redis on
///   every request (`local_cache` off): 2,232 instructions fewer per request (`scripts/callgrind`'s authenticated
///   route, 37,969 → 35,737).
///
/// Never stale: both depend only on the token (and, for the fingerprint, this process's salts; for the key, the
/// configured prefix, which a store never changes), and the memo answers only for a token equal to the one it was
/// made from. It decides nothing about the session itself: the near-cache or Redis is still asked on every request,
/// so a revoked session is refused as before. The token and its key stay in that connection's memory for the
/// connection's life (the request bytes that carried the token lasted only until the exchange ended); neither is
/// written anywhere.
///
/// A class, made on a connection's first session check and used only on that connection's event loop: the store
/// updates it in place, where a value holding a `String` was copied in and out on every request (151 instructions
/// more per near-cache hit, by `scripts/callgrind`).
public final class SessionLookupMemo {
    private var token: SessionToken?
    private var fingerprint: TokenFingerprint?
    private var redisKey: String?

    public init() {}

    /// Forgets what was remembered of another token.
    private func remember(_ token: SessionToken) {
        guard self.token != token else { return }
        self.token = token
        fingerprint = nil
        redisKey = nil
    }

    /// `token`'s fingerprint: remembered when it is the last token seen, else made and remembered.
    func fingerprint(of token: SessionToken) -> TokenFingerprint {
        remember(token)
        if let fingerprint { return fingerprint }
        let made = TokenFingerprint(token)
        fingerprint = made
        return made
    }

    /// `token`'s Redis session key under `keys`: remembered when it is the last token seen, else made and remembered.
    /// One store serves a connection for its life, so `keys` is the same on every call.
    func redisKey(of token: SessionToken, _ keys: RedisSessionKeys) -> String {
        remember(token)
        if let redisKey { return redisKey }
        let made = keys.session(token)
        redisKey = made
        return made
    }
}
