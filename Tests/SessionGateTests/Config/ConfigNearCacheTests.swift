import NIOCore
import Testing

@testable import SessionGate

/// `[session] local_cache`, `local_cache_size`, `refresh_interval`: defaults and validation.
@Suite("ConfigLoader: near-cache keys")
struct ConfigNearCacheTests {
    @Test func defaultsAreOffTenThousandAndATenthOfTheIdleTimeout() throws {
        let session = try ConfigLoader.parse(ConfigFixture.tail).session
        #expect(session.localCache == false)
        #expect(session.localCacheSize == 10_000)
        #expect(session.refreshInterval == nil)
        #expect(session.effectiveRefreshInterval == .minutes(3))
    }

    @Test func theDerivedIntervalIsAtLeastOneSecondAndBelowTheIdleTimeout() {
        #expect(SessionConfiguration.defaultRefreshInterval(idleTimeout: .seconds(5)) == .seconds(1))
        #expect(SessionConfiguration.defaultRefreshInterval(idleTimeout: .seconds(20)) == .seconds(2))
        #expect(SessionConfiguration.defaultRefreshInterval(idleTimeout: .milliseconds(1500)) == .milliseconds(750))
    }

    @Test func explicitValuesAreRead() throws {
        let session = try ConfigLoader.parse(ConfigFixture.withTail("""
            [session]
            idle_timeout = "2s"
            local_cache = true
            local_cache_size = 5
            refresh_interval = "500ms"
            """)).session
        #expect(session.localCache)
        #expect(session.localCacheSize == 5)
        #expect(session.effectiveRefreshInterval == .milliseconds(500))
    }

    @Test func aRefreshIntervalNotBelowTheIdleTimeoutIsAProblemNamingTheKey() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [session]
            idle_timeout = "1m"
            refresh_interval = "1m"
            """))
        #expect(problem.key == "session.refresh_interval")
        #expect(problem.line == 3)
        #expect(problem.message == "1m must be less than idle_timeout (1m)")
    }

    @Test func everyProblemIsReportedTogether() {
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("""
            [session]
            store = "memory"
            local_cache = "yes"
            local_cache_size = 0
            refresh_interval = "soon"
            """))
        #expect(problems.map(\.key) == ["session.local_cache", "session.local_cache_size", "session.refresh_interval"])
    }

    @Test func theCacheNeedsTheRedisStore() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [session]
            store = "memory"
            local_cache = true
            """))
        #expect(problem.key == "session.local_cache")
        #expect(problem.message.contains(#"store = "redis""#))
    }
}
