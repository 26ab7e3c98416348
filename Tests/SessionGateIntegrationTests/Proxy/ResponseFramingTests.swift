import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import SessionGate

/// Response framing end to end: a raw upstream that answers with canned bytes, the proxy in front of it, and a raw
/// client that checks every byte it receives.
@Suite("Proxy: response framing")
struct ResponseFramingTests {
    /// Starts the proxy with its `app` upstream (and so `/public/`) pointing at `upstream`.
    static func proxy(to upstream: RawUpstream) async throws -> ProxyHarness {
        var options = ProxyHarness.Options()
        options.store = "memory"
        options.appUpstream = """
            servers = ["127.0.0.1:\(upstream.port)"]
            connect_timeout = "1s"
            response_timeout = "5s"
            retries = 0
            max_fails = 0
            """
        return try await ProxyHarness.start(options)
    }

    static let okReply = RawUpstream.Reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    static let okToClient = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    static func get(_ path: String = "/public/x", version: String = "1.1", extra: String = "") -> String {
        "GET \(path) HTTP/\(version)\r\nHost: x\r\n\(extra)\r\n"
    }

    // MARK: - Chunked

    @Test func chunkedBodyReachesAnHTTP11ClientByteForByteAndTheConnectionStaysOpen() async throws {
        let body = "5;ext=1\r\nhello\r\n6\r\n world\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n"
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        let upstream = try await RawUpstream.start([.init(head + body), Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        let first = try await client.waitFor { $0.hasSuffix("\r\n0\r\nX-Trailer: t\r\n\r\n") }
        #expect(first == head + body)

        try await client.send(Self.get("/public/second"))
        let both = try await client.waitFor { $0.count >= (head + body + Self.okToClient).count }
        #expect(both == head + body + Self.okToClient)
        #expect(!client.isClosed)
        #expect(upstream.requests.count == 2)
        #expect(upstream.connectionsAccepted == 1, "the upstream connection is kept alive too")
    }

    @Test func chunkedBodyArrivingInPiecesStillEndsInTime() async throws {
        // The upstream's body arrives in several writes, split inside sizes, data and CRLFs.
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let body = "a\r\n0123456789\r\n3\r\nxyz\r\n0\r\n\r\n"
        let pieces = [head + "a", "\r", "\n01234", "56789\r", "\n3\r\nxyz\r\n0", "\r\n", "\r\n"]
        let upstream = try await RawUpstream.start([.init(pieces: pieces), Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        let first = try await client.waitFor { $0.hasSuffix("\r\n0\r\n\r\n") }
        #expect(first == head + body)
        try await client.send(Self.get())
        let both = try await client.waitFor { $0.hasSuffix("ok") }
        #expect(both == head + body + Self.okToClient)
    }

    @Test func chunkedBodyIsDechunkedForAnHTTP10ClientAndTheConnectionCloses() async throws {
        let reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
            + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        let upstream = try await RawUpstream.start([.init(reply)])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        for extra in ["", "Connection: keep-alive\r\n"] {
            let client = try await RawClient.connect(port: harness.port)
            defer { client.close() }
            try await client.send(Self.get(version: "1.0", extra: extra))
            #expect(await client.waitForClose(), "the end of the body is the close")
            #expect(client.text == "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello world")
        }
    }

    // MARK: - Until close

    @Test func bodyUntilCloseIsRechunkedForAnHTTP11ClientThatKeepsItsConnection() async throws {
        let upstream = try await RawUpstream.start([
            .init(pieces: ["HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nstreamed ", "until ", "close"], close: true),
            Self.okReply,
        ])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        let first = try await client.waitFor { $0.hasSuffix("\r\n0\r\n\r\n") }
        let (head, rest) = try #require(splitHead(first))
        #expect(head == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
        let decoded = try #require(decodeChunked(Array(rest.utf8)))
        #expect(String(decoding: decoded.data, as: UTF8.self) == "streamed until close")
        #expect(decoded.consumed == rest.utf8.count)

        try await client.send(Self.get("/public/second"))
        let both = try await client.waitFor { $0.hasSuffix("ok") }
        #expect(both == first + Self.okToClient)
        #expect(!client.isClosed)
        #expect(upstream.connectionsAccepted == 2)
    }

    @Test func bodyUntilCloseReachesAnHTTP10ClientAsIsAndCloses() async throws {
        let upstream = try await RawUpstream.start([.init("HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil the close", close: true)])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get(version: "1.0", extra: "Connection: keep-alive\r\n"))
        #expect(await client.waitForClose())
        #expect(client.text == "HTTP/1.0 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\nuntil the close")
    }

    // MARK: - No body

    @Test func responseToHEADWithContentLengthHasNoBodyAndTheConnectionGoesOn() async throws {
        let headReply = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/html\r\n\r\n"
        let upstream = try await RawUpstream.start([.init(headReply), Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send("HEAD /public/x HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = try await client.waitFor { $0.hasSuffix("\r\n\r\n") }
        #expect(first == headReply)

        try await client.send(Self.get())
        let both = try await client.waitFor { $0.hasSuffix("ok") }
        #expect(both == headReply + Self.okToClient)
        #expect(!client.isClosed)
        #expect(upstream.connectionsAccepted == 1)
        #expect(upstream.requests.first?.hasPrefix("HEAD /public/x HTTP/1.1\r\n") == true)
    }

    @Test func noContentAndNotModifiedEndAtTheirHeads() async throws {
        let noContent = "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
        let notModified = "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 1234\r\n\r\n"
        let upstream = try await RawUpstream.start([.init(noContent), .init(notModified), Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get("/public/a"))
        #expect(try await client.waitFor { $0.hasSuffix("\r\n\r\n") } == noContent)
        try await client.send(Self.get("/public/b", extra: "If-None-Match: \"v1\"\r\n"))
        #expect(try await client.waitFor { $0.count > noContent.count && $0.hasSuffix("\r\n\r\n") } == noContent + notModified)
        try await client.send(Self.get("/public/c"))
        #expect(try await client.waitFor { $0.hasSuffix("ok") } == noContent + notModified + Self.okToClient)
        #expect(upstream.connectionsAccepted == 1)
    }

    // MARK: - Interim responses

    @Test func earlyHintsThenTheFinalResponseReachAnHTTP11ClientInOrder() async throws {
        let hints = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        let upstream = try await RawUpstream.start([.init(pieces: [hints, Self.okReply.pieces[0]]), Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        #expect(try await client.waitFor { $0.hasSuffix("ok") } == hints + Self.okToClient)
        try await client.send(Self.get())
        #expect(try await client.waitFor { $0.count > (hints + Self.okToClient).count && $0.hasSuffix("ok") }
            == hints + Self.okToClient + Self.okToClient)
    }

    @Test func earlyHintsAreNotSentToAnHTTP10Client() async throws {
        let hints = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        let upstream = try await RawUpstream.start([.init(hints + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get(version: "1.0"))
        #expect(await client.waitForClose())
        #expect(client.text == "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    }

    @Test func switchingProtocolsUnaskedIsABadGateway() async throws {
        let upstream = try await RawUpstream.start([.init("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let answer = try await TestHTTPClient.sendRaw(port: harness.port, Self.get(extra: "Connection: close\r\n"))
        #expect(answer.hasPrefix("HTTP/1.1 502 "), "got: \(answer)")
        #expect(answer.contains("\"error\":\"bad_gateway\""), "got: \(answer)")
    }

    // MARK: - Broken upstreams

    @Test func malformedUpstreamHeadIsABadGatewayInJSON() async throws {
        let upstream = try await RawUpstream.start([.init("HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        let answer = try await client.waitFor { text in
            guard let (head, body) = splitHead(text) else { return false }
            return body.hasSuffix("}") && head.contains("Content-Length")
        }
        let (head, body) = try #require(splitHead(answer))
        #expect(head.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "got: \(answer)")
        #expect(head.contains("Content-Type: application/json\r\n"))
        #expect(head.contains("Content-Length: \(body.utf8.count)\r\n"))
        #expect(head.contains("X-Request-ID: "))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(json["error"] as? String == "bad_gateway")
        #expect(json["message"] as? String == "the upstream server sent an invalid response")
        #expect(!answer.contains("Bad Header"), "nothing of the broken head reaches the client")
    }

    @Test func otherMalformedHeadsAreBadGatewaysToo() async throws {
        for reply in [
            "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-Ctl: a\u{1}b\r\nContent-Length: 0\r\n\r\n",
            "NONSENSE\r\n\r\n",
        ] {
            let upstream = try await RawUpstream.start([.init(reply)])
            let harness = try await Self.proxy(to: upstream)
            let answer = try await TestHTTPClient.sendRaw(port: harness.port, Self.get(extra: "Connection: close\r\n"))
            #expect(answer.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "for \(reply.debugDescription) got: \(answer)")
            #expect(answer.contains("\"error\":\"bad_gateway\""))
            await harness.stop()
            await upstream.stop()
        }
    }

    @Test func bodyCutShortClosesTheClientConnection() async throws {
        let upstream = try await RawUpstream.start([.init("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close: true)])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        #expect(await client.waitForClose(), "only the close tells the client the response is incomplete")
        #expect(client.text == "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    }

    @Test func chunkedBodyCutShortClosesTheClientConnection() async throws {
        let upstream = try await RawUpstream.start([
            .init("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nab", close: true)
        ])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        #expect(await client.waitForClose())
        #expect(!client.text.hasSuffix("0\r\n\r\n"), "no last chunk is made up")
        #expect(client.text.hasPrefix("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"))
    }

    @Test func badChunkMidBodyClosesTheClientConnection() async throws {
        let upstream = try await RawUpstream.start([
            .init("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
        ])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send(Self.get())
        #expect(await client.waitForClose())
        #expect(!client.text.contains("zz"), "the bad framing is not passed on: got \(client.text.debugDescription)")
    }

    // MARK: - Request bodies

    @Test func chunkedRequestBodyArrivesWithCorrectChunkFraming() async throws {
        let upstream = try await RawUpstream.start([Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send("POST /public/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n")
        try await Task.sleep(for: .milliseconds(50))
        try await client.send("6\r\n world\r\n")
        try await Task.sleep(for: .milliseconds(50))
        try await client.send("0\r\n\r\n")
        #expect(try await client.waitFor { $0.hasSuffix("ok") } == Self.okToClient)

        let request = try #require(upstream.requests.first)
        let (head, body) = try #require(splitHead(request))
        let headerNames = head.split(separator: "\r\n").dropFirst().map { $0.split(separator: ":")[0].lowercased() }
        #expect(head.hasPrefix("POST /public/upload HTTP/1.1\r\n"))
        #expect(head.lowercased().contains("\r\ntransfer-encoding: chunked\r\n"), "got: \(head)")
        #expect(headerNames.filter { $0 == "transfer-encoding" }.count == 1)
        #expect(!headerNames.contains("content-length"))
        let decoded = try #require(decodeChunked(Array(body.utf8)), "not valid chunked framing: \(body.debugDescription)")
        #expect(String(decoding: decoded.data, as: UTF8.self) == "hello world")
        #expect(decoded.consumed == body.utf8.count, "nothing after the last chunk")
        #expect(decoded.sizes.allSatisfy { $0 > 0 }, "no empty chunk before the last one")
        #expect(body.hasSuffix("\r\n0\r\n\r\n"))
    }

    /// A request whose body came in the same read as its head leaves in one write, head and body together: the
    /// upstream reads it at once rather than being woken for the head alone.
    @Test func requestBodyReadWithItsHeadReachesTheUpstreamWithIt() async throws {
        let upstream = try await RawUpstream.start([Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        let body = String(repeating: "b", count: 300)
        for n in 1...5 {
            try await client.send("POST /public/form HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n\(body)")
            #expect(try await client.waitFor { $0.components(separatedBy: "\r\n\r\nok").count - 1 == n }.hasSuffix("ok"))
        }
        #expect(upstream.requests.count == 5)
        #expect(upstream.requests.allSatisfy { $0.hasSuffix("\r\n\r\n" + body) })
        #expect(upstream.requestReads == [1, 1, 1, 1, 1], "each request arrived in one read")
    }

    @Test func badChunkInARequestBodyClosesBothConnectionsAndNothingCompleteIsForwarded() async throws {
        let upstream = try await RawUpstream.start([Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let client = try await RawClient.connect(port: harness.port)
        defer { client.close() }
        try await client.send("POST /public/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        try await Task.sleep(for: .milliseconds(50))
        try await client.send("zz\r\nsmuggled\r\n0\r\n\r\n")
        #expect(await client.waitForClose(), "a request body with broken chunk framing ends the connection")
        #expect(!client.text.contains("HTTP/1.1 200"), "no answer is made up: got \(client.text.debugDescription)")
        #expect(upstream.requests.isEmpty, "the upstream never received a complete request")
    }

    @Test func chunkedRequestBodyKeepsItsTrailers() async throws {
        let upstream = try await RawUpstream.start([Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let answer = try await TestHTTPClient.sendRaw(
            port: harness.port,
            "POST /public/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "3\r\nabc\r\n0\r\nX-Checksum: 42\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "got: \(answer)")
        let request = try #require(upstream.requests.first)
        let (_, body) = try #require(splitHead(request))
        let decoded = try #require(decodeChunked(Array(body.utf8)), "got: \(body.debugDescription)")
        #expect(String(decoding: decoded.data, as: UTF8.self) == "abc")
        #expect(decoded.trailers.lowercased() == "x-checksum: 42\r\n")
    }

    @Test func contentLengthRequestBodyIsSentAsIs() async throws {
        let upstream = try await RawUpstream.start([Self.okReply])
        let harness = try await Self.proxy(to: upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let answer = try await TestHTTPClient.sendRaw(
            port: harness.port,
            "POST /public/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "got: \(answer)")
        let request = try #require(upstream.requests.first)
        let (head, body) = try #require(splitHead(request))
        #expect(head.lowercased().contains("\r\ncontent-length: 11\r\n"))
        #expect(!head.lowercased().contains("transfer-encoding"))
        #expect(body == "hello world")
    }
}

// MARK: - Helpers

/// The head (through its blank line) and what follows, or nil if the head is not complete.
fileprivate func splitHead(_ text: String) -> (String, String)? {
    guard let end = text.range(of: "\r\n\r\n") else { return nil }
    return (String(text[..<end.upperBound]), String(text[end.upperBound...]))
}

/// Decodes a chunked body strictly; nil if it is malformed or not complete.
fileprivate func decodeChunked(_ bytes: [UInt8]) -> (data: [UInt8], sizes: [Int], trailers: String, consumed: Int)? {
    var i = 0
    var data: [UInt8] = []
    var sizes: [Int] = []
    func line() -> String? {
        var j = i
        while j + 1 < bytes.count {
            if bytes[j] == 13 && bytes[j + 1] == 10 {
                let text = String(decoding: bytes[i..<j], as: UTF8.self)
                i = j + 2
                return text
            }
            j += 1
        }
        return nil
    }
    while true {
        guard let sizeLine = line() else { return nil }
        let digits = sizeLine.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
            .trimmingCharacters(in: .whitespaces)
        guard !digits.isEmpty, let size = Int(digits, radix: 16) else { return nil }
        if size == 0 { break }
        sizes.append(size)
        guard i + size + 2 <= bytes.count, bytes[i + size] == 13, bytes[i + size + 1] == 10 else { return nil }
        data += bytes[i..<i + size]
        i += size + 2
    }
    var trailers = ""
    while true {
        guard let trailer = line() else { return nil }
        if trailer.isEmpty { break }
        trailers += trailer + "\r\n"
    }
    return (data, sizes, trailers, i)
}

/// A raw HTTP upstream: reads each request (its head, and a body framed by `Content-Length` or chunks), records its
/// bytes, and answers with the next canned reply, written as given; replies past the last repeat the last.
final class RawUpstream: Sendable {
    struct Reply: Sendable {
        /// Written one after another, each flushed on its own.
        var pieces: [String]
        /// Close the connection after writing.
        var close: Bool
        /// Instead: reset the connection (SO_LINGER 0) a moment after writing.
        var reset = false

        init(_ bytes: String, close: Bool = false) {
            self.pieces = [bytes]
            self.close = close
        }

        init(pieces: [String], close: Bool = false) {
            self.pieces = pieces
            self.close = close
        }
    }

    struct State {
        var replies: [Reply]
        var requests: [String] = []
        /// For each request, how many reads its bytes took to arrive.
        var requestReads: [Int] = []
        var connectionsAccepted = 0
        var children: [any Channel] = []
    }

    let port: Int
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>

    private init(port: Int, channel: any Channel, state: NIOLockedValueBox<State>) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    var requests: [String] { state.withLockedValue { $0.requests } }
    var requestReads: [Int] { state.withLockedValue { $0.requestReads } }
    var connectionsAccepted: Int { state.withLockedValue { $0.connectionsAccepted } }

    static func start(_ replies: [Reply]) async throws -> RawUpstream {
        let state = NIOLockedValueBox(State(replies: replies))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.withLockedValue {
                    $0.connectionsAccepted += 1
                    $0.children.append(channel)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return RawUpstream(port: channel.localAddress!.port!, channel: channel, state: state)
    }

    func stop() async {
        let children = state.withLockedValue { $0.children }
        for child in children { try? await child.close() }
        try? await channel.close()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let state: NIOLockedValueBox<State>
        var received: [UInt8] = []
        /// Reads that brought bytes of the request being received.
        var reads = 0
        var closing = false

        init(state: NIOLockedValueBox<State>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received += buffer.readableBytesView
            reads += 1
            while !closing, let length = Self.requestLength(received) {
                let request = String(decoding: received[..<length], as: UTF8.self)
                received.removeFirst(length)
                let requestReads = reads
                reads = received.isEmpty ? 0 : 1
                let reply = state.withLockedValue { state -> Reply in
                    let index = state.requests.count
                    state.requests.append(request)
                    state.requestReads.append(requestReads)
                    return state.replies[min(index, state.replies.count - 1)]
                }
                for piece in reply.pieces {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: piece)), promise: nil)
                }
                if reply.reset {
                    closing = true
                    let channel = context.channel
                    context.eventLoop.scheduleTask(in: .milliseconds(100)) {
                        guard let provider = channel as? any SocketOptionProvider else {
                            channel.close(promise: nil)
                            return
                        }
                        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
                            channel.close(promise: nil)
                        }
                    }
                } else if reply.close {
                    closing = true
                    let channel = context.channel
                    // Let the pieces leave before closing.
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        /// The length of the complete request at the start of `bytes`, or nil.
        static func requestLength(_ bytes: [UInt8]) -> Int? {
            let text = String(decoding: bytes, as: UTF8.self)
            guard bytes.count == text.utf8.count, let (head, _) = splitHead(text) else {
                guard let end = findBlankLine(bytes) else { return nil }
                return end  // not text: answer after the head
            }
            let headLength = head.utf8.count
            let lines = head.lowercased().split(separator: "\r\n")
            if lines.contains(where: { $0.hasPrefix("transfer-encoding:") && $0.contains("chunked") }) {
                guard let body = decodeChunked(Array(bytes[headLength...])) else { return nil }
                return headLength + body.consumed
            }
            if let line = lines.first(where: { $0.hasPrefix("content-length:") }),
                let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
            {
                return bytes.count >= headLength + length ? headLength + length : nil
            }
            return headLength
        }

        static func findBlankLine(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for i in 0...(bytes.count - 4) where bytes[i..<i + 4] == [13, 10, 13, 10] { return i + 4 }
            return nil
        }
    }
}

/// A raw client connection: sends bytes and collects every byte it receives, for waiting on.
final class RawClient: Sendable {
    struct Received {
        var bytes: [UInt8] = []
        var closed = false
    }

    private let channel: any Channel
    private let received: NIOLockedValueBox<Received>

    private init(channel: any Channel, received: NIOLockedValueBox<Received>) {
        self.channel = channel
        self.received = received
    }

    static func connect(port: Int) async throws -> RawClient {
        let received = NIOLockedValueBox(Received())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawClient(channel: channel, received: received)
    }

    var text: String { received.withLockedValue { String(decoding: $0.bytes, as: UTF8.self) } }
    var isClosed: Bool { received.withLockedValue { $0.closed } }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// Everything received so far, once `done` holds for it. Returns as soon as it does; the timeout only bounds a
    /// failure, and is as generous as ``waitForClose(timeout:)``'s: 5 s once ran out during a full parallel test run
    /// in which tests that take milliseconds took over 7 s.
    func waitFor(timeout: Duration = .seconds(10), _ done: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = self.text
            if done(text) {
                // A moment more: anything that should not have come would come now.
                try await Task.sleep(for: .milliseconds(50))
                return self.text
            }
            if isClosed {
                Issue.record("the connection closed; received \(text.debugDescription)")
                return text
            }
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out; received \(text.debugDescription)")
                return text
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// True once the server closed the connection, false if it did not within `timeout`.
    /// Returns as soon as the connection closes; the timeout only bounds a failure (a loaded machine can stall a
    /// test for seconds, so it is generous).
    func waitForClose(timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isClosed {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    func close() { channel.close(promise: nil) }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        let received: NIOLockedValueBox<Received>

        init(received: NIOLockedValueBox<Received>) { self.received = received }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLockedValue { $0.bytes += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            received.withLockedValue { $0.closed = true }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension RawUpstream.Handler: Sendable {}

@available(*, unavailable)
extension RawClient.Collector: Sendable {}
