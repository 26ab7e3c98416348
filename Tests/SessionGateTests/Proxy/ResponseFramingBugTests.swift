import NIOCore
import Testing

@testable import SessionGate

/// Framing defects found while testing the byte-level response path; these fail until the product is fixed.
@Suite("Response framing: known bugs")
struct ResponseFramingBugTests {
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

    /// `Transfer-Encoding` without `chunked` last: the body runs until close and the proxy rechunks it (or, for an
    /// HTTP/1.0 client, passes it until close). The upstream's `Content-Length` must not reach the client: with
    /// `Transfer-Encoding: chunked` it is forbidden (RFC 9112 §6.1), and without it the client would believe a
    /// length that does not frame the body.
    @Test func untilCloseBodyDoesNotKeepTheUpstreamsContentLength() throws {
        var parser = Parser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\nX-A: 1\r\n\r\n")
        guard case .head(let head)? = try parser.next(&buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.framing == .untilClose)

        let http11 = ClientResponsePlan(upstream: head.framing, clientMinorVersion: 1, clientKeepAlive: true)
        #expect(http11.framing == .rechunk)
        var out11 = ByteBuffer()
        ClientResponseHead.write(head, plan: http11, clientMinorVersion: 1, into: &out11)
        let text11 = String(buffer: out11)
        #expect(!text11.contains("Content-Length"), "sent with Transfer-Encoding: chunked: \(text11.debugDescription)")

        let http10 = ClientResponsePlan(upstream: head.framing, clientMinorVersion: 0, clientKeepAlive: false)
        var out10 = ByteBuffer()
        ClientResponseHead.write(head, plan: http10, clientMinorVersion: 0, into: &out10)
        let text10 = String(buffer: out10)
        #expect(!text10.contains("Content-Length"), "a length that does not frame the body: \(text10.debugDescription)")
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

