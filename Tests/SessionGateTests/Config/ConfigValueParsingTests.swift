#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Testing

@testable import SessionGate

@Suite("ConfigDuration")
struct ConfigDurationTests {
    @Test(arguments: [
        ("500ms", TimeAmount.milliseconds(500)), ("30s", .seconds(30)), ("30m", .minutes(30)), ("24h", .hours(24)),
        ("7d", .hours(168)), ("1h30m", .minutes(90)), ("1m30s500ms", .milliseconds(90_500)), ("0s", .zero),
        ("007s", .seconds(7)),
    ])
    func parses(text: String, expected: TimeAmount) {
        #expect(ConfigDuration.parse(text) == expected)
    }

    @Test(arguments: [
        "", "30", "s", "30 minutes", "30minutes", "30sec", "1.5h", "-5s", "+5s", " 30s", "30s ", "30S", "1h 30m", "５s",
    ])
    func rejects(text: String) {
        #expect(ConfigDuration.parse(text) == nil)
    }

    @Test func rejectsOverflowInOneTerm() {
        #expect(ConfigDuration.parse("106751d") == .hours(106_751 * 24))
        #expect(ConfigDuration.parse("106752d") == nil)
        #expect(ConfigDuration.parse("9223372036854775808ms") == nil)
        #expect(ConfigDuration.parse("99999999999999999999999s") == nil)
    }

    /// Each term fits in 64 bits but their sum does not: this must be rejected, not trap (a trap would take the
    /// whole proxy, or `sessiongate check`, down on a typo).
    @Test func rejectsOverflowInTheSumOfTerms() async {
        await #expect(processExitsWith: .success) {
            guard ConfigDuration.parse("106751d24h") == nil, ConfigDuration.parse("106751d106751d") == nil else { exit(1) }
        }
    }

    @Test(arguments: [
        (TimeAmount.milliseconds(500), "500ms"), (.seconds(30), "30s"), (.minutes(30), "30m"), (.hours(24), "1d"), (.hours(23), "23h"),
        (.hours(168), "7d"), (.minutes(90), "90m"), (.milliseconds(1500), "1500ms"), (.seconds(3600), "1h"),
    ])
    func formats(amount: TimeAmount, expected: String) {
        #expect(ConfigDuration.format(amount) == expected)
        #expect(ConfigDuration.parse(expected) == amount)
    }
}

@Suite("HostPort")
struct HostPortTests {
    @Test(arguments: [
        ("127.0.0.1:8080", HostPort(host: "127.0.0.1", port: 8080)), ("redis.internal:6379", HostPort(host: "redis.internal", port: 6379)),
        ("[::1]:1", HostPort(host: "::1", port: 1)), ("[2001:db8::1]:65535", HostPort(host: "2001:db8::1", port: 65535)),
    ])
    func parses(text: String, expected: HostPort) throws {
        #expect(try HostPort.parse(text).get() == expected)
        #expect(expected.description == text)
    }

    @Test(arguments: [
        ("localhost", "missing port (expected host:port)"),
        ("[::1]", "missing port (expected [address]:port)"),
        ("[::1:8080", "missing ']' after the IPv6 address"),
        ("::1:8080", "an IPv6 address must be written in brackets: [address]:port"),
        (":8080", "missing host (expected host:port)"),
        ("a host:80", "\"a host\" is not a host name or address"),
        ("h:0", "port \"0\" is not a number from 1 to 65535"),
        ("h:70000", "port \"70000\" is not a number from 1 to 65535"),
        ("h:", "port \"\" is not a number from 1 to 65535"),
        ("h:http", "port \"http\" is not a number from 1 to 65535"),
    ])
    func rejects(text: String, reason: String) {
        switch HostPort.parse(text) {
        case .success(let parsed): Issue.record("\"\(text)\" was accepted as \(parsed)")
        case .failure(let error): #expect(error.description == reason)
        }
    }
}
