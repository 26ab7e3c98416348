import Testing

@testable import SessionGate

/// Each kind of mistake in a configuration file (unknown keys, types, values, syntax): the key path, the line and
/// the message a user reads.
@Suite("ConfigLoader: problems")
struct ConfigProblemsTests {
    // MARK: Unknown keys and sections

    @Test func unknownKeySuggestsTheClosestKnownOne() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [session]
            store = "memory"
            cokie_name = "sid"
            """))
        #expect(problem.key == "session.cokie_name")
        #expect(problem.line == 3)
        #expect(problem.message.hasPrefix("unknown key"))
        #expect(problem.message.contains(#"did you mean "cookie_name""#))
        #expect(problem.message.contains("known keys here: store, cookie_name, header_name"))
    }

    @Test func unknownKeyFarFromAnyKnownOneHasNoSuggestion() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[server]\nfrobnicate = 1"))
        #expect(problem.key == "server.frobnicate")
        #expect(problem.line == 2)
        #expect(problem.message.hasPrefix("unknown key"))
        #expect(!problem.message.contains("did you mean"))
        #expect(problem.message.contains("listen"))
    }

    @Test func unknownTopLevelSection() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[sesion]\nstore = \"memory\""))
        #expect(problem.key == "sesion")
        #expect(problem.line == 1)
        #expect(problem.message.contains(#"unknown key (did you mean "session"?)"#))

        let other = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[metrics]\nenabled = true"))
        #expect(other.key == "metrics")
        #expect(other.line == 1)
        #expect(other.message.hasPrefix("unknown key"))
    }

    @Test func misspelledArrayOfTablesIsUnknownAndTheRealOneIsMissing() {
        let problems = ConfigFixture.problems(in: """
            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:9001"]

            [[routes]]
            path = "/"
            upstream = "app"
            """)
        #expect(problems.map(\.key) == ["route", "routes"])
        #expect(problems.first { $0.key == "routes" }?.line == 5)
        #expect(problems.first { $0.key == "routes" }?.message.contains(#"did you mean "route""#) == true)
        #expect(problems.first { $0.key == "route" }?.message == "at least one [[route]] is required")
    }

    // MARK: Types

    @Test func stringExpectedIntegerGiven() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[session]\ncookie_name = 42"))
        #expect(problem.key == "session.cookie_name")
        #expect(problem.line == 2)
        #expect(problem.message == "expected a string, found the integer 42")
    }

    @Test func otherWrongTypes() {
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("""
            [server]
            listen = 8080
            threads = "four"
            trusted_proxies = "10.0.0.0/8"
            [session]
            cookie_secure = "yes"
            """))
        #expect(problems.map(\.key) == ["server.listen", "server.trusted_proxies", "server.threads", "session.cookie_secure"])
        #expect(problems.map(\.line) == [2, 4, 3, 6])
        #expect(problems.map(\.message) == [
            "expected a string, found the integer 8080",
            #"expected an array of strings, found the string "10.0.0.0/8""#,
            #"expected an integer from 1 to 256, found the string "four""#,
            #"expected true or false, found the string "yes""#,
        ])
    }

    @Test func sectionThatIsNotATable() throws {
        let problem = try ConfigFixture.onlyProblem(in: "session = \"memory\"\n" + ConfigFixture.tail)
        #expect(problem.key == "session")
        #expect(problem.line == 1)
        #expect(problem.message == #"expected a table ([session]), found the string "memory""#)
    }

    // MARK: Durations

    @Test(arguments: ["30 minutes", "-5s", "30", "1.5h", "30S", ""])
    func badDuration(text: String) throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[session]\n\nidle_timeout = \"\(text)\""))
        #expect(problem.key == "session.idle_timeout")
        #expect(problem.line == 3)
        #expect(problem.message.hasPrefix("\"\(text)\" is not a duration (expected a number and a unit:"))
        #expect(problem.message.contains(#""500ms", "30s", "30m", "24h""#))
    }

    @Test(arguments: ["0s", "0ms", "0h0m"])
    func zeroDuration(text: String) throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[redis]\ntimeout = \"\(text)\""))
        #expect(problem.key == "redis.timeout")
        #expect(problem.line == 2)
        #expect(problem.message == "must be greater than zero")
    }

    // MARK: Enumerations

    @Test func badStore() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[session]\nstore = \"postgres\""))
        #expect(problem.key == "session.store")
        #expect(problem.line == 2)
        #expect(problem.message == #""postgres" is not allowed (expected one of: "redis", "memory")"#)
    }

    @Test func sameSiteIsCaseSensitive() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[session]\ncookie_same_site = \"lax\""))
        #expect(problem.key == "session.cookie_same_site")
        #expect(problem.line == 2)
        #expect(problem.message == #""lax" is not allowed (expected one of: "Strict", "Lax", "None")"#)
    }

    @Test func badAuthAndBalance() {
        let problems = ConfigFixture.problems(in: """
            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:9001"]
            balance = "fastest"

            [[route]]
            path = "/"
            upstream = "app"
            auth = "maybe"
            """)
        #expect(problems.map(\.key) == ["upstream[0].balance", "route[0].auth"])
        #expect(problems.map(\.line) == [4, 9])
        #expect(problems.map(\.message) == [
            #""fastest" is not allowed (expected one of: "round_robin", "least_conn", "ip_hash", "consistent_hash")"#,
            #""maybe" is not allowed (expected one of: "required", "optional", "public")"#,
        ])
    }

    @Test func unknownRedisMode() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[redis]\nmode = \"replicated\""))
        #expect(problem.message == #""replicated" is not allowed (expected "standalone", "sentinel" or "cluster")"#)
    }

    // MARK: Syntax and collection

    @Test func syntaxErrorReportsItsLine() throws {
        let problem = try ConfigFixture.onlyProblem(in: """
            [session]
            store = "memory"
            cookie_name = "unterminated
            idle_timeout = "30m"
            """)
        #expect(problem.key == "(syntax)")
        #expect(problem.line == 3)
        #expect(!problem.message.isEmpty)
    }

    @Test func everyProblemIsReportedTogether() {
        let problems = ConfigFixture.problems(in: """
            [server]
            listen = "localhost"
            trusted_proxies = ["10.0.0.0/8", "not-a-network"]

            [session]
            cokie_name = "sid"
            idle_timeout = "30 minutes"
            cookie_same_site = "lax"

            [redis]
            mode = "clustered"
            connections = 0

            [[upstream]]
            name = "app"
            servers = ["127.0.0.1"]

            [[route]]
            path = "api"
            upstream = "ap"
            """)
        let expected: [(key: String, line: Int)] = [
            ("server.listen", 2), ("server.trusted_proxies[1]", 3), ("session.idle_timeout", 7),
            ("session.cookie_same_site", 8), ("session.cokie_name", 6), ("redis.mode", 11), ("redis.connections", 12),
            ("upstream[0].servers[0]", 16), ("route[0].path", 19), ("route[0].upstream", 20),
        ]
        #expect(problems.count == 10)
        #expect(problems.map(\.key) == expected.map(\.key))
        #expect(problems.map(\.line) == expected.map(\.line))
    }
}
