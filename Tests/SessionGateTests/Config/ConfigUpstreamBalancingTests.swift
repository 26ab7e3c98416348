import NIOCore
import Testing

@testable import SessionGate

/// `[[upstream]]` balancing keys: weighted servers, `balance`, `hash_key`, `hash_balance_factor`, passive and active
/// health, `retries`, `idle_timeout`.
@Suite("Config upstream balancing")
struct ConfigUpstreamBalancingTests {
    private func upstream(_ lines: String) -> String {
        "[[upstream]]\nname = \"app\"\n\(lines)\n\n[[route]]\npath = \"/\"\nupstream = \"app\""
    }

    @Test func everyKeyParses() throws {
        let configuration = try ConfigLoader.parse(upstream("""
            servers = ["10.0.0.1:80", {address = "10.0.0.2:80", weight = 3}, { address = "10.0.0.3:80" }]
            balance = "consistent_hash"
            hash_key = "cookie:tenant"
            hash_balance_factor = 1.5
            max_fails = 3
            fail_timeout = "30s"
            health_check = {path = "/healthz", interval = "2s", timeout = "500ms", healthy = 3, unhealthy = 4}
            retries = 2
            idle_timeout = "90s"
            """))
        let upstream = configuration.upstreams[0]
        #expect(upstream.servers.map(\.description) == ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"])
        #expect(upstream.weights == [1, 3, 1])
        #expect(upstream.balance == .consistentHash)
        #expect(upstream.hashKey == .cookie("tenant"))
        #expect(upstream.hashBalanceFactor == 1.5)
        #expect(upstream.maxFails == 3)
        #expect(upstream.failTimeout == .seconds(30))
        var check = HealthCheckConfiguration(path: "/healthz")
        check.interval = .seconds(2)
        check.timeout = .milliseconds(500)
        check.healthy = 3
        check.unhealthy = 4
        #expect(upstream.healthCheck == check)
        #expect(upstream.retries == 2)
        #expect(upstream.idleTimeout == .seconds(90))
    }

    @Test func defaults() throws {
        let upstream = try ConfigLoader.parse(ConfigFixture.tail).upstreams[0]
        #expect(upstream.weights == [1])
        #expect(upstream.balance == .roundRobin)
        #expect(upstream.hashKey == .session)
        #expect(upstream.hashBalanceFactor == 1.25)
        #expect(upstream.maxFails == 1)
        #expect(upstream.failTimeout == .seconds(10))
        #expect(upstream.healthCheck == nil)
        #expect(upstream.retries == 1)
        #expect(upstream.idleTimeout == .seconds(60))
        let check = try ConfigLoader.parse(self.upstream("servers = [\"a:1\"]\nhealth_check = {path = \"/up\"}")).upstreams[0]
        #expect(check.healthCheck?.interval == .seconds(5))
        #expect(check.healthCheck?.timeout == .seconds(1))
        #expect(check.healthCheck?.healthy == 2)
        #expect(check.healthCheck?.unhealthy == 2)
    }

    @Test(arguments: ["round_robin", "least_conn", "ip_hash", "consistent_hash"])
    func everyPolicyIsAccepted(policy: String) throws {
        let upstream = try ConfigLoader.parse(upstream("servers = [\"a:1\"]\nbalance = \"\(policy)\"")).upstreams[0]
        #expect(upstream.balance.rawValue == policy)
    }

    @Test(arguments: [("session", HashKey.session), ("user", .user), ("ip", .ip), ("header:X-Tenant", .header("X-Tenant"))])
    func hashKeys(text: String, key: HashKey) throws {
        let parsed = try ConfigLoader.parse(upstream("servers = [\"a:1\"]\nbalance = \"consistent_hash\"\nhash_key = \"\(text)\""))
        #expect(parsed.upstreams[0].hashKey == key)
    }

    @Test func badServerEntriesNameTheEntryAndLine() {
        let problems = ConfigFixture.problems(in: upstream("""
            servers = [
              "10.0.0.1:80",
              {address = "10.0.0.2:80", weight = 0},
              {adress = "10.0.0.3:80"},
              {address = "nowhere"},
              42,
            ]
            """))
        #expect(problems.map(\.key) == [
            "upstream[0].servers[1].weight", "upstream[0].servers[2].adress", "upstream[0].servers[2].address",
            "upstream[0].servers[3].address", "upstream[0].servers[4]",
        ])
        #expect(problems.allSatisfy { $0.line == 3 }, "the line of the array's key: \(problems)")
        #expect(problems[0].message.contains("out of range (expected 1 to 100)"))
        #expect(problems[1].message.contains(#"did you mean "address""#))
        #expect(problems[3].message.contains("missing port"))
        #expect(problems[4].message.contains("found the integer 42"))
    }

    @Test func hashKeyProblems() throws {
        let bad = try ConfigFixture.onlyProblem(in: upstream("servers = [\"a:1\"]\nbalance = \"consistent_hash\"\nhash_key = \"cookie:\""))
        #expect(bad.key == "upstream[0].hash_key")
        #expect(bad.line == 5)
        #expect(bad.message.contains(#"expected "session", "user", "ip", "cookie:NAME" or "header:NAME""#))
        let unused = try ConfigFixture.onlyProblem(in: upstream("servers = [\"a:1\"]\nhash_key = \"user\""))
        #expect(unused.key == "upstream[0].hash_key")
        #expect(unused.message == #"is only used with balance = "consistent_hash""#)
    }

    @Test(arguments: ["1.0", "0.5", "101", "\"1.5\""])
    func hashBalanceFactorMustExceedOne(value: String) throws {
        let problem = try ConfigFixture.onlyProblem(
            in: upstream("servers = [\"a:1\"]\nbalance = \"consistent_hash\"\nhash_balance_factor = \(value)"))
        #expect(problem.key == "upstream[0].hash_balance_factor")
        #expect(problem.line == 5)
    }

    @Test func healthCheckProblemsNameTheInnerKey() {
        let problems = ConfigFixture.problems(in: upstream("""
            servers = ["a:1"]
            health_check = {intervall = "2s", healthy = 0}
            """))
        #expect(problems.map(\.key) == [
            "upstream[0].health_check.healthy", "upstream[0].health_check.intervall", "upstream[0].health_check.path",
        ])
        #expect(problems.allSatisfy { $0.line == 4 })
        #expect(problems[1].message.contains(#"did you mean "interval""#))
        #expect(problems[2].message.contains("is required"))
    }

    @Test(arguments: [("max_fails", "-1"), ("retries", "17"), ("fail_timeout", "\"0s\""), ("idle_timeout", "\"soon\"")])
    func outOfRangeValues(key: String, value: String) throws {
        let problem = try ConfigFixture.onlyProblem(in: upstream("servers = [\"a:1\"]\n\(key) = \(value)"))
        #expect(problem.key == "upstream[0].\(key)")
        #expect(problem.line == 4)
    }
}

extension ConfigUpstreamBalancingTests {
    @Test func theShippedExamplesCommentedBalancingKeysAreValidAndShowTheDefaults() throws {
        var text = try String(contentsOfFile: ConfigLoaderTests.shippedExample, encoding: .utf8)
        text = text.replacingOccurrences(of: "balance = \"round_robin\"", with: "balance = \"consistent_hash\"")
        for key in ["hash_key", "hash_balance_factor", "health_check"] {
            #expect(text.contains("\n# \(key) = "), "\(key) is documented")
            text = text.replacingOccurrences(of: "\n# \(key) = ", with: "\n\(key) = ")
        }
        let upstream = try #require(try ConfigLoader.parse(text).upstreams.first)
        let defaults = UpstreamConfiguration(name: "app", servers: [])
        #expect(upstream.hashKey == defaults.hashKey)
        #expect(upstream.hashBalanceFactor == defaults.hashBalanceFactor)
        #expect(upstream.maxFails == defaults.maxFails)
        #expect(upstream.failTimeout == defaults.failTimeout)
        #expect(upstream.retries == defaults.retries)
        #expect(upstream.idleTimeout == defaults.idleTimeout)
        #expect(upstream.healthCheck?.path == "/healthz")
        #expect(upstream.healthCheck?.interval == .seconds(5))
        #expect(upstream.healthCheck?.healthy == 2)
    }
}
