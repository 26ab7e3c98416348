import Testing

@testable import SessionGate

/// `[[upstream]] max_idle`: how many idle keep-alive connections are kept per server and thread.
@Suite("Config upstream keep-alive")
struct ConfigUpstreamKeepAliveTests {
    @Test func maxIdleDefaultsTo1024AndParses() throws {
        #expect(try ConfigLoader.parse(ConfigFixture.tail).upstreams[0].maxIdle == 1024)
        let text = "[[upstream]]\nname = \"app\"\nservers = [\"127.0.0.1:9001\"]\nmax_idle = 0\n\n[[route]]\npath = \"/\"\nupstream = \"app\""
        #expect(try ConfigLoader.parse(text).upstreams[0].maxIdle == 0)
    }

    @Test(arguments: ["-1", "100001", "\"many\""])
    func maxIdleOutOfRangeNamesTheKeyAndLine(value: String) throws {
        let text = "[[upstream]]\nname = \"app\"\nservers = [\"127.0.0.1:9001\"]\nmax_idle = \(value)\n\n[[route]]\npath = \"/\"\nupstream = \"app\""
        let problem = try ConfigFixture.onlyProblem(in: text)
        #expect(problem.key == "upstream[0].max_idle")
        #expect(problem.line == 4)
        #expect(problem.message.contains("0 to 100000"))
    }
}
