/// The `[[upstream]]` keys of balancing, health and retries (issue 5): `servers` with weights, `balance`, `hash_key`,
/// `hash_balance_factor`, `max_fails`, `fail_timeout`, `health_check`, `retries`, `idle_timeout`.
extension ConfigurationReader {
    /// `servers`: each entry `"host:port"` or `{address = "host:port", weight = N}`, mixed freely.
    /// - Returns: the addresses and their weights (1 for plain strings), problems reported per entry.
    func readServers(_ table: ConfigTable) -> (servers: [HostPort], weights: [Int]) {
        guard let value = table.value("servers") else {
            table.problem("servers", #"is required (an array of "host:port" strings)"#)
            return ([], [])
        }
        guard case .array(let items) = value else {
            table.problem("servers", "expected an array of \"host:port\" strings or {address, weight} tables, found \(value.kindName)")
            return ([], [])
        }
        if items.isEmpty { table.problem("servers", #"must list at least one "host:port""#) }
        var servers: [HostPort] = []
        var weights: [Int] = []
        for (index, item) in items.enumerated() {
            let path = "\(table.keyPath("servers"))[\(index)]"
            let text: String
            var weight = 1
            switch item {
            case .string(let string):
                text = string
            case .table(let entries):
                let server = ConfigTable(path: path, entries: entries, problems: problems)
                weight = server.int("weight", default: 1, range: 1...100)
                let address = server.string("address")
                server.finish()
                guard let address else {
                    if entries["address"] == nil { problems.add("\(path).address", #"is required (a "host:port" string)"#) }
                    continue
                }
                text = address
            default:
                problems.add(path, "expected a \"host:port\" string or {address = \"host:port\", weight = N}, found \(item.kindName)")
                continue
            }
            switch HostPort.parse(text) {
            case .success(let address):
                servers.append(address)
                weights.append(weight)
            case .failure(let error):
                problems.add(item.isTable ? "\(path).address" : path, "\"\(text)\": \(error)")
            }
        }
        return (servers, weights)
    }

    /// Every balancing, health, retry and keep-alive key of one `[[upstream]]`.
    func readBalancing(_ table: ConfigTable, into upstream: inout UpstreamConfiguration) {
        let isConsistentHash = upstream.balance == .consistentHash
        if let text = table.string("hash_key") {
            if let key = HashKey(text) {
                upstream.hashKey = key
            } else {
                table.problem(
                    "hash_key",
                    #""\#(text)" is not a hash key (expected "session", "user", "ip", "cookie:NAME" or "header:NAME")"#)
            }
            if !isConsistentHash { table.problem("hash_key", #"is only used with balance = "consistent_hash""#) }
        }
        if let factor = number(table, "hash_balance_factor") {
            if !(factor > 1 && factor <= 100) {
                table.problem("hash_balance_factor", "\(factor) is out of range (expected more than 1.0, at most 100)")
            } else {
                upstream.hashBalanceFactor = factor
            }
            if !isConsistentHash { table.problem("hash_balance_factor", #"is only used with balance = "consistent_hash""#) }
        }
        upstream.maxFails = table.int("max_fails", default: upstream.maxFails, range: 0...1000)
        upstream.failTimeout = table.duration("fail_timeout", default: upstream.failTimeout)
        upstream.retries = table.int("retries", default: upstream.retries, range: 0...16)
        upstream.idleTimeout = table.duration("idle_timeout", default: upstream.idleTimeout)
        if table.value("health_check") != nil {
            upstream.healthCheck = readHealthCheck(table.table("health_check"))
        }
    }

    /// `health_check = {path = "/healthz", interval = "5s", timeout = "1s", healthy = 2, unhealthy = 2}`.
    private func readHealthCheck(_ table: ConfigTable) -> HealthCheckConfiguration? {
        let path = table.string("path")
        var check = HealthCheckConfiguration(path: path ?? "/")
        check.interval = table.duration("interval", default: check.interval)
        check.timeout = table.duration("timeout", default: check.timeout)
        check.healthy = table.int("healthy", default: check.healthy, range: 1...100)
        check.unhealthy = table.int("unhealthy", default: check.unhealthy, range: 1...100)
        table.finish()
        guard let path else {
            table.problem("path", #"is required (the path probed with GET, such as "/healthz")"#)
            return nil
        }
        guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            table.problem("path", "\"\(path)\" must start with \"/\" and contain no spaces")
            return nil
        }
        return check
    }

    /// A TOML float or integer.
    private func number(_ table: ConfigTable, _ key: String) -> Double? {
        switch table.value(key) {
        case .none: return nil
        case .double(let value)?: return value
        case .integer(let value)?: return Double(value)
        case let other?:
            table.problem(key, "expected a number such as 1.25, found \(other.kindName)")
            return nil
        }
    }
}

extension ConfigValue {
    fileprivate var isTable: Bool {
        if case .table = self { return true }
        return false
    }
}
