import Foundation
import NIOHTTP1

/// Which of the `[auth]` endpoints a request path names. Pure: the path after `prefix` decides.
enum AuthEndpoint: Equatable {
    case login
    case logout
    case logoutOthers
    case sessions
    case session(handle: String)
    case me
    case revokeUser(id: String)
    /// Under the prefix, but no endpoint: 404.
    case unknown

    /// ``match(uri:prefix:)`` for a target's bytes as received (see ``RequestHead/withTarget(_:)``). Every proxied
    /// request asks; almost none is for an endpoint, and those are told apart by comparing bytes, without making a
    /// string.
    static func match(target: UnsafeBufferPointer<UInt8>, prefix: String) -> AuthEndpoint? {
        guard isUnder(prefix: prefix, target: target) else { return nil }
        return match(uri: String(decoding: target, as: UTF8.self), prefix: prefix)
    }

    /// Whether the target's path is `prefix` or below it: the prefix, then the end, `/` or the query's `?`.
    static func isUnder(prefix: String, target: UnsafeBufferPointer<UInt8>) -> Bool {
        var prefix = prefix
        return prefix.withUTF8 { prefix in
            guard target.count >= prefix.count, memcmp(target.baseAddress!, prefix.baseAddress!, prefix.count) == 0
            else { return false }
            return target.count == prefix.count || target[prefix.count] == UInt8(ascii: "/")
                || target[prefix.count] == UInt8(ascii: "?")
        }
    }

    /// The endpoint for `uri` (query ignored), or nil when the path is not under `prefix` (then it is routed as usual).
    static func match(uri: String, prefix: String) -> AuthEndpoint? {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard path == prefix || path.hasPrefix(prefix + "/") else { return nil }
        let rest = path.dropFirst(prefix.count)
        switch rest {
        case "/login": return .login
        case "/logout": return .logout
        case "/logout-others": return .logoutOthers
        case "/sessions": return .sessions
        case "/me": return .me
        default: break
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        // rest starts with "/", so parts[0] is empty.
        if parts.count == 3, parts[1] == "sessions", !parts[2].isEmpty { return .session(handle: String(parts[2])) }
        if parts.count == 4, parts[1] == "users", parts[3] == "revoke", let id = parts[2].removingPercentEncoding, !id.isEmpty {
            return .revokeUser(id: id)
        }
        return .unknown
    }

    /// The method each endpoint answers; anything else is 405 with `Allow`.
    var method: HTTPMethod? {
        switch self {
        case .login, .logout, .logoutOthers, .revokeUser: return .POST
        case .sessions, .me: return .GET
        case .session: return .DELETE
        case .unknown: return nil
        }
    }
}
