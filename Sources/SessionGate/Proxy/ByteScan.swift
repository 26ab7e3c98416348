#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-level helpers for the heads the proxy reads and writes without building strings.
enum ByteScan {
    /// `range` of `bytes` without leading and trailing spaces and tabs (empty, at its end, when that is all it holds).
    static func trimmed(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Range<Int> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return start..<end
    }

    /// The index of the first `byte` in `bytes` at or after `start`, found with `memchr`.
    @inline(__always)
    static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + start, Int32(byte), bytes.count - start)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// True when `bytes` holds `prefix` at `offset` (case-sensitive).
    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard offset + count <= bytes.count, let base = bytes.baseAddress else { return false }
        return memcmp(base + offset, prefix.utf8Start, count) == 0
    }

    /// RFC 9110 `tchar`, as two 64-bit masks (bytes 0–63 and 64–127): `!#$%&'*+-.^_`|~`, digits and letters.
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        byte < 64 ? (0x03ff_6cfa_0000_0000 as UInt64) >> byte & 1 == 1
            : byte < 128 ? (0x57ff_ffff_c7ff_fffe as UInt64) >> (byte - 64) & 1 == 1 : false
    }

    /// `word`'s eight bytes with `A`-`Z` made lowercase and every other byte unchanged, without a branch: a byte's
    /// high bit after adding 0x80 - 0x41 (or 0x80 - 0x5B) to its low seven bits says whether it is at least `A`
    /// (or past `Z`); no sum carries into the next byte.
    @inline(__always)
    static func asciiLowercased(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low7 = word & (ones &* 0x7f)
        let atLeastA = low7 &+ ones &* (0x80 - 0x41)
        let pastZ = low7 &+ ones &* (0x80 - 0x5b)
        let upper = atLeastA & ~pastZ & ~word & (ones &* 0x80)
        return word | upper >> 2
    }

    /// True when the `count` bytes at `bytes` equal the `count` lowercase bytes at `lowercase`, ignoring ASCII case
    /// in `bytes`: eight bytes at a time, the last eight (overlapping) for a length that is not a multiple of eight.
    @inline(__always)
    static func equalsLowercase(_ bytes: UnsafeRawPointer, _ lowercase: UnsafeRawPointer, count: Int) -> Bool {
        if count < 8 {
            for i in 0..<count
            where bytes.load(fromByteOffset: i, as: UInt8.self).asciiLowercased != lowercase.load(fromByteOffset: i, as: UInt8.self) {
                return false
            }
            return true
        }
        var i = 0
        while true {
            if asciiLowercased(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                != lowercase.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            {
                return false
            }
            if i == count - 8 { return true }
            i = Swift.min(i + 8, count - 8)
        }
    }

    /// 1 for each byte value that is a `tchar`, else 0: header names are checked with one load per byte, the result
    /// accumulated, instead of a test and branch per byte.
    static let tokenTable: [UInt8] = (0...255).map { isTokenByte(UInt8($0)) ? 1 : 0 }

    /// The index of the first `:` in `range`, with whether every byte before it is a `tchar`; nil when there is no
    /// colon (the bytes are then not checked).
    @inline(__always)
    static func colonAfterToken(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> (colon: Int, allToken: Bool)? {
        tokenTable.withUnsafeBufferPointer { table in
            var index = range.lowerBound
            var allToken: UInt8 = 1
            while index < range.upperBound {
                let byte = bytes[index]
                if byte == UInt8(ascii: ":") { return (index, allToken == 1) }
                allToken &= table[Int(byte)]
                index += 1
            }
            return nil
        }
    }

    /// True when every byte in `range` may appear in a field value: visible ASCII, space, tab, obs-text; no other
    /// control character and no DEL (RFC 9110 §5.5). Eight bytes at a time: a word with no byte below 0x20 and no
    /// 0x7F needs no closer look.
    static func allFieldValueBytes(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        guard let base = bytes.baseAddress else { return range.isEmpty }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = range.lowerBound
        // Eight bytes at a time, the last eight overlapping the previous word when the length is not a multiple of
        // eight; a word that may hold a bad byte is left to the byte loop.
        while i + 8 <= range.upperBound {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // Standard "has a byte less than n" tests (n = 0x20; DEL as a zero byte after XOR with 0x7F).
            let below = (word &- ones &* 0x20) & ~word & highs
            let del = word ^ (ones &* 0x7f)
            let hasDEL = (del &- ones) & ~del & highs
            if below | hasDEL != 0 { break }
            if i + 8 == range.upperBound { return true }
            i = Swift.min(i + 8, range.upperBound - 8)
        }
        while i < range.upperBound {
            let byte = bytes[i]
            if byte < 0x20 ? byte != 0x09 : byte == 0x7f { return false }
            i += 1
        }
        return true
    }
}
