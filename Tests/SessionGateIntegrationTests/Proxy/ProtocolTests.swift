import Foundation
import Testing

@testable import SessionGate

/// HTTP details a proxy must get right: `Expect: 100-continue`, HTTP/1.0 clients, the memory store.
@Suite("Proxy protocol details")
struct ProtocolTests {
    @Test func expectContinueIsAnsweredByTheProxyOnceTheRequestMayPass() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login()

        // Head only: the proxy says 100 Continue (the upstream never sees Expect) and waits for the body.
        let waiting = try await TestHTTPClient.sendRaw(
            port: harness.port,
            "POST /app/upload HTTP/1.1\r\nHost: x\r\nX-Session-ID: \(token)\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
            readTimeout: .seconds(10), until: TestHTTPClient.headComplete)
        #expect(waiting.hasPrefix("HTTP/1.1 100 Continue"), "got: \(waiting)")

        // Refused requests get their refusal instead of 100 Continue.
        let refused = try await TestHTTPClient.sendRaw(
            port: harness.port,
            "POST /app/upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
            readTimeout: .seconds(10), until: TestHTTPClient.headComplete)
        #expect(refused.hasPrefix("HTTP/1.1 401"), "got: \(refused)")

        // With the body, the whole exchange completes and the upstream got every byte.
        let complete = try await TestHTTPClient.sendRaw(
            port: harness.port,
            "POST /app/upload HTTP/1.1\r\nHost: x\r\nX-Session-ID: \(token)\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        #expect(complete.contains("HTTP/1.1 200"), "got: \(complete)")
        #expect(complete.contains("\"body_bytes\":5") || complete.contains("\"body_bytes\": 5"), "got: \(complete)")
    }

    @Test func chunkedRequestBodiesArriveWhole() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let answer = try await TestHTTPClient.sendRaw(
            port: harness.port,
            "POST /public/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        #expect(answer.contains("HTTP/1.1 200"), "got: \(answer)")
        #expect(answer.contains("\"body_bytes\":11") || answer.contains("\"body_bytes\": 11"), "got: \(answer)")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login()
        // Four requests in one write: authenticated (answered after a Redis round trip), slow upstream, refused by
        // the proxy itself, and a body-carrying one; each answer must come back in request order.
        let requests = [
            "GET /app/first HTTP/1.1\r\nHost: x\r\nX-Session-ID: \(token)\r\n\r\n",
            "GET /public/slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /nowhere/third HTTP/1.1\r\nHost: x\r\n\r\n",
            "POST /public/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        ]
        let answer = try await TestHTTPClient.sendRaw(port: harness.port, requests.joined())
        // Bodies are not newline-terminated, so status lines are found anywhere, in order.
        let statuses = answer.matches(of: /HTTP\/1\.1 \d{3}/).map { String(answer[$0.range]) }
        #expect(statuses == ["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 200"], "got: \(answer)")
        let first = try #require(answer.range(of: "/app/first"))
        let second = try #require(answer.range(of: "/public/slow"))
        let fourth = try #require(answer.range(of: "\"body_bytes\":5"))
        #expect(first.lowerBound < second.lowerBound && second.lowerBound < fourth.lowerBound, "got: \(answer)")
    }

    @Test func http10ClientsGetAnAnswerAndTheConnectionCloses() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let answer = try await TestHTTPClient.sendRaw(port: harness.port, "GET /public/x HTTP/1.0\r\nHost: x\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.0 200"), "got: \(answer)")
        #expect(answer.contains("\"uri\""))
    }

    @Test func theMemoryStoreAuthenticatesInsideOneProcess() async throws {
        var options = ProxyHarness.Options()
        options.store = "memory"
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let token = try await harness.login(user: "5", name: "eve", roles: ["user"])

        let response = try await harness.get("/app/", headers: [("X-Session-ID", token)])
        #expect(response.status == 200)
        #expect(try response.upstreamHeader("X-User-ID") == ["5"])
        #expect(try harness.redis.command("DBSIZE") == "0", "the memory store must not write to Redis")
        let forged = String(token.dropLast()) + (token.hasSuffix("A") ? "B" : "A")
        #expect(try await harness.get("/app/", headers: [("X-Session-ID", forged)]).status == 401)
    }
}
