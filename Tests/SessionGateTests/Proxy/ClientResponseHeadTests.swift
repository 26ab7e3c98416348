import NIOCore
import Testing

@testable import SessionGate

/// The head a client receives, written as bytes from the upstream's head, and the plan that frames its body.
@Suite("ClientResponseHead")
struct ClientResponseHeadTests {
    typealias Parser = UpstreamResponseParser

    /// The upstream head as the parser reports it.
    static func upstreamHead(_ text: String, toHEAD: Bool = false) throws -> Parser.Head {
        var parser = Parser()
        parser.expectResponse(toHEAD: toHEAD)
        var buffer = ByteBuffer(string: text)
        guard case .head(let head)? = try parser.next(&buffer) else {
            throw ParserGaveNoHead()
        }
        return head
    }

    struct ParserGaveNoHead: Error {}

    /// What the client receives for `text`, with the plan the proxy makes for it.
    static func clientHead(
        _ text: String, clientMinorVersion: Int = 1, clientKeepAlive: Bool = true, toHEAD: Bool = false
    ) throws -> (String, ClientResponsePlan) {
        let head = try upstreamHead(text, toHEAD: toHEAD)
        let plan = ClientResponsePlan(
            upstream: head.framing, clientMinorVersion: clientMinorVersion, clientKeepAlive: clientKeepAlive)
        var out = ByteBuffer()
        ClientResponseHead.write(head, plan: plan, clientMinorVersion: clientMinorVersion, into: &out)
        return (String(buffer: out), plan)
    }

    // MARK: - Headers

    @Test func hopByHopHeadersAreStrippedAndTheRestKeptByteForByte() throws {
        let upstream = "HTTP/1.1 201 Created\r\n"
            + "Connection: keep-alive, X-Internal\r\n"
            + "Keep-Alive: timeout=5\r\n"
            + "X-Internal: secret\r\n"
            + "Upgrade: h2c\r\n"
            + "TE: trailers\r\n"
            + "Proxy-Connection: keep-alive\r\n"
            + "Content-Type: application/json\r\n"
            + "Set-Cookie: a=1; Path=/; HttpOnly\r\n"
            + "x-custom:   spaced  value \t\r\n"
            + "Set-Cookie: b=2\r\n"
            + "Content-Length: 2\r\n"
            + "\r\n"
        let (client, plan) = try Self.clientHead(upstream)
        #expect(plan == ClientResponsePlan(keepAlive: true, framing: .passThrough))
        #expect(client == "HTTP/1.1 201 Created\r\n"
            + "Content-Type: application/json\r\n"
            + "Set-Cookie: a=1; Path=/; HttpOnly\r\n"
            + "x-custom:   spaced  value \t\r\n"
            + "Set-Cookie: b=2\r\n"
            + "Content-Length: 2\r\n"
            + "\r\n")
    }

    @Test func hopByHopNamesMatchInAnyCase() throws {
        let upstream = "HTTP/1.1 200 OK\r\nCONNECTION: Keep-Alive\r\nkeep-alive: max=5\r\nupgrade: x\r\nte: y\r\n"
            + "PROXY-CONNECTION: z\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"
        let (client, _) = try Self.clientHead(upstream)
        #expect(client == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func headersNamedInConnectionAreDropped() throws {
        let upstream = "HTTP/1.1 200 OK\r\n"
            + "X-Before: 1\r\n"
            + "Connection: keep-alive, X-Internal\r\n"
            + "connection: x-other , \r\n"
            + "x-internal: a\r\n"
            + "X-Internal-Not: kept\r\n"
            + "X-OTHER: b\r\n"
            + "X-Internal: c\r\n"
            + "Content-Length: 0\r\n"
            + "\r\n"
        let (client, _) = try Self.clientHead(upstream)
        #expect(client == "HTTP/1.1 200 OK\r\nX-Before: 1\r\nX-Internal-Not: kept\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func repeatedHeadersKeepTheirOrder() throws {
        let cookies = (1...5).map { "Set-Cookie: c\($0)=v\($0); Path=/\r\n" }
        let upstream = "HTTP/1.1 200 OK\r\n" + cookies[0] + "Vary: Accept\r\n" + cookies[1...].joined()
            + "Vary: Cookie\r\nContent-Length: 0\r\n\r\n"
        let (client, _) = try Self.clientHead(upstream)
        #expect(client == upstream)
    }

    // MARK: - Status line

    @Test func statusLineTakesTheClientsVersionAndKeepsTheReason() throws {
        let (toHTTP11, _) = try Self.clientHead("HTTP/1.0 404 Not Found Here\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
        #expect(toHTTP11.hasPrefix("HTTP/1.1 404 Not Found Here\r\n"))

        let (toHTTP10, _) = try Self.clientHead(
            "HTTP/1.1 299 Whatever You Like\r\nContent-Length: 0\r\n\r\n", clientMinorVersion: 0, clientKeepAlive: false)
        #expect(toHTTP10 == "HTTP/1.0 299 Whatever You Like\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        let (noReason, _) = try Self.clientHead("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
        #expect(noReason == "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")

        let (emptyReason, _) = try Self.clientHead("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n")
        #expect(emptyReason == "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n")
    }

    // MARK: - Connection

    @Test func connectionHeaderSaysHowTheClientConnectionEnds() throws {
        let upstream = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

        let (closing, closingPlan) = try Self.clientHead(upstream, clientKeepAlive: false)
        #expect(!closingPlan.keepAlive)
        #expect(closing == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        // The upstream closing its own connection says nothing about the client's.
        let (keptAlive, keptPlan) = try Self.clientHead(upstream, clientKeepAlive: true)
        #expect(keptPlan.keepAlive)
        #expect(keptAlive == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

        let (http10, http10Plan) = try Self.clientHead(upstream, clientMinorVersion: 0, clientKeepAlive: true)
        #expect(http10Plan.keepAlive)
        #expect(http10 == "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")

        let (http10Closing, _) = try Self.clientHead(upstream, clientMinorVersion: 0, clientKeepAlive: false)
        #expect(http10Closing == "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test func informationalHeadsSayNothingAboutTheConnection() throws {
        let head = try Self.upstreamHead("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: close\r\n\r\n")
        for keepAlive in [true, false] {
            var out = ByteBuffer()
            ClientResponseHead.write(
                head, plan: ClientResponsePlan(keepAlive: keepAlive, framing: .passThrough), clientMinorVersion: 1, into: &out)
            #expect(String(buffer: out) == "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        }
    }

    // MARK: - Body framing

    @Test func chunkedPassesThroughToHTTP11WithItsTransferEncoding() throws {
        let upstream = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        let (client, plan) = try Self.clientHead(upstream)
        #expect(plan == ClientResponsePlan(keepAlive: true, framing: .passThrough))
        #expect(client == upstream)
    }

    @Test func chunkedWithContentLengthLosesTheContentLength() throws {
        let upstream = "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
        let (client, plan) = try Self.clientHead(upstream)
        #expect(plan.framing == .passThrough)
        #expect(client == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n")
    }

    @Test func chunkedToHTTP10IsDechunkedAndCloses() throws {
        let upstream = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\nX-A: 1\r\n\r\n"
        let (client, plan) = try Self.clientHead(upstream, clientMinorVersion: 0, clientKeepAlive: true)
        #expect(plan == ClientResponsePlan(keepAlive: false, framing: .dechunk))
        #expect(client == "HTTP/1.0 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\n")
    }

    @Test func untilCloseToHTTP11IsRechunked() throws {
        let upstream = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
        let (client, plan) = try Self.clientHead(upstream)
        #expect(plan == ClientResponsePlan(keepAlive: true, framing: .rechunk))
        #expect(client == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")

        let (closing, closingPlan) = try Self.clientHead(upstream, clientKeepAlive: false)
        #expect(closingPlan == ClientResponsePlan(keepAlive: false, framing: .rechunk))
        #expect(closing == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    }

    @Test func untilCloseToHTTP10PassesThroughAndCloses() throws {
        let upstream = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
        let (client, plan) = try Self.clientHead(upstream, clientMinorVersion: 0, clientKeepAlive: true)
        #expect(plan == ClientResponsePlan(keepAlive: false, framing: .passThrough))
        #expect(client == "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    }

    @Test func responseToHEADKeepsItsFramingHeadersAsInformation() throws {
        let (client, plan) = try Self.clientHead("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", toHEAD: true)
        #expect(plan == ClientResponsePlan(keepAlive: true, framing: .passThrough))
        #expect(client == "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    }

    @Test func noBodyResponsesPassThrough() throws {
        let (notModified, plan) = try Self.clientHead("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 7\r\n\r\n")
        #expect(plan == ClientResponsePlan(keepAlive: true, framing: .passThrough))
        #expect(notModified == "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 7\r\n\r\n")
        let (noContent, _) = try Self.clientHead("HTTP/1.1 204 No Content\r\n\r\n", clientMinorVersion: 0, clientKeepAlive: true)
        #expect(noContent == "HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\n")
    }

    // MARK: - The two ways of copying

    /// Heads of every shape the fast copy takes (and some it must leave to the line-by-line one).
    static let variedHeads: [(head: String, fast: Bool)] = [
        ("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\n\r\n", true),
        ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", true),
        ("HTTP/1.1 404 Not Found\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nTE: trailers\r\nX-B: 2\r\n"
            + "Content-Length: 2\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\nexpect: x\r\nPROXY-CONNECTION: y\r\nDate: z\r\nContent-Length: 2\r\n\r\n", true),
        // Five lines to drop: more than the inline record holds.
        ("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: a\r\nUpgrade: b\r\nTE: c\r\nExpect: d\r\n"
            + "Content-Length: 2\r\n\r\n", false),
        ("HTTP/1.1 200 OK\nX-A: 1\nContent-Length: 2\n\n", false),
        ("HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\n", false),
        ("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\n", false),
        ("HTTP/1.1 200 OK\r\nConnection: X-A\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n", false),
    ]

    @Test(arguments: variedHeads)
    func copyingInRunsGivesWhatCopyingLineByLineGives(upstream: String, fast: Bool) throws {
        for toHEAD in [false, true] {
            let head = try Self.upstreamHead(upstream, toHEAD: toHEAD)
            #expect((head.lineSkips.isUsable && !head.hasConnectionOptions) == fast, "copied in runs: \(fast)")
            for (minor, keepAlive) in [(1, true), (1, false), (0, true), (0, false)] {
                let plan = ClientResponsePlan(upstream: head.framing, clientMinorVersion: minor, clientKeepAlive: keepAlive)
                var lineByLine = ByteBuffer()
                ClientResponseHead.writeLineByLine(head, plan: plan, clientMinorVersion: minor, into: &lineByLine)
                var chosen = ByteBuffer()
                ClientResponseHead.write(head, plan: plan, clientMinorVersion: minor, into: &chosen)
                #expect(String(buffer: chosen) == String(buffer: lineByLine), "HEAD \(toHEAD), HTTP/1.\(minor)")
                if fast {
                    var inRuns = ByteBuffer()
                    ClientResponseHead.writeInRuns(head, plan: plan, clientMinorVersion: minor, into: &inRuns)
                    #expect(String(buffer: inRuns) == String(buffer: lineByLine), "HEAD \(toHEAD), HTTP/1.\(minor)")
                }
            }
        }
    }

    // MARK: - Plans

    @Test func plansForEveryFramingAndClient() {
        typealias Plan = ClientResponsePlan
        let cases: [(Parser.Framing, Int, Bool, Plan)] = [
            (.none, 1, true, Plan(keepAlive: true, framing: .passThrough)),
            (.none, 1, false, Plan(keepAlive: false, framing: .passThrough)),
            (.none, 0, true, Plan(keepAlive: true, framing: .passThrough)),
            (.length(5), 1, true, Plan(keepAlive: true, framing: .passThrough)),
            (.length(5), 0, true, Plan(keepAlive: true, framing: .passThrough)),
            (.length(5), 0, false, Plan(keepAlive: false, framing: .passThrough)),
            (.chunked, 1, true, Plan(keepAlive: true, framing: .passThrough)),
            (.chunked, 1, false, Plan(keepAlive: false, framing: .passThrough)),
            (.chunked, 0, true, Plan(keepAlive: false, framing: .dechunk)),
            (.chunked, 0, false, Plan(keepAlive: false, framing: .dechunk)),
            (.untilClose, 1, true, Plan(keepAlive: true, framing: .rechunk)),
            (.untilClose, 1, false, Plan(keepAlive: false, framing: .rechunk)),
            (.untilClose, 0, true, Plan(keepAlive: false, framing: .passThrough)),
            (.untilClose, 0, false, Plan(keepAlive: false, framing: .passThrough)),
        ]
        for (framing, minor, keepAlive, expected) in cases {
            let plan = Plan(upstream: framing, clientMinorVersion: minor, clientKeepAlive: keepAlive)
            #expect(plan == expected, "\(framing), HTTP/1.\(minor), keep-alive \(keepAlive)")
        }
    }
}
