import Foundation
import Testing

@testable import SessionGate

/// Framing defects seen end to end, each fixed and kept here so it stays fixed.
@Suite("Proxy: response framing regressions")
struct ResponseFramingIntegrationRegressionTests {
    /// A 70 KiB upstream head is refused with 502 when it arrives at once, but passed on when its last part arrives
    /// in a later read (the limit is only checked on heads that end in the first read).
    @Test func oversizeUpstreamHeadIsABadGatewayHoweverItArrives() async throws {
        var filler = ""
        var index = 0
        while filler.utf8.count < 70 * 1024 {
            filler += "X-Filler-\(index): " + String(repeating: "v", count: 100) + "\r\n"
            index += 1
        }
        let start = "HTTP/1.1 200 OK\r\n" + String(filler.prefix(1000))
        let rest = String(filler.dropFirst(1000)) + "Content-Length: 2\r\n\r\nok"
        let upstream = try await RawUpstream.start([.init(pieces: [start, rest])])
        let harness = try await ResponseFramingTests.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let answer = try await TestHTTPClient.sendRaw(port: harness.port, "GET /public/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 502 "), "got \(answer.utf8.count) bytes: \(answer.prefix(40).debugDescription)")
    }

    /// An upstream that sends stray bytes after a complete response (here "JUNK", in the same write) must not have
    /// its connection reused: the bytes are taken as the start of the next response's head and kept in the parser
    /// while the connection waits in the pool, so the next request on it, a POST that cannot be replayed, fails.
    @Test func strayBytesAfterAResponseDoNotBreakTheNextRequest() async throws {
        let upstream = try await RawUpstream.start([
            .init("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK"),
            .init("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ])
        let harness = try await ResponseFramingTests.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send("GET /public/first HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try await client.waitFor { $0.hasSuffix("ok") }
        #expect(first == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try await client.send("POST /public/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        let both = try await client.waitFor { $0.count > first.count && ($0.hasSuffix("ok") || $0.hasSuffix("}")) }
        #expect(both == first + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "got: \(both.debugDescription)")
    }

    /// A body that runs until the upstream closes can only end with a clean close: when the connection is reset
    /// instead, the body may be cut short, and the client must not be told it is complete (the proxy ends it with
    /// the last chunk all the same).
    @Test func untilCloseBodyEndedByAResetIsNotMadeComplete() async throws {
        var reply = RawUpstream.Reply("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart of a body")
        reply.reset = true
        let upstream = try await RawUpstream.start([reply])
        let harness = try await ResponseFramingTests.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send("GET /public/x HTTP/1.1\r\nHost: x\r\n\r\n")
        _ = try await client.waitFor { $0.contains("part of a body") }
        #expect(await client.waitForClose(), "the client learns of the cut by the close; got \(client.text.debugDescription)")
        #expect(!client.text.hasSuffix("\r\n0\r\n\r\n"), "a cut body made complete: \(client.text.debugDescription)")
    }
}

