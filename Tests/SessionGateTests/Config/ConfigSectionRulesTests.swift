import Testing

@testable import SessionGate

/// The rules of each section: addresses, header names, cookie and Redis settings, upstreams and routes.
@Suite("ConfigLoader: section rules")
struct ConfigSectionRulesTests {
    // MARK: Addresses

    @Test func hostPortProblems() {
        let problems = ConfigFixture.problems(in: """
            [server]
            listen = "localhost"
            [redis]
            address = "127.0.0.1:70000"
            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:9001", "::1:8080"]
            [[route]]
            path = "/"
            upstream = "app"
            """)
        #expect(problems.map(\.key) == ["server.listen", "redis.address", "upstream[0].servers[1]"])
        #expect(problems.map(\.line) == [2, 4, 7])
        #expect(problems.map(\.message) == [
            #""localhost": missing port (expected host:port)"#,
            #""127.0.0.1:70000": port "70000" is not a number from 1 to 65535"#,
            #""::1:8080": an IPv6 address must be written in brackets: [address]:port"#,
        ])
    }

    @Test func badCIDRNamesItsIndex() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [server]
            listen = "127.0.0.1:8080"
            trusted_proxies = ["10.0.0.0/8", "10.0.0.0/33", "::1/128"]
            """))
        #expect(problem.key == "server.trusted_proxies[1]")
        #expect(problem.line == 3)
        #expect(problem.message.hasPrefix(#""10.0.0.0/33" is not an address or network"#))
    }

    /// A non-string entry must not shift the index reported for the entries after it.
    @Test func arrayIndexesCountEveryEntry() {
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("[server]\ntrusted_proxies = [5, \"bogus\"]"))
        #expect(problems.map(\.key) == ["server.trusted_proxies[0]", "server.trusted_proxies[1]"])
        #expect(problems.map(\.message) == [
            "expected a string, found the integer 5",
            #""bogus" is not an address or network (expected "10.0.0.0/8", "127.0.0.1" or "::1/128")"#,
        ])
    }

    // MARK: Headers

    @Test func headerNameWithASpace() throws {
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("""
            [session]
            header_name = "X Session"
            [identity]
            user_id_header = "X-User ID"
            """))
        #expect(problems.map(\.key) == ["session.header_name", "identity.user_id_header"])
        #expect(problems.map(\.line) == [2, 4])
        #expect(problems.map(\.message) == [
            #""X Session" is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"#,
            #""X-User ID" is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)"#,
        ])
    }

    @Test func identityHeadersMustBeDistinct() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [identity]
            user_id_header = "X-Who"
            roles_header = "x-who"
            """))
        #expect(problem.key == "identity.roles_header")
        #expect(problem.line == 3)
        #expect(problem.message == #""x-who" is already used by identity.user_id_header (identity headers must be distinct)"#)
    }

    @Test func identityHeaderMayNotBeTheSessionHeader() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [session]
            header_name = "X-Token"
            [identity]
            user_name_header = "x-token"
            """))
        #expect(problem.key == "identity.user_name_header")
        #expect(problem.line == 4)
        #expect(problem.message == #""x-token" is already used by session.header_name (identity headers must be distinct)"#)
    }

    @Test(arguments: ["Host", "cookie", "X-Forwarded-For", "Connection", "X-Real-IP"])
    func identityHeaderMayNotBeReserved(name: String) throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[identity]\nuser_id_header = \"\(name)\""))
        #expect(problem.key == "identity.user_id_header")
        #expect(problem.line == 2)
        #expect(problem.message == "\"\(name)\" is a header the proxy manages itself; choose another name")
    }

    /// The session header is read for the token and stripped before forwarding: `Host` there would make every
    /// request without a cookie present a malformed token, and strip `Host` from what the upstream receives.
    @Test(arguments: ["Host", "Cookie", "X-Forwarded-For", "Connection"])
    func sessionHeaderMayNotBeReserved(name: String) throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[session]\nheader_name = \"\(name)\""))
        #expect(problem.key == "session.header_name")
        #expect(problem.line == 2)
        #expect(problem.message.contains(name))
    }

    // MARK: Session and Redis rules

    @Test func sameSiteNoneNeedsSecure() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [session]
            cookie_secure = false
            cookie_same_site = "None"
            """))
        #expect(problem.key == "session.cookie_same_site")
        #expect(problem.line == 3)
        #expect(problem.message == #""None" requires cookie_secure = true (browsers drop such cookies otherwise)"#)
    }

    @Test func keyPrefixWithBraces() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[redis]\nkey_prefix = \"sg:{a}:\""))
        #expect(problem.key == "redis.key_prefix")
        #expect(problem.line == 2)
        #expect(problem.message == #""sg:{a}:" must not contain braces or spaces (braces are Redis Cluster hash tags)"#)
    }

    @Test(arguments: [0, 65, -1])
    func connectionsOutOfRange(count: Int) throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[redis]\nconnections = \(count)"))
        #expect(problem.key == "redis.connections")
        #expect(problem.line == 2)
        #expect(problem.message == "\(count) is out of range (expected 1 to 64)")
    }

    @Test func redisUserNeedsAPassword() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[redis]\nusername = \"proxy\""))
        #expect(problem.key == "redis.username")
        #expect(problem.line == 2)
        #expect(problem.message == "needs a password as well")
    }

    // MARK: Upstreams

    @Test func upstreamWithoutNameOrServers() {
        let problems = ConfigFixture.problems(in: """
            [[upstream]]
            servers = ["127.0.0.1:9001"]

            [[upstream]]
            name = "app"

            [[upstream]]
            name = "empty"
            servers = []

            [[route]]
            path = "/"
            upstream = "app"
            """)
        #expect(problems.map(\.key) == ["upstream[0].name", "upstream[1].servers", "upstream[2].servers"])
        #expect(problems.map(\.line) == [1, 4, 9])
        #expect(problems.map(\.message) == [
            "is required (a non-empty string that routes refer to)",
            #"is required (an array of "host:port" strings)"#,
            #"must list at least one "host:port""#,
        ])
    }

    @Test func duplicateUpstreamNames() throws {
        let problem = try ConfigFixture.onlyProblem(in: """
            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:9001"]

            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:9002"]

            [[route]]
            path = "/"
            upstream = "app"
            """)
        #expect(problem.key == "upstream[1].name")
        #expect(problem.line == 6)
        #expect(problem.message == #""app" is used by another [[upstream]] (names must be unique)"#)
    }

    // MARK: Routes

    @Test func routeRules() {
        let problems = ConfigFixture.problems(in: """
            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:9001"]

            [[route]]
            path = "api/"
            upstream = "app"

            [[route]]
            path = "/a/"
            upstream = "app"

            [[route]]
            path = "/a/"
            upstream = "nope"

            [[route]]
            path = "/pub/"
            upstream = "app"
            auth = "public"
            roles = ["admin"]
            """)
        #expect(problems.map(\.key) == ["route[0].path", "route[2].path", "route[2].upstream", "route[3].roles"])
        #expect(problems.map(\.line) == [6, 14, 15, 21])
        #expect(problems.map(\.message) == [
            #""api/" must start with "/""#,
            #""/a/" is used by another [[route]] (paths must be unique)"#,
            #""nope" is not the name of an [[upstream]] (defined: "app")"#,
            #"roles can only be enforced on a route with auth = "required""#,
        ])
    }

    @Test func rolesOnAnOptionalRouteToo() throws {
        let problem = try ConfigFixture.onlyProblem(in: """
            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:9001"]
            [[route]]
            path = "/"
            upstream = "app"
            auth = "optional"
            roles = ["admin"]
            """)
        #expect(problem.key == "route[0].roles")
        #expect(problem.line == 8)
    }

    @Test func routeWithoutPathOrUpstream() {
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("[[route]]\nauth = \"public\""))
        #expect(problems.map(\.key) == ["route[0].path", "route[0].upstream"])
        #expect(problems.map(\.line) == [1, 1])
    }

    @Test func noUpstreamsAndNoRoutes() {
        let problems = ConfigFixture.problems(in: "[server]\nlisten = \"127.0.0.1:8080\"\n")
        #expect(problems.map(\.key) == ["upstream", "route"])
        #expect(problems.map(\.message) == ["at least one [[upstream]] is required", "at least one [[route]] is required"])
    }
}
