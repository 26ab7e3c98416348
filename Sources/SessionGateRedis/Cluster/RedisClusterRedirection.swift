/// A `MOVED` or `ASK` error reply: the slot is served elsewhere, permanently or only for this command.
public struct RedisClusterRedirection: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The slot has a new owner: update the slot map and send there from now on.
        case moved
        /// The slot is migrating and this key is already on the target: send `ASKING` then the command there,
        /// once, without changing the map.
        case ask
    }

    public let kind: Kind
    public let slot: Int
    public let address: RedisNodeAddress

    public init(kind: Kind, slot: Int, address: RedisNodeAddress) {
        self.kind = kind
        self.slot = slot
        self.address = address
    }

    /// Parses `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381`; nil for any other error text.
    public init?(errorMessage: String) {
        let parts = errorMessage.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisClusterSlot.count).contains(slot),
            let address = RedisNodeAddress(parts[2])
        else { return nil }
        switch parts[0] {
        case "MOVED": self.kind = .moved
        case "ASK": self.kind = .ask
        default: return nil
        }
        self.slot = slot
        self.address = address
    }
}

/// A Redis node's `host:port`.
public struct RedisNodeAddress: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (the port after the last colon, so IPv6 hosts work); nil if malformed.
    public init?<S: StringProtocol>(_ text: S) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port), colon > text.startIndex
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
