/// The near-cache's bookkeeping as a pure value: which validated sessions may be served without asking Redis.
///
/// Keys are Redis session keys (what invalidation messages name). All times are local milliseconds passed in by the
/// caller, so tests never sleep. The shell (``CachingSessionStore``) holds it under a lock.
///
/// Correctness rules, each a race the issue names:
/// - Caching is ``isActive`` only while the invalidation subscription is up; ``deactivate()`` and ``activate()``
///   flush, so nothing read while invalidations could be lost is ever served.
/// - A read records a ``ReadTicket`` *before* it is sent. An invalidation of that key (or any flush) arriving before
///   the reply bumps the key's generation (or the epoch), and ``store(_:ticket:now:)`` then drops the reply for
///   caching purposes; the request itself still uses it.
/// - An entry is served only while `now` is before both its stored (sliding) expiry and its absolute expiry.
struct SessionNearCache {
    struct Entry {
        var identity: SessionIdentity
        /// Local time at which Redis will expire the key unless refreshed.
        var storedExpiry: Int64
        /// Local time of the absolute expiry.
        var absoluteExpiry: Int64
        /// A refresh of this entry is in flight; at most one per entry.
        var refreshing = false
        /// Index of the key in `keys`, for O(1) random eviction.
        fileprivate var slot = 0
        /// The token's fingerprint, when the read that stored the entry had one (see ``key(for:)``).
        fileprivate var fingerprint: TokenFingerprint?

        init(identity: SessionIdentity, storedExpiry: Int64, absoluteExpiry: Int64) {
            self.identity = identity
            self.storedExpiry = storedExpiry
            self.absoluteExpiry = absoluteExpiry
        }
    }

    /// Proof that a read started at a given generation; see ``beginRead(_:)``.
    struct ReadTicket: Equatable {
        let key: String
        let fingerprint: TokenFingerprint?
        let epoch: UInt64
        let generation: UInt64
    }

    /// What a lookup found.
    enum Lookup: Equatable {
        /// Not cached (or caching is off): ask Redis.
        case miss
        /// Serve this identity; `refresh` when the stored expiry trails by more than the refresh interval (the caller
        /// refreshes in the background, and must call ``refreshFinished(_:)``).
        case hit(SessionIdentity, refresh: Bool)
    }

    let capacity: Int
    let idleTimeoutMs: Int64
    let refreshIntervalMs: Int64
    private(set) var isActive = false
    private var entries: [String: Entry] = [:]
    private var keys: [String] = []
    /// The key of each cached entry stored with a token fingerprint: a hit finds its key without SHA-256.
    private var keyByFingerprint: [TokenFingerprint: String] = [:]
    /// Bumped by every flush; a ticket from an older epoch never stores.
    private var epoch: UInt64 = 0
    /// Per key with reads in flight: how many, and how often it was invalidated meanwhile.
    private var reads: [String: (count: Int, generation: UInt64)] = [:]

    init(capacity: Int, idleTimeoutMs: Int64, refreshIntervalMs: Int64) {
        self.capacity = max(capacity, 1)
        self.idleTimeoutMs = idleTimeoutMs
        self.refreshIntervalMs = refreshIntervalMs
    }

    var count: Int { entries.count }

    /// Whether `key` is cached and not expired, without the side effects of ``lookup(_:now:)``.
    func contains(_ key: String, now: Int64) -> Bool {
        guard let entry = entries[key] else { return false }
        return now < entry.storedExpiry && now < entry.absoluteExpiry
    }

    /// The Redis key of a cached token, found by its fingerprint; nil when the token has no entry (the caller then
    /// derives the key with SHA-256 and asks Redis).
    func key(for fingerprint: TokenFingerprint) -> String? {
        keyByFingerprint[fingerprint]
    }

    mutating func lookup(_ key: String, now: Int64) -> Lookup {
        guard isActive, var entry = entries[key] else { return .miss }
        guard now < entry.storedExpiry, now < entry.absoluteExpiry else {
            remove(key)
            return .miss
        }
        // The expiry a validation now would set; refresh once the stored one trails it by more than the interval.
        let wanted = min(now + idleTimeoutMs, entry.absoluteExpiry)
        let refresh = !entry.refreshing && wanted - entry.storedExpiry > refreshIntervalMs
        if refresh {
            entry.refreshing = true
            entries[key] = entry
        }
        return .hit(entry.identity, refresh: refresh)
    }

    /// A background refresh ended (whatever its outcome); allows the next one.
    mutating func refreshFinished(_ key: String) {
        entries[key]?.refreshing = false
    }

    /// Call before sending a read whose reply may be cached.
    /// - Parameter fingerprint: the token's fingerprint, so that a stored entry can be found by ``key(for:)``.
    mutating func beginRead(_ key: String, fingerprint: TokenFingerprint? = nil) -> ReadTicket {
        var state = reads[key] ?? (0, 0)
        state.count += 1
        reads[key] = state
        return ReadTicket(key: key, fingerprint: fingerprint, epoch: epoch, generation: state.generation)
    }

    /// Call with every read's outcome (`nil` entry: the session is gone or the read failed). Caches the entry only
    /// if caching is active and nothing invalidated the key since ``beginRead(_:)``.
    mutating func store(_ entry: Entry?, ticket: ReadTicket) {
        let generation = endRead(ticket.key)
        guard let entry else {
            remove(ticket.key)
            return
        }
        guard isActive, ticket.epoch == epoch, ticket.generation == generation else { return }
        insert(entry, for: ticket.key, fingerprint: ticket.fingerprint)
    }

    mutating func invalidate(_ key: String) {
        remove(key)
        reads[key]?.generation &+= 1
    }

    /// Evicts everything and makes every read in flight uncacheable.
    mutating func invalidateAll() {
        entries.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        keyByFingerprint.removeAll(keepingCapacity: true)
        epoch &+= 1
    }

    /// Evicts every entry of a user (used after revoking on this instance, before Redis's own message arrives).
    mutating func invalidate(userID: String) {
        for (key, entry) in entries where entry.identity.userID == userID {
            remove(key)
        }
        epoch &+= 1
    }

    mutating func activate() {
        invalidateAll()
        isActive = true
    }

    mutating func deactivate() {
        invalidateAll()
        isActive = false
    }

    private mutating func endRead(_ key: String) -> UInt64 {
        guard var state = reads[key] else { return 0 }
        state.count -= 1
        if state.count <= 0 {
            reads[key] = nil
        } else {
            reads[key] = state
        }
        return state.generation
    }

    private mutating func insert(_ entry: Entry, for key: String, fingerprint: TokenFingerprint?) {
        var entry = entry
        entry.fingerprint = fingerprint
        if let existing = entries[key] {
            entry.slot = existing.slot
            entry.refreshing = existing.refreshing
            entry.fingerprint = fingerprint ?? existing.fingerprint
        } else {
            if entries.count >= capacity, let victim = keys.randomElement() {
                // Random eviction: O(1), and no per-hit bookkeeping as LRU would need under the lock.
                remove(victim)
            }
            entry.slot = keys.count
            keys.append(key)
        }
        if let fingerprint = entry.fingerprint { keyByFingerprint[fingerprint] = key }
        entries[key] = entry
    }

    private mutating func remove(_ key: String) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        if let fingerprint = entry.fingerprint { keyByFingerprint[fingerprint] = nil }
        let last = keys.removeLast()
        if entry.slot < keys.count {
            keys[entry.slot] = last
            entries[last]?.slot = entry.slot
        }
    }
}
