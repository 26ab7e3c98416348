import Foundation

extension ConfigurationReader {
    /// `[auth]` and its `[auth.users.NAME]` tables; nil when the table is absent (the endpoints are then off).
    ///
    /// `users_file` is read and parsed here, so a missing file or a non-bcrypt line is reported with the key's line
    /// like any other configuration problem.
    func readAuth(_ document: ConfigTable) -> AuthConfiguration? {
        guard document.value("auth") != nil else { return nil }
        let table = document.table("auth")
        var auth = AuthConfiguration(backend: .authenticator(AuthenticatorEndpoint(host: "", port: 0, path: "/")))
        let prefix = table.string("prefix", default: auth.prefix)
        if prefix.hasPrefix("/"), !prefix.hasSuffix("/"), !prefix.contains(where: { "?#%".contains($0) || $0.isWhitespace }) {
            auth.prefix = prefix
        } else {
            table.problem("prefix", "\"\(prefix)\" must start with \"/\", not end with \"/\", and hold no '?', '#', '%' or spaces")
        }
        let users = readAuthUsers(table)
        let usersFile = table.string("users_file")
        let authenticator = table.string("authenticator")
        switch (usersFile, authenticator) {
        case (nil, nil):
            table.problem("users_file", "[auth] needs users_file (an htpasswd file) or authenticator (a URL)")
        case (.some, .some):
            table.problem("authenticator", "set either users_file or authenticator, not both")
        case (let path?, nil):
            if let htpasswd = readHtpasswd(table, path: path) { auth.backend = .htpasswd(htpasswd, users: users) }
        case (nil, let url?):
            if let endpoint = AuthenticatorEndpoint.parse(url) {
                auth.backend = .authenticator(endpoint)
            } else {
                table.problem("authenticator", "\"\(url)\" is not an http:// URL (expected \"http://127.0.0.1:9000/check\")")
            }
            if let first = users.keys.sorted().first {
                table.problem("users.\(first)", "[auth.users.*] applies to users_file only")
            }
        }
        auth.authenticatorTimeout = table.duration("authenticator_timeout", default: auth.authenticatorTimeout)
        let adminRole = table.string("admin_role", default: auth.adminRole)
        if Self.isRoleName(adminRole) { auth.adminRole = adminRole } else {
            table.problem("admin_role", "\"\(adminRole)\" is not a role name (no commas or spaces)")
        }
        auth.maxSessionsPerUser = table.int("max_sessions_per_user", default: auth.maxSessionsPerUser, range: 0...10_000)
        auth.onLimit = table.choice("on_limit", default: auth.onLimit)
        auth.maxFailedLoginsPerUser = table.int("max_failed_logins_per_user", default: auth.maxFailedLoginsPerUser, range: 1...1_000_000)
        auth.maxFailedLoginsPerIP = table.int("max_failed_logins_per_ip", default: auth.maxFailedLoginsPerIP, range: 1...1_000_000)
        auth.failedLoginWindow = table.duration("failed_login_window", default: auth.failedLoginWindow)
        if auth.failedLoginWindow < .seconds(1) { table.problem("failed_login_window", "must be at least 1s") }
        for (index, origin) in table.indexedStringArray("allowed_origins") ?? [] {
            if OriginPolicy.normalize(origin) == nil {
                problems.add(
                    "\(table.keyPath("allowed_origins"))[\(index)]",
                    "\"\(origin)\" is not an origin (expected \"https://app.example.com\" or \"http://localhost:8080\", no path)")
            } else {
                auth.allowedOrigins.append(origin)
            }
        }
        table.finish()
        return auth
    }

    /// `[auth.users.NAME]` tables: `user_id` and `roles` per user of the htpasswd file.
    private func readAuthUsers(_ auth: ConfigTable) -> [String: AuthUser] {
        guard case .table(let entries)? = auth.value("users") else {
            _ = auth.table("users")  // reports a non-table value
            return [:]
        }
        let table = auth.table("users")
        var users: [String: AuthUser] = [:]
        for name in entries.keys.sorted() {
            let user = table.table(name)
            let userID = user.string("user_id", default: name)
            if userID.isEmpty || userID.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
                user.problem("user_id", "\"\(userID)\" is not a user ID (non-empty, no control characters)")
            }
            var roles: [String] = []
            for (index, role) in user.indexedStringArray("roles") ?? [] {
                if Self.isRoleName(role) { roles.append(role) } else {
                    problems.add("\(user.keyPath("roles"))[\(index)]", "\"\(role)\" is not a role name (no commas or spaces)")
                }
            }
            user.finish()
            users[name] = AuthUser(userID: userID, roles: roles)
        }
        table.finish()
        return users
    }

    private func readHtpasswd(_ table: ConfigTable, path: String) -> Htpasswd? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            table.problem("users_file", "\"\(path)\" cannot be read")
            return nil
        }
        let (htpasswd, fileProblems) = Htpasswd.parse(text)
        for problem in fileProblems { table.problem("users_file", "\(path) \(problem)") }
        if fileProblems.isEmpty && htpasswd.entries.isEmpty { table.problem("users_file", "\"\(path)\" lists no users") }
        return fileProblems.isEmpty ? htpasswd : nil
    }

    private static func isRoleName(_ role: String) -> Bool {
        !role.isEmpty && !role.contains(where: { $0 == "," || $0.isWhitespace })
    }
}
