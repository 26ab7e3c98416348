#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-level helpers for the heads the proxy reads and writes without building strings.
enum ByteScan {
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
}
