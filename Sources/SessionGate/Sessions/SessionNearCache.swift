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
        /// The token's fingerprint, when the read that stored the entry had one (see ``lookup(fingerprint:now:)``).
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
    /// The cached entries with their keys, in no order: an array, so eviction picks a random one in O(1).
    private var slots: [(key: String, entry: Entry)] = []
    /// Where each key's entry is in `slots`.
    private var slotByKey: [String: Int] = [:]
    /// Where the entry of each token fingerprint is (entries stored with one): a hit is found without SHA-256, and
    /// without hashing the longer key string.
    private var slotByFingerprint: [TokenFingerprint: Int] = [:]
    /// Bumped by every flush; a ticket from an older epoch never stores.
    private var epoch: UInt64 = 0
    /// Per key with reads in flight: how many, and how often it was invalidated meanwhile.
    private var reads: [String: (count: Int, generation: UInt64)] = [:]

    init(capacity: Int, idleTimeoutMs: Int64, refreshIntervalMs: Int64) {
        self.capacity = max(capacity, 1)
        self.idleTimeoutMs = idleTimeoutMs
        self.refreshIntervalMs = refreshIntervalMs
    }

    var count: Int { slots.count }

    /// Whether `key` is cached and not expired, without the side effects of ``lookup(_:now:)``.
    func contains(_ key: String, now: Int64) -> Bool {
        guard let slot = slotByKey[key] else { return false }
        let entry = slots[slot].entry
        return now < entry.storedExpiry && now < entry.absoluteExpiry
    }

    mutating func lookup(_ key: String, now: Int64) -> Lookup {
        guard isActive, let slot = slotByKey[key] else { return .miss }
        return lookup(slot: slot, now: now)
    }

    /// ``lookup(_:now:)`` for the entry stored with `fingerprint`, with its key (needed for a refresh); nil when
    /// no entry has that fingerprint.
    mutating func lookup(fingerprint: TokenFingerprint, now: Int64) -> (key: String, lookup: Lookup)? {
        guard let slot = slotByFingerprint[fingerprint] else { return nil }
        let key = slots[slot].key
        return (key, isActive ? lookup(slot: slot, now: now) : .miss)
    }

    private mutating func lookup(slot: Int, now: Int64) -> Lookup {
        let entry = slots[slot].entry
        guard now < entry.storedExpiry, now < entry.absoluteExpiry else {
            remove(slots[slot].key)
            return .miss
        }
        // The expiry a validation now would set; refresh once the stored one trails it by more than the interval.
        let wanted = min(now + idleTimeoutMs, entry.absoluteExpiry)
        let refresh = !entry.refreshing && wanted - entry.storedExpiry > refreshIntervalMs
        if refresh { slots[slot].entry.refreshing = true }
        return .hit(entry.identity, refresh: refresh)
    }

    /// A background refresh ended (whatever its outcome); allows the next one.
    mutating func refreshFinished(_ key: String) {
        guard let slot = slotByKey[key] else { return }
        slots[slot].entry.refreshing = false
    }

    /// Call before sending a read whose reply may be cached.
    /// - Parameter fingerprint: the token's fingerprint, so that a stored entry can be found by ``lookup(fingerprint:now:)``.
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
        slots.removeAll(keepingCapacity: true)
        slotByKey.removeAll(keepingCapacity: true)
        slotByFingerprint.removeAll(keepingCapacity: true)
        epoch &+= 1
    }

    /// Evicts every entry of a user (used after revoking on this instance, before Redis's own message arrives).
    mutating func invalidate(userID: String) {
        for key in slots.lazy.filter({ $0.entry.identity.userID == userID }).map(\.key) {
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
        if let slot = slotByKey[key] {
            let existing = slots[slot].entry
            entry.refreshing = existing.refreshing
            entry.fingerprint = fingerprint ?? existing.fingerprint
            if let old = existing.fingerprint, old != entry.fingerprint { slotByFingerprint[old] = nil }
            slots[slot].entry = entry
            if let fingerprint = entry.fingerprint { slotByFingerprint[fingerprint] = slot }
            return
        }
        if slots.count >= capacity, let victim = slots.randomElement()?.key {
            // Random eviction: O(1), and no per-hit bookkeeping as LRU would need under the lock.
            remove(victim)
        }
        let slot = slots.count
        slots.append((key, entry))
        slotByKey[key] = slot
        if let fingerprint = entry.fingerprint { slotByFingerprint[fingerprint] = slot }
    }

    /// Removes `key`'s entry; the last slot moves into its place.
    private mutating func remove(_ key: String) {
        guard let slot = slotByKey.removeValue(forKey: key) else { return }
        if let fingerprint = slots[slot].entry.fingerprint { slotByFingerprint[fingerprint] = nil }
        let last = slots.removeLast()
        guard slot < slots.count else { return }
        slots[slot] = last
        slotByKey[last.key] = slot
        if let fingerprint = last.entry.fingerprint { slotByFingerprint[fingerprint] = slot }
    }
}
