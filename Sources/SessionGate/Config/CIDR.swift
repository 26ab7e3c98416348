#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network such as `10.0.0.0/8` or `::1/128`, for `trusted_proxies`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public let address: [UInt8]
    public let prefixLength: Int

    /// Parses `address/prefix` or a bare address (a single host).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = CIDR.parseAddress(String(parts[0])) else { return nil }
        let maxPrefix = bytes.count * 8
        var prefix = maxPrefix
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { return nil }
            prefix = p
        }
        self.address = bytes
        self.prefixLength = prefix
    }

    /// True when `bytes` (4 or 16 bytes, as from ``CIDR/parseAddress(_:)``) lies inside this network.
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) matches IPv4 networks.
    public func contains(_ bytes: [UInt8]) -> Bool {
        var candidate = bytes
        if address.count == 4, candidate.count == 16, candidate[0..<10].allSatisfy({ $0 == 0 }),
            candidate[10] == 0xff, candidate[11] == 0xff
        {
            candidate = Array(candidate[12..<16])
        }
        guard candidate.count == address.count else { return false }
        var remaining = prefixLength
        for i in 0..<address.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xff : ~(0xff >> UInt8(bits))
            if candidate[i] & mask != address[i] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// Parses a textual IPv4 or IPv6 address into its bytes, or nil.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { parseAddress(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// ``parseAddress(_:)`` for text in place (a hop of `X-Forwarded-For`), without making a string of it.
    static func parseAddress(bytes text: UnsafeRawBufferPointer) -> [UInt8]? {
        // The longest IPv6 text (with an IPv4 tail) is 45 bytes.
        guard !text.isEmpty, text.count <= 45 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { cString in
            for index in 0..<text.count { cString[index] = CChar(bitPattern: text[index]) }
            cString[text.count] = 0
            var v4 = in_addr()
            if inet_pton(AF_INET, cString.baseAddress!, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, cString.baseAddress!, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
            return nil
        }
    }

    public var description: String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") + "/\(prefixLength)" }
        var words: [String] = []
        for i in stride(from: 0, to: 16, by: 2) { words.append(String(UInt16(address[i]) << 8 | UInt16(address[i + 1]), radix: 16)) }
        return words.joined(separator: ":") + "/\(prefixLength)"
    }
}
