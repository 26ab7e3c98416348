/// The hash behind `ip_hash` and `consistent_hash`: FNV-1a (64-bit) over the UTF-8 bytes, finished with MurmurHash3's
/// 64-bit mixer so that similar inputs ("host:port#1", "host:port#2") land far apart.
///
/// It is part of the routing contract, not an implementation detail: every SessionGate instance, version and restart
/// must compute the same value, so that several instances in front of the same servers send a key to the same server.
/// Swift's `Hasher` is seeded per process and cannot be used. Changing this function moves every key.
enum StableHash {
    private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// The hash of `text`'s UTF-8 bytes.
    static func hash(_ text: some StringProtocol) -> UInt64 { mix(feed(text.utf8, into: offsetBasis)) }

    /// The hash of bytes: the same value as ``hash(_:)`` of the text they spell.
    static func hash(bytes: UnsafeBufferPointer<UInt8>) -> UInt64 { mix(feed(bytes, into: offsetBasis)) }

    private static func feed(_ bytes: some Sequence<UInt8>, into state: UInt64) -> UInt64 {
        var state = state
        for byte in bytes {
            state ^= UInt64(byte)
            state &*= prime
        }
        return state
    }

    /// MurmurHash3's `fmix64`: a bijection that spreads every input bit over the whole word.
    static func mix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}
