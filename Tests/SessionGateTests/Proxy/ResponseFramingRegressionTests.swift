import NIOCore
import Testing

@testable import SessionGate

/// Framing defects found while testing the byte-level response path, each fixed and kept here so it stays fixed.
@Suite("Response framing: regressions")
struct ResponseFramingRegressionTests {
    typealias Parser = UpstreamResponseParser

    /// A head of about `totalBytes`, ending with `Content-Length: 0` and its blank line.
    static func bigHead(totalBytes: Int) -> [UInt8] {
        var text = "HTTP/1.1 200 OK\r\n"
        var index = 0
        while text.utf8.count + 120 < totalBytes {
            text += "X-Filler-\(index): " + String(repeating: "v", count: 100) + "\r\n"
            index += 1
        }
        return Array((text + "Content-Length: 0\r\n\r\n").utf8)
    }

    /// A head over the 64 KiB limit is refused when it arrives in one read, or when more than the limit arrives
    /// before its end; but when its end comes in the read that takes it over the limit, it is accepted.
    @Test func oversizeHeadWhoseEndArrivesInALaterReadIsRefused() {
        let head = Self.bigHead(totalBytes: Parser.maxHeadBytes + 500)
        #expect(head.count > Parser.maxHeadBytes)
        for cut in [1, 1000, Parser.maxHeadBytes - 10, Parser.maxHeadBytes] {
            var parser = Parser()
            var first = ByteBuffer(bytes: head[..<cut])
            var second = ByteBuffer(bytes: head[cut...])
            var thrown: Error?
            do {
                while try parser.next(&first) != nil {}
                while try parser.next(&second) != nil {}
            } catch {
                thrown = error
            }
            #expect(thrown as? Parser.ParseError == .headTooLarge, "split at \(cut): a \(head.count)-byte head was accepted")
        }
    }

    /// `Content-Length` reaches the client only with a body it frames (or stated for HEAD and 304): never beside
    /// `Transfer-Encoding: chunked` (RFC 9112 §6.1), which overrides it.
    @Test func contentLengthIsDroppedWhenChunkedOverridesIt() throws {
        var parser = Parser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nX-A: 1\r\n\r\n")
        guard case .head(let head)? = try parser.next(&buffer) else {
            Issue.record("no head")
            return
        }
        for minor in [0, 1] {
            let plan = ClientResponsePlan(upstream: head.framing, clientMinorVersion: minor, clientKeepAlive: true)
            var out = ByteBuffer()
            ClientResponseHead.write(head, plan: plan, clientMinorVersion: minor, into: &out)
            let text = String(buffer: out)
            #expect(!text.contains("Content-Length"), "HTTP/1.\(minor): \(text.debugDescription)")
            #expect(text.contains("X-A: 1"))
        }
    }

    /// The client head as the proxy writes it for `text`, to an HTTP/1.1 client that keeps its connection.
    static func clientHead(_ text: String) throws -> (String, ClientResponsePlan)? {
        var parser = Parser()
        var buffer = ByteBuffer(string: text)
        guard case .head(let head)? = try parser.next(&buffer) else { return nil }
        let plan = ClientResponsePlan(upstream: head.framing, clientMinorVersion: 1, clientKeepAlive: true)
        var out = ByteBuffer()
        ClientResponseHead.write(head, plan: plan, clientMinorVersion: 1, into: &out)
        return (String(buffer: out), plan)
    }

    /// An upstream that names a framing header in `Connection` (`Connection: Content-Length`) gets that header
    /// removed as hop-by-hop, yet its body is passed through with the framing it had and the client connection is
    /// kept open: the client then has no way to find the end of the body (an HTTP/1.1 client reads until a close
    /// that never comes, and takes the next response as part of this body).
    @Test func framingHeadersNamedInConnectionStillFrameTheBody() throws {
        let (length, lengthPlan) = try #require(try Self.clientHead(
            "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 2\r\n\r\n"))
        #expect(lengthPlan == ClientResponsePlan(keepAlive: true, framing: .passThrough))
        #expect(length.contains("\r\nContent-Length: 2\r\n") || length.contains("\r\nConnection: close\r\n"),
            "no framing for a 2-byte body: \(length.debugDescription)")

        let (chunked, chunkedPlan) = try #require(try Self.clientHead(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(chunkedPlan == ClientResponsePlan(keepAlive: true, framing: .passThrough))
        #expect(chunked.contains("\r\nTransfer-Encoding: chunked\r\n"),
            "chunk framing passed on without Transfer-Encoding: \(chunked.debugDescription)")
    }
}

