import NIOCore

/// The whole configuration, parsed and validated once at start-up (see ``ConfigLoader``).
///
/// Nothing else in SessionGate reads TOML: the rest of the program sees only these typed, immutable values,
/// enums instead of strings and `TimeAmount`s instead of integers.
public struct ProxyConfiguration: Sendable {
    public var server: ServerConfiguration
    public var session: SessionConfiguration
    public var redis: RedisConfiguration
    public var identity: IdentityConfiguration
    public var upstreams: [UpstreamConfiguration]
    public var routes: [RouteConfiguration]
    /// `[auth]`: the login and session endpoints; nil (no table) turns them off.
    public var auth: AuthConfiguration? = nil

    public init(
        server: ServerConfiguration = .init(),
        session: SessionConfiguration = .init(),
        redis: RedisConfiguration = .init(),
        identity: IdentityConfiguration = .init(),
        upstreams: [UpstreamConfiguration],
        routes: [RouteConfiguration]
    ) {
        self.server = server
        self.session = session
        self.redis = redis
        self.identity = identity
        self.upstreams = upstreams
        self.routes = routes
    }
}

/// `[server]`: where clients connect.
public struct ServerConfiguration: Sendable {
    /// `listen`: the address to bind. Default `127.0.0.1:8080`.
    public var listen: HostPort = HostPort(host: "127.0.0.1", port: 8080)
    /// `trusted_proxies`: peers whose `X-Forwarded-For` is believed when resolving the client address. Default none.
    public var trustedProxies: [CIDR] = []
    /// `threads`: event-loop threads. Default: one per core.
    public var threads: Int = System.coreCount
    public init() {}
}

/// Where sessions live.
public enum SessionStoreKind: String, Sendable, CaseIterable {
    case redis
    case memory
}

/// The `SameSite` attribute of the session cookie.
public enum CookieSameSite: String, Sendable, CaseIterable {
    case strict = "Strict"
    case lax = "Lax"
    case none = "None"
}

/// `[session]`: how a session is found on a request and how long it lives.
public struct SessionConfiguration: Sendable {
    /// `store`: `"redis"` (default) or `"memory"` (one process, for development).
    public var store: SessionStoreKind = .redis
    /// `cookie_name`: the cookie holding the session token. Default `session_id`.
    public var cookieName: String = "session_id"
    /// `header_name`: the header holding the token when no cookie is sent. Default `X-Session-ID`.
    public var headerName: String = "X-Session-ID"
    /// `idle_timeout`: sliding expiry; each authenticated request moves expiry to now + this. Default 30 minutes.
    public var idleTimeout: TimeAmount = .minutes(30)
    /// `absolute_timeout`: lifetime from creation, never extended. Default 24 hours.
    public var absoluteTimeout: TimeAmount = .hours(24)
    /// `cookie_secure`: send the cookie only over HTTPS. Default true.
    public var cookieSecure: Bool = true
    /// `cookie_same_site`: `"Strict"`, `"Lax"` (default) or `"None"` (requires `cookie_secure`).
    public var cookieSameSite: CookieSameSite = .lax
    /// `cookie_path`: the cookie's `Path`. Default `/`.
    public var cookiePath: String = "/"
    /// `cookie_domain`: the cookie's `Domain`, if any. Default none (host-only cookie).
    public var cookieDomain: String? = nil
    /// `local_cache`: keep validated sessions in this process and let Redis invalidate them (server-assisted
    /// client-side caching). Only with `store = "redis"`. Default false.
    public var localCache: Bool = false
    /// `local_cache_size`: the most sessions kept in the near-cache; beyond it a random one is evicted.
    /// Default 10000, range 1...10000000.
    public var localCacheSize: Int = 10_000
    /// `refresh_interval`: with the near-cache, the sliding expiry in Redis is refreshed only once it has fallen
    /// more than this behind, so an unused session may expire up to this much before `idle_timeout`. Must be less than
    /// `idle_timeout`. `nil` (not set): ``defaultRefreshInterval(idleTimeout:)``.
    public var refreshInterval: TimeAmount? = nil
    public init() {}

    /// The refresh interval in force: ``refreshInterval`` if set, else derived from ``idleTimeout``.
    public var effectiveRefreshInterval: TimeAmount {
        refreshInterval ?? Self.defaultRefreshInterval(idleTimeout: idleTimeout)
    }

    /// `idle_timeout / 10`, but at least 1 s (fewer refreshes for short timeouts) and at most `idle_timeout / 2`
    /// (so it stays below `idle_timeout`): 3 minutes for the default 30 minutes.
    public static func defaultRefreshInterval(idleTimeout: TimeAmount) -> TimeAmount {
        let tenth = idleTimeout.nanoseconds / 10
        return .nanoseconds(min(max(tenth, 1_000_000_000), idleTimeout.nanoseconds / 2))
    }
}

/// How SessionGate reaches Redis.
public enum RedisMode: String, Sendable, CaseIterable {
    case standalone
    case sentinel
    case cluster
}

/// `[redis]`: the session store's server.
public struct RedisConfiguration: Sendable {
    /// `mode`: `"standalone"` (one server at `address`), `"sentinel"` or `"cluster"`. Default standalone.
    public var mode: RedisMode = .standalone
    /// `address`: `host:port`. Default `127.0.0.1:6379`.
    public var address: HostPort = HostPort(host: "127.0.0.1", port: 6379)
    /// `key_prefix`: prepended to every key SessionGate writes. Default `sg:`.
    public var keyPrefix: String = "sg:"
    /// `connections`: long-lived pipelined connections. Default 2.
    public var connections: Int = 2
    /// `timeout`: connect and command timeout. Default 500 ms.
    public var timeout: TimeAmount = .milliseconds(500)
    /// `username`: ACL user for `AUTH`, if any.
    public var username: String? = nil
    /// `password`: password for `AUTH`, if any.
    public var password: String? = nil
    /// `database`: `SELECT`ed after connecting. Default 0.
    public var database: Int = 0
    /// Sentinel and Cluster settings, and `WAIT` durability (see `RedisTopologyConfiguration`).
    public var topology = RedisTopologyConfiguration()
    public init() {}
}

/// `[identity]`: the headers through which upstreams learn who is calling.
public struct IdentityConfiguration: Sendable {
    /// `user_id_header`. Default `X-User-ID`.
    public var userIDHeader: String = "X-User-ID"
    /// `roles_header`: comma-separated roles. Default `X-Roles`.
    public var rolesHeader: String = "X-Roles"
    /// `user_name_header`. Default `X-User-Name`.
    public var userNameHeader: String = "X-User-Name"
    public init() {}

    /// Every header SessionGate owns: client copies of these are always removed.
    public var allHeaders: [String] { [userIDHeader, rolesHeader, userNameHeader] }
}

/// How requests are spread over an upstream's servers.
public enum BalancingPolicy: String, Sendable, CaseIterable {
    case roundRobin = "round_robin"
    /// Fewest in-flight requests relative to weight; ties by round robin.
    case leastConn = "least_conn"
    /// The client address, resolved through `trusted_proxies`, hashed modulo the weights (nginx's `ip_hash`).
    case ipHash = "ip_hash"
    /// A hash ring over `hash_key`, with bounded loads (`hash_balance_factor`).
    case consistentHash = "consistent_hash"
}

/// `[[upstream]]`: a named group of servers.
public struct UpstreamConfiguration: Sendable {
    /// `name`: referenced by routes.
    public var name: String
    /// `servers`: `host:port` addresses, each a string or `{address = "host:port", weight = N}`.
    public var servers: [HostPort]
    /// Each server's `weight` (1 to 100, default 1), in the order of ``servers``.
    public var weights: [Int]
    /// `balance`: `"round_robin"` (default), `"least_conn"`, `"ip_hash"` or `"consistent_hash"`.
    public var balance: BalancingPolicy = .roundRobin
    /// `hash_key`: what `consistent_hash` hashes. Default `session`; only with `balance = "consistent_hash"`.
    public var hashKey: HashKey = .session
    /// `hash_balance_factor`: no server takes more than this × its weight's share of the in-flight requests
    /// (`consistent_hash` only). Default 1.25; more than 1.
    public var hashBalanceFactor: Double = 1.25
    /// `max_fails`: failed attempts within `fail_timeout` that mark a server down for `fail_timeout`. Default 1;
    /// 0 turns passive health off.
    public var maxFails: Int = 1
    /// `fail_timeout`: see ``maxFails``. Default 10 s.
    public var failTimeout: TimeAmount = .seconds(10)
    /// `health_check`: active probes; default none.
    public var healthCheck: HealthCheckConfiguration? = nil
    /// `retries`: further servers tried after a failed attempt (see README). Default 1.
    public var retries: Int = 1
    /// `idle_timeout`: idle keep-alive connections older than this are closed. Default 60 s.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// `connect_timeout`: Default 2 s; a server that does not accept in time answers 502.
    public var connectTimeout: TimeAmount = .seconds(2)
    /// `response_timeout`: time to the response head. Default 30 s; 504 after it.
    public var responseTimeout: TimeAmount = .seconds(30)
    /// `max_idle`: idle keep-alive connections kept per server and event-loop thread. Default 256; 0 disables
    /// upstream keep-alive.
    public var maxIdle: Int = 1024

    public init(name: String, servers: [HostPort]) {
        self.name = name
        self.servers = servers
        self.weights = Array(repeating: 1, count: servers.count)
    }
}

/// Whether a route needs a session.
public enum RouteAuth: String, Sendable, CaseIterable {
    /// A valid session is needed; 401 otherwise.
    case required
    /// A valid session adds identity headers; without one the request is forwarded anonymously.
    case optional
    /// No session lookup at all.
    case `public`
}

/// `[[route]]`: a path prefix and what guards it.
public struct RouteConfiguration: Sendable {
    /// `path`: a prefix starting with `/`; the longest matching prefix wins.
    public var path: String
    /// `upstream`: the name of an `[[upstream]]`.
    public var upstream: String
    /// `auth`: `"required"` (default), `"optional"` or `"public"`.
    public var auth: RouteAuth = .required
    /// `roles`: every listed role is needed; 403 otherwise.
    public var roles: [String] = []

    public init(path: String, upstream: String, auth: RouteAuth = .required, roles: [String] = []) {
        self.path = path
        self.upstream = upstream
        self.auth = auth
        self.roles = roles
    }
}
