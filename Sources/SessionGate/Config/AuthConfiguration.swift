import NIOCore

/// What to do when a user logs in with `max_sessions_per_user` sessions already open.
public enum SessionLimitAction: String, Sendable, CaseIterable {
    /// End the user's oldest session(s) to make room.
    case evictOldest = "evict_oldest"
    /// Refuse the login (409) until a session ends.
    case reject
}

/// A user of the htpasswd backend: `[auth.users.NAME]`.
public struct AuthUser: Sendable, Equatable {
    /// `user_id`: forwarded as the user ID. Default: the user name.
    public var userID: String
    /// `roles`. Default none.
    public var roles: [String]

    public init(userID: String, roles: [String]) {
        self.userID = userID
        self.roles = roles
    }
}

/// Where credentials are checked.
public enum CredentialBackend: Sendable {
    /// `users_file`: bcrypt htpasswd entries (parsed at start-up), with IDs and roles from `[auth.users.NAME]`.
    case htpasswd(Htpasswd, users: [String: AuthUser])
    /// `authenticator`: an HTTP service that answers `POST {"username","password"}` with 200 and
    /// `{"user_id","username","roles"}` or 401.
    case authenticator(AuthenticatorEndpoint)
}

/// `authenticator = "http://host:port/path"`: plain HTTP, usually on a private network or loopback.
public struct AuthenticatorEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var path: String

    /// Parses `http://host[:port][/path]`; nil for anything else (https is not supported by this client).
    public static func parse(_ url: String) -> AuthenticatorEndpoint? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        switch HostPort.parse(authority.contains(":") && !authority.hasSuffix("]") ? String(authority) : "\(authority):80") {
        case .success(let address): return AuthenticatorEndpoint(host: address.host, port: address.port, path: path)
        case .failure: return nil
        }
    }
}

/// `[auth]`: the login, logout and session-management endpoints the proxy answers itself. Without this table the
/// endpoints do not exist (their paths are routed, or 404, like any other).
public struct AuthConfiguration: Sendable {
    /// `prefix`: the endpoints are `<prefix>/login`, `/logout`, `/logout-others`, `/sessions`, `/sessions/<handle>`,
    /// `/me` and `/users/<id>/revoke`. Default `/auth`.
    public var prefix: String = "/auth"
    /// `users_file` or `authenticator`: exactly one is required.
    public var backend: CredentialBackend
    /// `authenticator_timeout`: connect plus answer time for the authenticator. Default 5 s; 503 after it.
    public var authenticatorTimeout: TimeAmount = .seconds(5)
    /// `admin_role`: the role `POST <prefix>/users/<id>/revoke` requires. Default `admin`.
    public var adminRole: String = "admin"
    /// `max_sessions_per_user`: 0 (default) for no limit.
    public var maxSessionsPerUser: Int = 0
    /// `on_limit`: `"evict_oldest"` (default) or `"reject"`.
    public var onLimit: SessionLimitAction = .evictOldest
    /// `max_failed_logins_per_user`: failed logins per user name within `failed_login_window` before 429. Default 5.
    public var maxFailedLoginsPerUser: Int = 5
    /// `max_failed_logins_per_ip`: failed logins per client address within the window before 429. Default 20.
    public var maxFailedLoginsPerIP: Int = 20
    /// `failed_login_window`: how long failures are counted (from the first). Default 15 minutes.
    public var failedLoginWindow: TimeAmount = .minutes(15)
    /// `allowed_origins`: the site's public origins (`"https://app.example.com"`); cookie-authenticated unsafe
    /// requests must come from one. Default none: the origin must match the request's own `Host`.
    public var allowedOrigins: [String] = []

    public init(backend: CredentialBackend) {
        self.backend = backend
    }
}
