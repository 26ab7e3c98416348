import NIOCore
import NIOHTTP1
import Testing

@testable import SessionGate

/// The client leg's request framing, fed bytes directly: heads, bodies passed through as read, and every head the
/// proxy must refuse rather than guess at (request smuggling).
@Suite("ClientRequestParser")
struct ClientRequestParserTests {
    /// What the parser produced, in a form easy to compare.
    enum Seen: Equatable {
        case head(method: String, uri: String, minor: Int)
        case body(String)
        case end
    }

    /// Feeds `reads` one after another and collects the events (bodies joined per run of `.body`).
    static func events(_ reads: [String]) throws -> (seen: [Seen], heads: [RequestHead]) {
        var parser = ClientRequestParser()
        var seen: [Seen] = []
        var heads: [RequestHead] = []
        for read in reads {
            var buffer = ByteBuffer(string: read)
            while let event = try parser.next(&buffer) {
                switch event {
                case .head(let head):
                    heads.append(head)
                    seen.append(.head(method: head.method.rawValue, uri: head.uri, minor: head.version.minor))
                case .body(let bytes):
                    if case .body(let earlier)? = seen.last {
                        seen[seen.count - 1] = .body(earlier + String(buffer: bytes))
                    } else {
                        seen.append(.body(String(buffer: bytes)))
                    }
                case .end:
                    seen.append(.end)
                }
            }
        }
        return (seen, heads)
    }

    static func head(_ text: String) throws -> RequestHead {
        try ClientRequestParser.parseHead(ByteBuffer(string: text))
    }

    static func error(_ text: String) -> ClientRequestParser.ParseError? {
        do {
            _ = try events([text])
            return nil
        } catch let error as ClientRequestParser.ParseError {
            return error
        } catch {
            return nil
        }
    }

    // MARK: - Framing

    @Test func aBodilessRequestIsAHeadThenTheEnd() throws {
        let (seen, heads) = try Self.events(["GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"])
        #expect(seen == [.head(method: "GET", uri: "/a?b=1", minor: 1), .end])
        #expect(heads[0].keepAlive)
        #expect(!heads[0].hasBody)
        #expect(heads[0].firstValue(named: "accept") == "*/*")
    }

    @Test func pipelinedRequestsInOneReadComeOutInOrder() throws {
        let (seen, _) = try Self.events([
            "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcDELETE /3 HTTP/1.1\r\nHost: x\r\n\r\n"
        ])
        #expect(seen == [
            .head(method: "GET", uri: "/1", minor: 1), .end, .head(method: "POST", uri: "/2", minor: 1), .body("abc"), .end,
            .head(method: "DELETE", uri: "/3", minor: 1), .end,
        ])
    }

    /// A head still held when the next one is parsed (pipelining) keeps its own fields, and so does every head after
    /// it, with more or fewer fields than before.
    @Test func aHeadKeepsItsFieldsWhileLaterHeadsAreParsed() throws {
        var parser = ClientRequestParser()
        var heads: [RequestHead] = []
        let requests = [
            "GET /1 HTTP/1.1\r\nHost: one\r\nX-A: 1\r\nX-B: 2\r\n\r\n",
            "GET /2 HTTP/1.1\r\nHost: two\r\n\r\n",
            "GET /3 HTTP/1.1\r\nHost: three\r\n" + (0..<40).map { "X-\($0): \($0)\r\n" }.joined() + "\r\n",
            "GET /4 HTTP/1.1\r\nHost: four\r\nX-A: 4\r\n\r\n",
        ]
        for request in requests {
            var buffer = ByteBuffer(string: request)
            while let event = try parser.next(&buffer) {
                if case .head(let head) = event { heads.append(head) }
            }
        }
        #expect(heads.map(\.fields.count) == [3, 1, 41, 2])
        #expect(heads.map { $0.firstValue(named: "host") } == ["one", "two", "three", "four"])
        #expect(heads[0].firstValue(named: "x-b") == "2")
        #expect(heads[2].firstValue(named: "x-39") == "39")
        #expect(heads[3].firstValue(named: "x-a") == "4")
        #expect(heads[1].firstValue(named: "x-a") == nil)
    }

    @Test func aHeadSplitAcrossEveryByteIsTheSameHead() throws {
        let text = "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET /y HTTP/1.1\r\nHost: h\r\n\r\n"
        let (seen, heads) = try Self.events(text.map { String($0) })
        #expect(seen == [.head(method: "PUT", uri: "/x", minor: 1), .body("ok"), .end, .head(method: "GET", uri: "/y", minor: 1), .end])
        #expect(heads[0].contentLength == 2)
    }

    @Test func aChunkedBodyPassesThroughWithItsFramingAndTrailers() throws {
        let body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Checksum: 1\r\n\r\n"
        let (seen, heads) = try Self.events([
            "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body.prefix(9), String(body.dropFirst(9)),
            "GET /next HTTP/1.1\r\nHost: h\r\n\r\n",
        ])
        #expect(seen == [.head(method: "POST", uri: "/c", minor: 1), .body(body), .end, .head(method: "GET", uri: "/next", minor: 1), .end])
        #expect(heads[0].chunked && heads[0].hasBody)
    }

    @Test func emptyLinesBeforeARequestAreIgnored() throws {
        let (seen, _) = try Self.events(["\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", "\r\n", "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"])
        #expect(seen == [.head(method: "GET", uri: "/", minor: 1), .end, .head(method: "GET", uri: "/2", minor: 1), .end])
    }

    @Test func keepAliveFollowsTheVersionAndConnection() throws {
        #expect(try Self.head("GET / HTTP/1.0\r\n\r\n").keepAlive == false)
        #expect(try Self.head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try Self.head("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keepAlive == false)
        #expect(try Self.head("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n").keepAlive == false)
        let options = try Self.head("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Debug\r\n\r\n")
        #expect(options.keepAlive && options.hasConnectionOptions)
        #expect(try Self.head("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n").hasConnectionOptions == false)
    }

    @Test func expectContinueAndHeaderLookupsIgnoreCase() throws {
        let head = try Self.head(
            "POST /u HTTP/1.1\r\nhOsT: h\r\nEXPECT: 100-Continue\r\nContent-Length: 10\r\nCookie: a=1\r\ncookie:  b=2 \r\n\r\n")
        #expect(head.expectsContinue)
        #expect(head.hasCookie && !head.hasRequestID)
        #expect(head.values(named: "cookie") == ["a=1", "b=2"])
        #expect(head.firstValue(named: "x-missing") == nil)
        // The name asked for may be in any case too (configured header names are used as written).
        #expect(head.values(named: "COOKIE") == ["a=1", "b=2"])
        #expect(head.firstValue(named: "Content-Lengths") == nil)
        #expect(head.headers["Cookie"] == ["a=1", "b=2"])
        #expect(head.method == .POST)
        // The handler reads `Cookie` and `X-Request-ID` values only when the parser saw those names, in any case.
        let other = try Self.head("GET / HTTP/1.1\r\nHost: h\r\nx-REQUEST-id: r1\r\nCookies: no\r\n\r\n")
        #expect(other.hasRequestID && !other.hasCookie)
        #expect(other.firstValue(named: "X-Request-ID") == "r1")
        #expect(try Self.head("PATCH / HTTP/1.1\r\nHost: h\r\n\r\n").method == .PATCH)
        #expect(try Self.head("BREW / HTTP/1.1\r\nHost: h\r\n\r\n").method == .RAW(value: "BREW"))
    }

    // MARK: - Refused: ambiguous framing (RFC 9112 §6.3, §11.2)

    static let malformed: [(String, String)] = [
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "Content-Length with Transfer-Encoding"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", "two Content-Lengths"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n", "a list as Content-Length"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", "a negative Content-Length"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", "a signed Content-Length"),
        ("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", "an overflowing Content-Length"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "two Transfer-Encodings"),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding in HTTP/1.0"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", "obsolete line folding"),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\n", "a space before the colon"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{0}b\r\n\r\n", "NUL in a value"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", "a bare CR in a value"),
        ("GET / HTTP/1.1\r\nHost: h\r\n: novalue\r\n\r\n", "an empty header name"),
        ("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", "a line without a colon"),
        ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 without Host"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "two Hosts"),
        ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", "two spaces in the request line"),
        ("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", "a space in the target"),
        ("GET /\u{e9} HTTP/1.1\r\nHost: h\r\n\r\n", "a raw non-ASCII byte in the target"),
        ("GET / http/1.1\r\nHost: h\r\n\r\n", "a lowercase protocol name"),
        ("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", "a trailing space"),
        ("GET /\r\nHost: h\r\n\r\n", "no version (HTTP/0.9)"),
        ("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", "a method that is not a token"),
        ("GARBAGE\r\n\r\n", "no request line"),
    ]

    @Test(arguments: malformed)
    func ambiguousOrBrokenHeadsAreRefused(_ text: String, _ what: String) {
        guard case .malformed? = Self.error(text) else {
            Issue.record("\(what) was not refused as malformed: \(String(describing: Self.error(text)))")
            return
        }
    }

    @Test func otherCodingsVersionsAndSizesHaveTheirOwnErrors() {
        #expect(Self.error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == .unsupportedTransferCoding)
        #expect(Self.error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n") == .unsupportedTransferCoding)
        #expect(Self.error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == .unsupportedVersion)
        #expect(Self.error("GET / HTTP/1.2\r\nHost: h\r\n\r\n") == .unsupportedVersion)
        let huge = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "a", count: ClientRequestParser.maxHeadBytes) + "\r\n\r\n"
        #expect(Self.error(huge) == .headTooLarge)
        // Without its end in sight, too: the limit holds for a head still arriving.
        #expect(Self.error(String(huge.prefix(ClientRequestParser.maxHeadBytes + 10))) == .headTooLarge)
        #expect(Self.error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == .malformedChunk)
    }
}
