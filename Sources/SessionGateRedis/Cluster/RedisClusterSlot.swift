/// Which of Redis Cluster's 16384 hash slots a key lives in: `CRC16(key) mod 16384`, with hash tags.
///
/// The CRC is CRC16-XMODEM (polynomial 0x1021, initial value 0), as in Redis's `crc16.c`. A hash tag is the part
/// between the first `{` and the next `}` when it is not empty: `sg:{ab12cd34}:s:x` and `sg:{ab12cd34}:u:bob` hash
/// only `ab12cd34`, so all of one user's keys share a slot and a multi-key script stays on one node.
public enum RedisClusterSlot {
    /// The number of hash slots in a Redis Cluster.
    public static let count = 16384

    /// The slot of `key`, exactly as `CLUSTER KEYSLOT key` answers.
    public static func of(_ key: String) -> Int {
        of(bytes: Array(key.utf8))
    }

    /// The slot of a key given as bytes.
    public static func of(bytes key: [UInt8]) -> Int {
        Int(crc16(hashedPart(of: key)[...]) & 0x3FFF)
    }

    /// The bytes that are hashed: the hash tag if the key has a non-empty one, else the whole key.
    static func hashedPart(of key: [UInt8]) -> ArraySlice<UInt8> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
            close > open + 1
        else { return key[...] }
        return key[(open + 1)..<close]
    }

    /// CRC16-XMODEM of `bytes`.
    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}
