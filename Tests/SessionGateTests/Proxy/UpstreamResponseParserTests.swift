import NIOCore
import Testing

@testable import SessionGate

/// The upstream response framer, fed bytes without any I/O: every response is also fed split in two at every byte
/// boundary and one byte at a time, and must give the same events each way.
@Suite("UpstreamResponseParser")
struct UpstreamResponseParserTests {
    typealias Parser = UpstreamResponseParser
    typealias ParseError = UpstreamResponseParser.ParseError

    /// An event reduced to what can be compared; adjacent bodies are merged, since how a body is sliced depends on
    /// how it arrived.
    enum Ev: Equatable, CustomStringConvertible {
        case head(String, Parser.Framing, keepAlive: Bool)
        case body(String)
        case end

        var description: String {
            switch self {
            case .head(let raw, let framing, let keepAlive): return "head(\(raw.debugDescription), \(framing), keepAlive: \(keepAlive))"
            case .body(let text): return "body(\(text.debugDescription))"
            case .end: return "end"
            }
        }
    }

    /// Drives a parser as `UpstreamConnectionHandler` and `ProxyHandler` do: `dechunk` is set once a final head with
    /// a chunked body is seen, and each response's HEAD-ness is announced before it.
    struct Driver {
        var parser = Parser()
        var events: [Ev] = []
        var heads: [Bool]
        var dechunk: Bool
        var responses = 0
        var lastHead: Parser.Head?

        /// Whole responses seen as one ``Parser/Event/whole`` event (recorded as the head, body and end it stands for).
        var wholeResponses = 0

        init(toHEAD heads: [Bool], dechunk: Bool, coalesce: Bool = false) {
            self.heads = heads
            self.dechunk = dechunk
            parser.coalescesWholeResponses = coalesce
            parser.expectResponse(toHEAD: heads.first ?? false)
        }

        mutating func feed(_ bytes: ArraySlice<UInt8>) throws {
            var buffer = ByteBuffer(bytes: bytes)
            var guardCount = 0
            while let event = try parser.next(&buffer) {
                record(event)
                guardCount += 1
                if guardCount > 100_000 { Issue.record("the parser does not stop"); return }
            }
            #expect(buffer.readableBytes == 0, "next returned nil with bytes left")
        }

        mutating func endOfInput() throws {
            if let event = try parser.endOfInput() { record(event) }
        }

        mutating func record(_ event: Parser.Event) {
            switch event {
            case .head(let head):
                lastHead = head
                events.append(.head(String(buffer: head.raw), head.framing, keepAlive: head.keepAlive))
                if !head.isInformational && head.framing == .chunked && dechunk { parser.dechunk = true }
            case .body(let buffer):
                let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
                if case .body(let earlier)? = events.last {
                    events[events.count - 1] = .body(earlier + text)
                } else {
                    events.append(.body(text))
                }
            case .end:
                events.append(.end)
                responses += 1
                parser.expectResponse(toHEAD: responses < heads.count ? heads[responses] : false)
            case .whole(let head, let body):
                wholeResponses += 1
                #expect(!head.isInformational)
                record(.head(head))
                if let body {
                    #expect(body.readableBytes > 0, "an empty body is reported as none")
                    record(.body(body))
                }
                record(.end)
            }
        }
    }

    /// Feeds `pieces` in order, then (if asked) ends the input.
    static func run(
        _ pieces: [ArraySlice<UInt8>], toHEAD: [Bool], dechunk: Bool, endOfInput: Bool, coalesce: Bool = false
    ) throws -> [Ev] {
        var driver = Driver(toHEAD: toHEAD, dechunk: dechunk, coalesce: coalesce)
        for piece in pieces { try driver.feed(piece) }
        if endOfInput { try driver.endOfInput() }
        return driver.events
    }

    /// Every way `input` is fed: whole, split in two at each boundary, one byte at a time.
    static func splits(_ input: String) -> [(String, [ArraySlice<UInt8>])] {
        let bytes = Array(input.utf8)
        var ways: [(String, [ArraySlice<UInt8>])] = [("whole", [bytes[...]])]
        for i in 0...bytes.count { ways.append(("split at \(i)", [bytes[..<i], bytes[i...]])) }
        ways.append(("byte by byte", bytes.indices.map { bytes[$0...$0] }))
        return ways
    }

    func expectEvents(
        _ input: String, toHEAD: [Bool] = [], dechunk: Bool = false, endOfInput: Bool = false, _ expected: [Ev],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        // With whole responses coalesced (as the proxy runs it) or not, the same responses in the same order.
        for coalesce in [false, true] {
            for (way, pieces) in Self.splits(input) {
                do {
                    let events = try Self.run(
                        pieces, toHEAD: toHEAD, dechunk: dechunk, endOfInput: endOfInput, coalesce: coalesce)
                    #expect(events == expected, "fed \(way), coalescing \(coalesce)", sourceLocation: sourceLocation)
                    if events != expected { return }  // one report per input is enough
                } catch {
                    Issue.record("fed \(way), coalescing \(coalesce): \(error)", sourceLocation: sourceLocation)
                    return
                }
            }
        }
    }

    func expectError(
        _ input: String, _ expected: ParseError, endOfInput: Bool = false, dechunk: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for coalesce in [false, true] {
            for (way, pieces) in Self.splits(input) {
                var thrown: Error?
                do {
                    _ = try Self.run(pieces, toHEAD: [], dechunk: dechunk, endOfInput: endOfInput, coalesce: coalesce)
                } catch {
                    thrown = error
                }
                #expect(
                    thrown as? ParseError == expected, "fed \(way), coalescing \(coalesce): \(String(describing: thrown))",
                    sourceLocation: sourceLocation)
                if thrown as? ParseError != expected { return }
            }
        }
    }

    // MARK: - Content-Length

    @Test func contentLengthBody() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n"
        expectEvents(head + "hello world", [.head(head, .length(11), keepAlive: true), .body("hello world"), .end])
    }

    @Test func zeroContentLengthEndsAtTheHead() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        expectEvents(head, [.head(head, .length(0), keepAlive: true), .end])
    }

    @Test func repeatedEqualContentLengthsAreOne() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n"
        expectEvents(head + "abc", [.head(head, .length(3), keepAlive: true), .body("abc"), .end])
    }

    @Test func headerCaseAndSpacingDoNotMatter() {
        let head = "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:\t 4 \t\r\n\r\n"
        expectEvents(head + "abcd", [.head(head, .length(4), keepAlive: true), .body("abcd"), .end])
    }

    @Test func bareLineFeedsEndTheHead() {
        let head = "HTTP/1.1 200 OK\nContent-Length: 2\n\n"
        expectEvents(head + "ok", [.head(head, .length(2), keepAlive: true), .body("ok"), .end])
    }

    @Test func statusLineWithoutReason() {
        let head = "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n"
        expectEvents(head + "x", [.head(head, .length(1), keepAlive: true), .body("x"), .end])
    }

    // MARK: - Chunked

    static let chunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    static let chunkedBody =
        "5;name=value;other=\"quoted\"\r\nhello\r\n"
        + "6 \r\n world\r\n"
        + "A\r\n0123456789\r\n"
        + "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
        + "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"

    @Test func chunkedBodyPassesThroughByteForByte() {
        expectEvents(
            Self.chunkedHead + Self.chunkedBody,
            [.head(Self.chunkedHead, .chunked, keepAlive: true), .body(Self.chunkedBody), .end])
    }

    @Test func chunkedBodyDechunkedIsDataOnly() {
        expectEvents(
            Self.chunkedHead + Self.chunkedBody, dechunk: true,
            [.head(Self.chunkedHead, .chunked, keepAlive: true),
             .body("hello world0123456789abcdefghijklmnopqrstuvwxyz"), .end])
    }

    @Test func emptyChunkedBody() {
        expectEvents(Self.chunkedHead + "0\r\n\r\n", [.head(Self.chunkedHead, .chunked, keepAlive: true), .body("0\r\n\r\n"), .end])
        expectEvents(Self.chunkedHead + "0\r\n\r\n", dechunk: true, [.head(Self.chunkedHead, .chunked, keepAlive: true), .end])
    }

    /// Only `Transfer-Encoding: chunked` is accepted, as nginx does: the proxy does not undo other codings.
    @Test func transferCodingsOtherThanChunkedAreRefused() {
        let unsupported = Self.malformed("unsupported Transfer-Encoding")
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n", unsupported)
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n", unsupported)
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", unsupported)
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", unsupported)
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", unsupported)
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", unsupported)
        let upper = "HTTP/1.1 200 OK\r\nTransfer-Encoding:  CHUNKED \r\n\r\n"
        expectEvents(upper + "0\r\n\r\n", [.head(upper, .chunked, keepAlive: true), .body("0\r\n\r\n"), .end])
    }

    @Test func transferEncodingWithContentLengthIsChunkedAndNotKeptAlive() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectEvents(head + "3\r\nabc\r\n0\r\n\r\n", [.head(head, .chunked, keepAlive: false), .body("3\r\nabc\r\n0\r\n\r\n"), .end])
        expectEvents(head + "3\r\nabc\r\n0\r\n\r\n", dechunk: true, [.head(head, .chunked, keepAlive: false), .body("abc"), .end])
    }

    // MARK: - Until close

    @Test func bodyWithoutLengthRunsUntilClose() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
        expectEvents(head + "all of this, until the end", endOfInput: true,
            [.head(head, .untilClose, keepAlive: false), .body("all of this, until the end"), .end])
        // An empty one too.
        expectEvents(head, endOfInput: true, [.head(head, .untilClose, keepAlive: false), .end])
    }

    @Test func untilCloseBodyHasNoEndBeforeTheClose() {
        let head = "HTTP/1.1 200 OK\r\n\r\n"
        expectEvents(head + "partial", [.head(head, .untilClose, keepAlive: false), .body("partial")])
    }

    @Test func nothingBetweenResponsesAtEndOfInputIsNoEvent() throws {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
        expectEvents(head + "ok", endOfInput: true, [.head(head, .length(2), keepAlive: true), .body("ok"), .end])
        var parser = Parser()
        #expect(try parser.endOfInput() == nil)
    }

    // MARK: - No body

    @Test func responseToHEADHasNoBody() {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        expectEvents(head, toHEAD: [true], [.head(head, .none, keepAlive: true), .end])
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectEvents(chunked, toHEAD: [true], [.head(chunked, .none, keepAlive: true), .end])
    }

    @Test func responseToHEADThenAnotherResponse() {
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        let second = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
        expectEvents(first + second + "hello", toHEAD: [true, false], [
            .head(first, .none, keepAlive: true), .end,
            .head(second, .length(5), keepAlive: true), .body("hello"), .end,
        ])
    }

    @Test func noContentAndNotModifiedHaveNoBody() {
        for status in ["204 No Content", "304 Not Modified"] {
            let head = "HTTP/1.1 \(status)\r\nContent-Length: 42\r\nETag: \"x\"\r\n\r\n"
            expectEvents(head, [.head(head, .none, keepAlive: true), .end])
            let chunked = "HTTP/1.1 \(status)\r\nTransfer-Encoding: chunked\r\n\r\n"
            expectEvents(chunked, [.head(chunked, .none, keepAlive: true), .end])
            let bare = "HTTP/1.1 \(status)\r\n\r\n"
            // No length and no body: not "until close".
            expectEvents(bare, [.head(bare, .none, keepAlive: true), .end])
        }
    }

    @Test func informationalThenFinalResponse() {
        let hints = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        let continueHead = "HTTP/1.1 100 Continue\r\n\r\n"
        let final = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
        expectEvents(continueHead + hints + final + "ok", [
            .head(continueHead, .none, keepAlive: true),
            .head(hints, .none, keepAlive: true),
            .head(final, .length(2), keepAlive: true), .body("ok"), .end,
        ])
    }

    @Test func informationalHeadIsReportedAsSuch() throws {
        var parser = Parser()
        var buffer = ByteBuffer(string: "HTTP/1.1 103 Early Hints\r\n\r\n")
        guard case .head(let head)? = try parser.next(&buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.isInformational)
        #expect(head.status == 103)
        #expect(try parser.next(&buffer) == nil, "no end after an interim response")
    }

    // MARK: - Several responses

    /// What the proxy relies on: a response read whole is one event, with its body or none; one whose body is still
    /// to come, or chunked, or informational, is not.
    @Test func wholeResponsesInOneReadAreOneEvent() throws {
        let full = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        let empty = "HTTP/1.1 204 No Content\r\n\r\n"
        var driver = Driver(toHEAD: [], dechunk: false, coalesce: true)
        try driver.feed(Array((full + empty + full).utf8)[...])
        #expect(driver.wholeResponses == 3)
        #expect(driver.responses == 3)

        var partial = Driver(toHEAD: [], dechunk: false, coalesce: true)
        let bytes = Array(full.utf8)
        try partial.feed(bytes[..<(bytes.count - 1)])
        try partial.feed(bytes[(bytes.count - 1)...])
        #expect(partial.wholeResponses == 0)
        #expect(partial.events == [.head(String(full.dropLast(3)), .length(3), keepAlive: true), .body("abc"), .end])

        var others = Driver(toHEAD: [true], dechunk: false, coalesce: true)
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
        try others.feed(Array((head + "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").utf8)[...])
        // The response to HEAD is whole (no body whatever its length says); the 100 and the chunked one are not.
        #expect(others.wholeResponses == 1)
        #expect(others.responses == 2)
    }

    @Test func responsesBackToBack() {
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
        let second = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        let third = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        let fourth = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
        expectEvents(first + "abc" + second + "2\r\nxy\r\n0\r\n\r\n" + third + fourth + "rest", endOfInput: true, [
            .head(first, .length(3), keepAlive: true), .body("abc"), .end,
            .head(second, .chunked, keepAlive: true), .body("2\r\nxy\r\n0\r\n\r\n"), .end,
            .head(third, .length(0), keepAlive: true), .end,
            .head(fourth, .untilClose, keepAlive: false), .body("rest"), .end,
        ])
    }

    @Test func dechunkIsPerResponse() {
        // The flag is reset at each end: the driver sets it for the first chunked response only when asked, and the
        // second response's framing is passed through when the flag is not set again.
        let first = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        var parser = Parser()
        var buffer = ByteBuffer(string: first + "2\r\nab\r\n0\r\n\r\n" + first + "2\r\ncd\r\n0\r\n\r\n")
        var events: [Ev] = []
        var dechunkNext = true
        while let event = try? parser.next(&buffer) {
            switch event {
            case .head(let head):
                events.append(.head(String(buffer: head.raw), head.framing, keepAlive: head.keepAlive))
                if dechunkNext { parser.dechunk = true; dechunkNext = false }
            case .body(let body): events.append(.body(String(buffer: body)))
            case .end: events.append(.end)
            case .whole: Issue.record("whole responses are not coalesced unless asked")
            }
        }
        #expect(events == [
            .head(first, .chunked, keepAlive: true), .body("ab"), .end,
            .head(first, .chunked, keepAlive: true), .body("2\r\ncd\r\n0\r\n\r\n"), .end,
        ])
    }

    // MARK: - Keep-alive

    @Test func keepAliveFlags() {
        func flag(_ head: String, toHEAD: Bool = false) -> Bool? {
            var parser = Parser()
            parser.expectResponse(toHEAD: toHEAD)
            var buffer = ByteBuffer(string: head)
            guard case .head(let parsed)? = try? parser.next(&buffer) else { return nil }
            return parsed.keepAlive
        }
        #expect(flag("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") == true)
        #expect(flag("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == false)
        #expect(flag("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n") == false)
        #expect(flag("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == false)
        #expect(flag("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == false)
        #expect(flag("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n") == true)
        #expect(flag("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", toHEAD: true) == true)
        #expect(flag("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n") == false, "until close is never kept alive")
        #expect(flag("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n") == false)
        #expect(flag("HTTP/1.1 204 No Content\r\n\r\n") == true)
    }

    @Test func connectionOptionsAreNoticed() throws {
        func head(_ text: String) throws -> Parser.Head? {
            var parser = Parser()
            var buffer = ByteBuffer(string: text)
            guard case .head(let parsed)? = try parser.next(&buffer) else { return nil }
            return parsed
        }
        let plain = try #require(try head("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"))
        #expect(!plain.hasConnectionOptions)
        let close = try #require(try head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
        #expect(!close.hasConnectionOptions)
        let options = try #require(try head("HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nContent-Length: 0\r\n\r\n"))
        #expect(options.hasConnectionOptions)
        #expect(options.keepAlive)
        #expect(options.status == 200 && options.minorVersion == 1)
        let http10 = try #require(try head("HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n"))
        #expect(http10.status == 500 && http10.minorVersion == 0)
    }

    // MARK: - Errors

    static func malformed(_ why: String) -> ParseError { .malformedHead(why) }

    @Test func badStatusLines() {
        let rest = "Content-Length: 0\r\n\r\n"
        expectError("HTTP/2 200 OK\r\n" + rest, Self.malformed("not an HTTP/1.x status line"))
        expectError("http/1.1 200 OK\r\n" + rest, Self.malformed("not an HTTP/1.x status line"))
        expectError("HTTP/1.1 20\r\n" + rest, Self.malformed("not an HTTP/1.x status line"))
        expectError("GARBAGE\r\n\r\n", Self.malformed("not an HTTP/1.x status line"))
        expectError("HTTP/1.2 200 OK\r\n" + rest, Self.malformed("unsupported HTTP version"))
        expectError("HTTP/1.1\t200 OK\r\n" + rest, Self.malformed("unsupported HTTP version"))
        expectError("HTTP/1.1 2x0 OK\r\n" + rest, Self.malformed("invalid status code"))
        expectError("HTTP/1.1 099 Low\r\n" + rest, Self.malformed("invalid status code"))
        expectError("HTTP/1.1 200OK\r\n" + rest, Self.malformed("invalid status code"))
        expectError("HTTP/1.1 200 O\u{1}K\r\n" + rest, Self.malformed("control character in the reason phrase"))
    }

    @Test func badHeaderLines() {
        let status = "HTTP/1.1 200 OK\r\n"
        expectError(status + "Bad Header\r\n\r\n", Self.malformed("invalid header name"))
        expectError(status + "X-Name : value\r\nContent-Length: 0\r\n\r\n", Self.malformed("invalid header name"))
        expectError(status + "X(Name): value\r\n\r\n", Self.malformed("invalid header name"))
        expectError(status + "NoColon\r\n\r\n", Self.malformed("header line without a name and colon"))
        expectError(status + ": value\r\n\r\n", Self.malformed("header line without a name and colon"))
        expectError(
            status + "X-Folded: first\r\n second\r\nContent-Length: 0\r\n\r\n", Self.malformed("obsolete line folding"))
        expectError(status + "X-Folded: first\r\n\tsecond\r\n\r\n", Self.malformed("obsolete line folding"))
        expectError(status + "X-Ctl: a\u{1}b\r\n\r\n", Self.malformed("control character in a header value"))
        expectError(status + "X-Del: a\u{7f}b\r\n\r\n", Self.malformed("control character in a header value"))
        expectError(status + "X-Cr: a\rb\r\n\r\n", Self.malformed("control character in a header value"))
        expectError(status + "X-Nul: a\u{0}b\r\n\r\n", Self.malformed("control character in a header value"))
    }

    @Test func badContentLengths() {
        let status = "HTTP/1.1 200 OK\r\n"
        expectError(
            status + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", Self.malformed("conflicting Content-Length values"))
        for value in ["5a", "-1", "+5", "0x10", "5, 5", "1 2", "", "1234567890123456789"] {
            expectError(status + "Content-Length: \(value)\r\n\r\n", Self.malformed("invalid Content-Length"))
        }
    }

    @Test func badChunks() {
        let head = Self.chunkedHead
        for dechunk in [false, true] {
            expectError(head + "zz\r\nhello\r\n0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + ";ext\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "-5\r\nhello\r\n0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "5\nhello\r\n0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "5\rXhello\r\n0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "5\r\nhelloXY0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "5\r\nhello\rX0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "5\r\nhello\n0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "1000000000000000\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "5;a\u{1}b\r\nhello\r\n0\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "0\r\nX-Trailer: a\u{1}\r\n\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "0\r\nX-Trailer: a\rX\r\n", .malformedChunk, dechunk: dechunk)
            expectError(head + "0\r\n\rX", .malformedChunk, dechunk: dechunk)
        }
    }

    @Test func fifteenHexDigitsAreTheLongestChunkSize() {
        // Leading zeros count: fifteen digits are still a size.
        expectEvents(Self.chunkedHead + "00000000000000a\r\n0123456789\r\n0\r\n\r\n", [
            .head(Self.chunkedHead, .chunked, keepAlive: true), .body("00000000000000a\r\n0123456789\r\n0\r\n\r\n"), .end,
        ])
        expectEvents(Self.chunkedHead + "00000000000000a\r\n0123456789\r\n0\r\n\r\n", dechunk: true, [
            .head(Self.chunkedHead, .chunked, keepAlive: true), .body("0123456789"), .end,
        ])
    }

    static func oversizeHead(totalBytes: Int) -> String {
        let status = "HTTP/1.1 200 OK\r\n"
        let end = "Content-Length: 0\r\n\r\n"
        var filler = ""
        var index = 0
        while status.utf8.count + filler.utf8.count + end.utf8.count < totalBytes {
            filler += "X-Filler-\(index): " + String(repeating: "v", count: 100) + "\r\n"
            index += 1
        }
        return status + filler + end
    }

    @Test func headsUpToTheLimitAreAccepted() throws {
        let head = Self.oversizeHead(totalBytes: Parser.maxHeadBytes - 200)
        #expect(head.utf8.count <= Parser.maxHeadBytes)
        let bytes = Array(head.utf8)
        for pieces in [[bytes[...]], [bytes[..<1000], bytes[1000...]], stride(from: 0, to: bytes.count, by: 997).map {
            bytes[$0..<min($0 + 997, bytes.count)]
        }] {
            let events = try Self.run(pieces, toHEAD: [], dechunk: false, endOfInput: false)
            #expect(events == [.head(head, .length(0), keepAlive: true), .end])
        }
    }

    @Test func oversizeHeadInOneRead() {
        let head = Self.oversizeHead(totalBytes: Parser.maxHeadBytes + 500)
        var parser = Parser()
        var buffer = ByteBuffer(string: head)
        #expect(throws: ParseError.headTooLarge) { _ = try parser.next(&buffer) }
    }

    @Test func oversizeHeadWithoutItsEndYet() {
        // More than the limit arrived and the blank line has not: refused without waiting for more.
        let head = Self.oversizeHead(totalBytes: Parser.maxHeadBytes + 500)
        let cut = Array(head.utf8.dropLast(4))
        var parser = Parser()
        var buffer = ByteBuffer(bytes: cut)
        #expect(throws: ParseError.headTooLarge) { _ = try parser.next(&buffer) }
        // Arriving in small reads, the same.
        var small = Parser()
        var thrown: Error?
        for start in stride(from: 0, to: cut.count, by: 1024) {
            var piece = ByteBuffer(bytes: cut[start..<min(start + 1024, cut.count)])
            do { _ = try small.next(&piece) } catch { thrown = error; break }
        }
        #expect(thrown as? ParseError == .headTooLarge)
    }

    @Test func oversizeHeadByteByByte() {
        let head = Self.oversizeHead(totalBytes: Parser.maxHeadBytes + 500)
        var parser = Parser()
        var thrown: Error?
        for byte in head.utf8 {
            var piece = ByteBuffer(bytes: [byte])
            do { while try parser.next(&piece) != nil {} } catch { thrown = error; break }
        }
        #expect(thrown as? ParseError == .headTooLarge)
    }

    @Test func oversizeTrailersAreRefused() {
        var parser = Parser()
        var buffer = ByteBuffer(string: Self.chunkedHead + "0\r\nX-Big: " + String(repeating: "t", count: Parser.maxHeadBytes + 10))
        var thrown: Error?
        do { while try parser.next(&buffer) != nil {} } catch { thrown = error }
        #expect(thrown as? ParseError == .malformedChunk)
    }

    @Test func truncatedResponsesAtEndOfInput() {
        expectError("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", .truncated, endOfInput: true)
        expectError("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", .truncated, endOfInput: true)
        expectError(Self.chunkedHead + "5\r\nhel", .truncated, endOfInput: true)
        expectError(Self.chunkedHead + "5\r\nhello\r\n", .truncated, endOfInput: true)
        expectError(Self.chunkedHead + "5\r\nhello\r\n0\r\n", .truncated, endOfInput: true)
        expectError(Self.chunkedHead + "5\r\nhello\r\n0\r\nX-T: 1\r\n", .truncated, endOfInput: true, dechunk: true)
        // A head cut short: only the splits where some of it arrived (all of them here) hold a partial head.
        expectError("HTTP/1.1 200 OK\r\nContent-Len", .truncated, endOfInput: true)
    }

    @Test func errorDescriptionsSayWhatWentWrong() {
        #expect(ParseError.malformedHead("x").description == "malformed upstream response head: x")
        #expect(ParseError.headTooLarge.description.contains("\(Parser.maxHeadBytes)"))
        #expect(ParseError.truncated.description.contains("closed"))
    }
}

/// The framer on its own: counts of bytes to pass and to skip.
@Suite("ChunkedBodyFramer")
struct ChunkedBodyFramerTests {
    func scanAll(_ text: String, dechunk: Bool) throws -> [(pass: Int, skip: Int)] {
        var framer = ChunkedBodyFramer()
        var steps: [(pass: Int, skip: Int)] = []
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let step = try bytes.withUnsafeBytes { try framer.scan($0, dechunk: dechunk) }
            #expect((step.pass == 0) != (step.skip == 0), "exactly one count is non-zero")
            steps.append(step)
            bytes = bytes.dropFirst(step.pass + step.skip)
            if framer.isComplete { break }
        }
        #expect(framer.isComplete)
        return steps
    }

    @Test func passthroughPassesEverythingToTheEnd() throws {
        let steps = try scanAll("3\r\nabc\r\n0\r\n\r\n", dechunk: false)
        #expect(steps.map(\.pass) == [13])
    }

    @Test func passthroughStopsAtTheEnd() throws {
        var framer = ChunkedBodyFramer()
        let bytes = Array("3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n".utf8)
        let step = try bytes.withUnsafeBytes { try framer.scan($0, dechunk: false) }
        #expect(step.pass == 13 && step.skip == 0)
        #expect(framer.isComplete)
    }

    @Test func dechunkAlternatesFramingAndData() throws {
        let steps = try scanAll("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n", dechunk: true)
        #expect(steps.map(\.skip) == [3, 0, 9, 0, 13])
        #expect(steps.map(\.pass) == [0, 3, 0, 2, 0])
    }
}
