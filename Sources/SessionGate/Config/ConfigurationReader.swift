/// Turns the TOML tables into typed sections; each section's rules live beside the keys they check.
struct ConfigurationReader {
    let problems: ConfigProblems

    func read(_ document: ConfigTable) -> ProxyConfiguration {
        let server = readServer(document.table("server"))
        let session = readSession(document.table("session"))
        let redis = readRedis(document.table("redis"), localCache: session.localCache)
        let identity = readIdentity(document.table("identity"), sessionHeader: session.headerName)
        let upstreams = readUpstreams(document)
        let routes = readRoutes(document, upstreams: upstreams)
        let auth = readAuth(document)
        if session.localCache && redis.mode == .cluster {
            problems.add("session.local_cache", "is not supported with [redis] mode = \"cluster\" (tracking is per node); set it to false")
        }
        document.finish()
        var configuration = ProxyConfiguration(
            server: server, session: session, redis: redis, identity: identity, upstreams: upstreams, routes: routes
        )
        configuration.auth = auth
        return configuration
    }

    private func readServer(_ table: ConfigTable) -> ServerConfiguration {
        var server = ServerConfiguration()
        server.listen = hostPort(table, "listen") ?? server.listen
        for (index, text) in table.indexedStringArray("trusted_proxies") ?? [] {
            if let cidr = CIDR(text) {
                server.trustedProxies.append(cidr)
            } else {
                problems.add(
                    "\(table.keyPath("trusted_proxies"))[\(index)]",
                    "\"\(text)\" is not an address or network (expected \"10.0.0.0/8\", \"127.0.0.1\" or \"::1/128\")")
            }
        }
        server.threads = table.int("threads", default: server.threads, range: 1...256)
        table.finish()
        return server
    }

    private func readSession(_ table: ConfigTable) -> SessionConfiguration {
        var session = SessionConfiguration()
        session.store = table.choice("store", default: session.store)
        session.cookieName = token(table, "cookie_name", default: session.cookieName, what: "cookie name")
        session.headerName = token(table, "header_name", default: session.headerName, what: "header name")
        if HTTPHeaderRules.reserved.contains(session.headerName.lowercased()) {
            table.problem("header_name", "\"\(session.headerName)\" is a header the proxy manages itself; choose another name")
        }
        session.idleTimeout = table.duration("idle_timeout", default: session.idleTimeout)
        session.absoluteTimeout = table.duration("absolute_timeout", default: session.absoluteTimeout)
        session.cookieSecure = table.bool("cookie_secure", default: session.cookieSecure)
        session.cookieSameSite = table.choice("cookie_same_site", default: session.cookieSameSite)
        if session.cookieSameSite == .none && !session.cookieSecure {
            table.problem("cookie_same_site", "\"None\" requires cookie_secure = true (browsers drop such cookies otherwise)")
        }
        let path = table.string("cookie_path", default: session.cookiePath)
        if path.hasPrefix("/"), !path.contains(where: { $0 == ";" || $0.isWhitespace }) {
            session.cookiePath = path
        } else {
            table.problem("cookie_path", "\"\(path)\" is not a cookie path (expected it to start with \"/\" and hold no ';' or spaces)")
        }
        if let domain = table.string("cookie_domain") {
            if !domain.isEmpty, domain.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) {
                session.cookieDomain = domain
            } else {
                table.problem("cookie_domain", "\"\(domain)\" is not a domain name")
            }
        }
        readNearCache(table, into: &session)
        table.finish()
        return session
    }

    /// `local_cache`, `local_cache_size`, `refresh_interval` (read even when the cache is off, so typos are caught).
    private func readNearCache(_ table: ConfigTable, into session: inout SessionConfiguration) {
        session.localCache = table.bool("local_cache", default: session.localCache)
        session.localCacheSize = table.int("local_cache_size", default: session.localCacheSize, range: 1...10_000_000)
        if table.string("refresh_interval") != nil {
            let interval = table.duration("refresh_interval", default: session.effectiveRefreshInterval)
            if interval >= session.idleTimeout {
                table.problem(
                    "refresh_interval",
                    "\(ConfigDuration.format(interval)) must be less than idle_timeout (\(ConfigDuration.format(session.idleTimeout)))")
            } else {
                session.refreshInterval = interval
            }
        }
        if session.localCache && session.store == .memory {
            table.problem("local_cache", "needs store = \"redis\" (the memory store is already local)")
        }
    }

    private func readRedis(_ table: ConfigTable, localCache: Bool) -> RedisConfiguration {
        var redis = RedisConfiguration()
        if let mode = table.string("mode") {
            if let parsed = RedisMode(rawValue: mode) {
                redis.mode = parsed
            } else {
                table.problem("mode", "\"\(mode)\" is not allowed (expected \"standalone\", \"sentinel\" or \"cluster\")")
            }
        }
        redis.address = hostPort(table, "address") ?? redis.address
        redis.keyPrefix = table.string("key_prefix", default: redis.keyPrefix)
        if redis.keyPrefix.contains(where: { $0 == "{" || $0 == "}" || $0.isWhitespace }) {
            table.problem("key_prefix", "\"\(redis.keyPrefix)\" must not contain braces or spaces (braces are Redis Cluster hash tags)")
        }
        redis.connections = table.int("connections", default: redis.connections, range: 1...64)
        redis.timeout = table.duration("timeout", default: redis.timeout)
        redis.username = table.string("username")
        redis.password = table.string("password")
        redis.database = table.int("database", default: redis.database, range: 0...15)
        if redis.username != nil && redis.password == nil {
            table.problem("username", "needs a password as well")
        }
        readTopology(table, into: &redis, localCache: localCache)
        table.finish()
        return redis
    }

    private func readIdentity(_ table: ConfigTable, sessionHeader: String) -> IdentityConfiguration {
        var identity = IdentityConfiguration()
        identity.userIDHeader = token(table, "user_id_header", default: identity.userIDHeader, what: "header name")
        identity.rolesHeader = token(table, "roles_header", default: identity.rolesHeader, what: "header name")
        identity.userNameHeader = token(table, "user_name_header", default: identity.userNameHeader, what: "header name")
        let keys = ["user_id_header", "roles_header", "user_name_header"]
        var seen: [String: String] = [sessionHeader.lowercased(): "session.header_name"]
        for (key, header) in zip(keys, identity.allHeaders) {
            let lower = header.lowercased()
            if let other = seen[lower] {
                table.problem(key, "\"\(header)\" is already used by \(other) (identity headers must be distinct)")
            } else if HTTPHeaderRules.reserved.contains(lower) {
                table.problem(key, "\"\(header)\" is a header the proxy manages itself; choose another name")
            }
            seen[lower] = table.keyPath(key)
        }
        table.finish()
        return identity
    }

    private func readUpstreams(_ document: ConfigTable) -> [UpstreamConfiguration] {
        var upstreams: [UpstreamConfiguration] = []
        let tables = document.tableArray("upstream")
        if tables.isEmpty { document.problem("upstream", "at least one [[upstream]] is required") }
        for table in tables {
            let name = table.string("name") ?? ""
            if name.isEmpty {
                table.problem("name", "is required (a non-empty string that routes refer to)")
            } else if upstreams.contains(where: { $0.name == name }) {
                table.problem("name", "\"\(name)\" is used by another [[upstream]] (names must be unique)")
            }
            let (servers, weights) = readServers(table)
            var upstream = UpstreamConfiguration(name: name, servers: servers)
            upstream.weights = weights
            upstream.balance = table.choice("balance", default: upstream.balance)
            upstream.connectTimeout = table.duration("connect_timeout", default: upstream.connectTimeout)
            upstream.responseTimeout = table.duration("response_timeout", default: upstream.responseTimeout)
            upstream.maxIdle = table.int("max_idle", default: upstream.maxIdle, range: 0...100_000)
            readBalancing(table, into: &upstream)
            table.finish()
            upstreams.append(upstream)
        }
        return upstreams
    }

    private func readRoutes(_ document: ConfigTable, upstreams: [UpstreamConfiguration]) -> [RouteConfiguration] {
        var routes: [RouteConfiguration] = []
        let tables = document.tableArray("route")
        if tables.isEmpty { document.problem("route", "at least one [[route]] is required") }
        for table in tables {
            let path = table.string("path") ?? ""
            if !path.hasPrefix("/") {
                table.problem("path", path.isEmpty ? "is required (a path prefix such as \"/api/\")" : "\"\(path)\" must start with \"/\"")
            } else if path.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace }) {
                table.problem("path", "\"\(path)\" must be a plain path prefix (no '?', '#' or spaces)")
            } else if routes.contains(where: { $0.path == path }) {
                table.problem("path", "\"\(path)\" is used by another [[route]] (paths must be unique)")
            }
            let upstream = table.string("upstream") ?? ""
            if upstream.isEmpty {
                table.problem("upstream", "is required (the name of an [[upstream]])")
            } else if !upstreams.contains(where: { $0.name == upstream }) {
                let names = upstreams.map { "\"\($0.name)\"" }.joined(separator: ", ")
                table.problem("upstream", "\"\(upstream)\" is not the name of an [[upstream]] (defined: \(names))")
            }
            let auth = table.choice("auth", default: RouteAuth.required)
            let indexedRoles = table.indexedStringArray("roles") ?? []
            let roles = indexedRoles.map(\.value)
            if !roles.isEmpty && auth != .required {
                table.problem("roles", "roles can only be enforced on a route with auth = \"required\"")
            }
            for (index, role) in indexedRoles where role.isEmpty || role.contains(where: { $0 == "," || $0.isWhitespace }) {
                problems.add("\(table.keyPath("roles"))[\(index)]", "\"\(role)\" is not a role name (no commas or spaces)")
            }
            table.finish()
            routes.append(RouteConfiguration(path: path, upstream: upstream, auth: auth, roles: roles))
        }
        return routes
    }

    private func hostPort(_ table: ConfigTable, _ key: String) -> HostPort? {
        guard let text = table.string(key) else { return nil }
        switch HostPort.parse(text) {
        case .success(let address): return address
        case .failure(let error):
            table.problem(key, "\"\(text)\": \(error)")
            return nil
        }
    }

    /// An HTTP token (RFC 9110 §5.6.2): what header and cookie names are made of.
    private func token(_ table: ConfigTable, _ key: String, default fallback: String, what: String) -> String {
        guard let text = table.string(key) else { return fallback }
        guard HTTPHeaderRules.isToken(text) else {
            table.problem(key, "\"\(text)\" is not a valid \(what) (letters, digits and !#$%&'*+-.^_`|~ only)")
            return fallback
        }
        return text
    }
}
