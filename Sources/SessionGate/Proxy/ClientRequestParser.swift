import NIOCore
import NIOHTTP1

/// Frames the requests a client sends on one connection: finds each head, checks it once, and tells where its body
/// ends, without building header objects or decoding the body.
///
/// The client leg of the proxy-shaped path (the upstream leg is ``UpstreamResponseParser``): the head's facts are
/// read in one pass (``RequestHead``) and its kept lines are later copied as bytes by ``RequestRewriter``; a body
/// leaves as the slices that were read, a chunked one with its framing (the chunk sizes are only followed, by
/// ``ChunkedBodyFramer``, to find the end). Strict where a lenient reading lets a request be understood two ways
/// (request smuggling, RFC 9112 §6.3, §11.2): `Content-Length` with `Transfer-Encoding`, two `Content-Length`s, a
/// coding other than `chunked`, obsolete line folding, a space before the colon, control characters. A pure value:
/// fed buffers, it returns events, and is tested without I/O.
struct ClientRequestParser {
    enum Event {
        case head(RequestHead)
        /// Body bytes to pass on as they are (chunk framing included for a chunked body).
        case body(ByteBuffer)
        case end
    }

    enum ParseError: Error, Equatable, CustomStringConvertible {
        /// Answered with 400.
        case malformed(String)
        /// Answered with 431.
        case headTooLarge
        /// Answered with 505.
        case unsupportedVersion
        /// A `Transfer-Encoding` other than `chunked`: answered with 501, as nginx does.
        case unsupportedTransferCoding
        /// In the middle of a body: the connection is closed.
        case malformedChunk

        var description: String {
            switch self {
            case .malformed(let why): return why
            case .headTooLarge: return "the request head exceeds \(ClientRequestParser.maxHeadBytes) bytes"
            case .unsupportedVersion: return "only HTTP/1.0 and HTTP/1.1 are served"
            case .unsupportedTransferCoding: return "only the chunked transfer coding is supported"
            case .malformedChunk: return "malformed chunked request body"
            }
        }
    }

    /// Request heads larger than this are refused (nginx's default limit is 4 × 8 KiB lines; NIO's was 80 KiB).
    static let maxHeadBytes = 64 * 1024

    private enum State {
        case awaitingHead
        case length(remaining: Int)
        case chunked(ChunkedBodyFramer)
    }

    private var state = State.awaitingHead
    private var heads = HeadCollector(maxBytes: ClientRequestParser.maxHeadBytes)
    private var endPending = false

    init() {}

    /// The next event from `buffer`, consuming the bytes it covers. Returns nil once `buffer` is used up (a partial
    /// head is kept inside until the rest arrives).
    mutating func next(_ buffer: inout ByteBuffer) throws -> Event? {
        if endPending {
            endPending = false
            state = .awaitingHead
            return .end
        }
        switch state {
        case .awaitingHead:
            if !heads.holdsPartialHead { Self.skipEmptyLines(&buffer) }
            guard let raw = try heads.take(&buffer, tooLarge: ParseError.headTooLarge) else { return nil }
            let head = try Self.parseHead(raw)
            if head.chunked {
                state = .chunked(ChunkedBodyFramer())
            } else if let length = head.contentLength, length > 0 {
                state = .length(remaining: length)
            } else {
                endPending = true
            }
            return .head(head)
        case .length(let remaining):
            guard let (slice, left) = buffer.readBodySlice(remaining: remaining) else { return nil }
            if left == 0 { endPending = true } else { state = .length(remaining: left) }
            return .body(slice)
        case .chunked(var framer):
            guard buffer.readableBytes > 0 else { return nil }
            let step: (pass: Int, skip: Int)
            do {
                step = try buffer.withUnsafeReadableBytes { try framer.scan($0, dechunk: false) }
            } catch {
                throw ParseError.malformedChunk
            }
            state = .chunked(framer)
            if framer.isComplete { endPending = true }
            return .body(buffer.readSlice(length: step.pass)!)
        }
    }

    /// True while a request has started and not ended: a client closing now left it incomplete.
    var isInsideRequest: Bool {
        if case .awaitingHead = state { return heads.holdsPartialHead }
        return true
    }

    /// RFC 9112 §2.2: empty lines before a request line are ignored (some clients send CRLF after a body).
    private static func skipEmptyLines(_ buffer: inout ByteBuffer) {
        while let byte = buffer.readableBytesView.first, byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
            buffer.moveReaderIndex(forwardBy: 1)
        }
    }

    // MARK: - The head

    static func parseHead(_ raw: ByteBuffer) throws -> RequestHead {
        try raw.withUnsafeReadableBytes { bytes in
            var lines = HeadLines(bytes)
            guard let requestLine = lines.next() else { throw ParseError.malformed("the request line is missing") }
            let line = try RequestLine(bytes, requestLine)
            var scan = FieldScan(version: line.version)
            var fields: [HeaderLine] = []
            fields.reserveCapacity(16)
            do {
                while let next = lines.next() {
                    guard let field = try HeaderLine(bytes, next) else { break }
                    try scan.read(field, bytes)
                    fields.append(field)
                }
            } catch UpstreamResponseParser.ParseError.malformedHead(let why) {
                throw ParseError.malformed(why)
            }
            try scan.check()
            return RequestHead(
                raw: raw, method: line.method(bytes), version: line.version, methodRange: line.method, targetRange: line.target, fields: fields,
                contentLength: scan.contentLength, chunked: scan.chunked, keepAlive: scan.keepAlive,
                expectsContinue: scan.expectsContinue, hasConnectionOptions: scan.connectionOthers,
                hasCookie: scan.hasCookie, hasRequestID: scan.hasRequestID)
        }
    }

    /// `method SP request-target SP HTTP/1.x`, single spaces (RFC 9112 §3).
    private struct RequestLine {
        let method: Range<Int>
        let target: Range<Int>
        let version: HTTPVersion

        init(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws {
            var i = line.lowerBound
            while i < line.upperBound, bytes[i] != 0x20 {
                guard ByteScan.isTokenByte(bytes[i]) else { throw ParseError.malformed("invalid method in the request line") }
                i += 1
            }
            guard i > line.lowerBound, i < line.upperBound else { throw ParseError.malformed("malformed request line") }
            method = line.lowerBound..<i
            let targetStart = i + 1
            var j = targetStart
            while j < line.upperBound, bytes[j] != 0x20 {
                // Visible ASCII only: anything else must be percent-encoded.
                guard bytes[j] > 0x20, bytes[j] < 0x7f else {
                    throw ParseError.malformed("the request target holds a byte that must be percent-encoded")
                }
                j += 1
            }
            guard j > targetStart, j < line.upperBound else { throw ParseError.malformed("malformed request line") }
            target = targetStart..<j
            let versionStart = j + 1
            guard line.upperBound - versionStart == 8, ByteScan.hasPrefix(bytes, at: versionStart, "HTTP/"),
                bytes[versionStart + 6] == UInt8(ascii: ".")
            else { throw ParseError.malformed("malformed HTTP version in the request line") }
            let major = bytes[versionStart + 5] &- UInt8(ascii: "0")
            let minor = bytes[versionStart + 7] &- UInt8(ascii: "0")
            guard major < 10, minor < 10 else { throw ParseError.malformed("malformed HTTP version in the request line") }
            guard major == 1, minor <= 1 else { throw ParseError.unsupportedVersion }
            version = HTTPVersion(major: 1, minor: Int(minor))
        }

        func method(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
            if method.count == 3, ByteScan.hasPrefix(bytes, at: method.lowerBound, "GET") { return .GET }
            if method.count == 4, ByteScan.hasPrefix(bytes, at: method.lowerBound, "POST") { return .POST }
            return HTTPMethod(rawValue: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[method]), as: UTF8.self))
        }
    }

    /// What the header lines say about framing and the connection, gathered in one pass.
    private struct FieldScan {
        let version: HTTPVersion
        var contentLength: Int?
        var chunked = false
        var sawTransferEncoding = false
        var hosts = 0
        var close = false
        var keepAliveOption = false
        var connectionOthers = false
        var expectsContinue = false
        /// Whether a `Cookie` or an `X-Request-ID` header is present, so that the handler looks for their values only
        /// when there are some.
        var hasCookie = false
        var hasRequestID = false

        init(version: HTTPVersion) { self.version = version }

        var keepAlive: Bool { !close && (version.minor >= 1 || keepAliveOption) }

        mutating func read(_ field: HeaderLine, _ bytes: UnsafeRawBufferPointer) throws {
            switch field.nameLength {
            case 4 where field.nameEquals(bytes, "host"):
                hosts += 1
            case 14 where field.nameEquals(bytes, "content-length"):
                guard contentLength == nil else { throw ParseError.malformed("more than one Content-Length header") }
                contentLength = try Self.length(bytes, field.value)
            case 17 where field.nameEquals(bytes, "transfer-encoding"):
                guard !sawTransferEncoding else { throw ParseError.malformed("more than one Transfer-Encoding header") }
                sawTransferEncoding = true
                var elements = 0
                var allChunked = true
                field.forEachListElement(bytes) { element in
                    elements += 1
                    allChunked = allChunked && HeaderLine.equalsIgnoringCase(bytes, element, "chunked")
                }
                guard elements == 1, allChunked else { throw ParseError.unsupportedTransferCoding }
                chunked = true
            case 10 where field.nameEquals(bytes, "connection"):
                field.readConnectionOptions(bytes, close: &close, keepAlive: &keepAliveOption, others: &connectionOthers)
            case 6 where field.nameEquals(bytes, "expect"):
                expectsContinue = HeaderLine.equalsIgnoringCase(bytes, field.value, "100-continue")
            case 6 where field.nameEquals(bytes, "cookie"):
                hasCookie = true
            case 12 where field.nameEquals(bytes, "x-request-id"):
                hasRequestID = true
            default:
                break
            }
        }

        func check() throws {
            if sawTransferEncoding && contentLength != nil {
                throw ParseError.malformed("a request must not have both Content-Length and Transfer-Encoding")
            }
            if sawTransferEncoding && version.minor == 0 {
                throw ParseError.malformed("Transfer-Encoding is not defined for HTTP/1.0 requests")
            }
            if hosts > 1 { throw ParseError.malformed("more than one Host header") }
            if hosts == 0 && version.minor >= 1 { throw ParseError.malformed("an HTTP/1.1 request must have a Host header") }
        }

        private static func length(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) throws -> Int {
            guard !value.isEmpty, value.count <= 18 else { throw ParseError.malformed("invalid Content-Length") }
            var length = 0
            for i in value {
                let digit = bytes[i] &- UInt8(ascii: "0")
                guard digit < 10 else { throw ParseError.malformed("invalid Content-Length") }
                length = length * 10 + Int(digit)
            }
            return length
        }
    }
}
