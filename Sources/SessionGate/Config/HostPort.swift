/// A `host:port` pair from the configuration (`[::1]:8080` for IPv6).
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`; returns a reason on failure.
    public static func parse(_ text: String) -> Result<HostPort, HostPortError> {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.init("missing ']' after the IPv6 address")) }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(.init("missing port (expected [address]:port)")) }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.init("missing port (expected host:port)")) }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return .failure(.init("an IPv6 address must be written in brackets: [address]:port")) }
        }
        guard !hostPart.isEmpty else { return .failure(.init("missing host (expected host:port)")) }
        guard hostPart.allSatisfy({ $0.isLetter || $0.isNumber || ".-_:".contains($0) }) else {
            return .failure(.init("\"\(hostPart)\" is not a host name or address"))
        }
        guard let port = Int(portPart), (1...65535).contains(port) else {
            return .failure(.init("port \"\(portPart)\" is not a number from 1 to 65535"))
        }
        return .success(HostPort(host: String(hostPart), port: port))
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why a `host:port` string was rejected.
public struct HostPortError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
