import NIOCore

/// `hash_key`: what `consistent_hash` hashes to choose a server.
public enum HashKey: Sendable, Hashable, CustomStringConvertible {
    /// The session token (hashed; the token is never forwarded).
    case session
    /// The validated user ID, so all of a user's sessions reach one server.
    case user
    /// The value of the named cookie.
    case cookie(String)
    /// The first value of the named request header.
    case header(String)
    /// The client address, resolved through `trusted_proxies`.
    case ip

    /// Parses `"session"`, `"user"`, `"ip"`, `"cookie:NAME"` or `"header:NAME"`; nil when it is none of them.
    public init?(_ text: String) {
        switch text {
        case "session": self = .session
        case "user": self = .user
        case "ip": self = .ip
        default:
            if text.hasPrefix("cookie:"), case let name = String(text.dropFirst(7)), HTTPHeaderRules.isToken(name) {
                self = .cookie(name)
            } else if text.hasPrefix("header:"), case let name = String(text.dropFirst(7)), HTTPHeaderRules.isToken(name) {
                self = .header(name)
            } else {
                return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .session: return "session"
        case .user: return "user"
        case .ip: return "ip"
        case .cookie(let name): return "cookie:\(name)"
        case .header(let name): return "header:\(name)"
        }
    }
}

/// `health_check = {path, interval, timeout, healthy, unhealthy}`: active probes of every server of an upstream.
public struct HealthCheckConfiguration: Sendable, Equatable {
    /// `path`: requested with `GET`; a 2xx or 3xx answer passes. Required.
    public var path: String
    /// `interval`: between the end of one probe and the start of the next. Default 5 s.
    public var interval: TimeAmount = .seconds(5)
    /// `timeout`: connect and answer within this, else the probe fails. Default 1 s.
    public var timeout: TimeAmount = .seconds(1)
    /// `healthy`: consecutive passed probes that bring an unhealthy server back. Default 2.
    public var healthy: Int = 2
    /// `unhealthy`: consecutive failed probes that take a server out. Default 2.
    public var unhealthy: Int = 2

    public init(path: String) { self.path = path }
}
