import NIOCore

/// Frames the responses an upstream sends on one connection: finds each head, checks it, and tells where its body
/// ends, without building header objects.
///
/// The proxy passes a response through rather than decoding and re-encoding it: the head is read once here (status,
/// framing, `Connection`) and rewritten as bytes by ``ClientResponseHead``; the body leaves as the slices that were
/// read. A chunked body keeps its framing (the chunk sizes are only followed to find the end) unless the client
/// needs it removed (``dechunk``). A pure value: fed buffers, it returns events, and is tested without I/O.
struct UpstreamResponseParser {
    /// How the end of a response body is found (RFC 9112 §6.3).
    enum Framing: Equatable, Sendable {
        /// No body: a response to HEAD, 1xx, 204 or 304.
        case none
        case length(Int)
        case chunked
        /// The body ends when the upstream closes the connection.
        case untilClose
    }

    /// A response head as received, with what the proxy needs to know about it.
    struct Head {
        var status: Int
        /// 0 or 1, from `HTTP/1.x`.
        var minorVersion: Int
        /// The whole head, from the status line up to and including the blank line.
        var raw: ByteBuffer
        var framing: Framing
        /// False when the upstream will close the connection after this response.
        var keepAlive: Bool
        /// True when `Connection` names headers beyond `close`/`keep-alive`: those are hop-by-hop too.
        var hasConnectionOptions: Bool

        /// 1xx: an interim response; the final one follows on the same connection.
        var isInformational: Bool { status >= 100 && status < 200 }
    }

    enum Event {
        case head(Head)
        /// Body bytes to pass on: with chunk framing for a chunked body, unless ``dechunk`` is set.
        case body(ByteBuffer)
        case end
    }

    enum ParseError: Error, Equatable, CustomStringConvertible {
        case malformedHead(String)
        case headTooLarge
        case malformedChunk
        /// The connection closed in the middle of a response.
        case truncated

        var description: String {
            switch self {
            case .malformedHead(let why): return "malformed upstream response head: \(why)"
            case .headTooLarge: return "upstream response head exceeds \(UpstreamResponseParser.maxHeadBytes) bytes"
            case .malformedChunk: return "malformed chunked body from upstream"
            case .truncated: return "upstream closed the connection in the middle of a response"
            }
        }
    }

    /// Heads (and chunked trailers) larger than this are refused, as nginx's `proxy_buffer_size` refuses them.
    static let maxHeadBytes = 64 * 1024

    private enum State {
        case awaitingHead
        case length(remaining: Int)
        case chunked(ChunkedBodyFramer)
        case untilClose
    }

    private var state = State.awaitingHead
    /// The start of a head that did not arrive in one read.
    private var partialHead: ByteBuffer?
    private var endPending = false
    private var respondingToHEAD = false
    /// Pass only the data of a chunked body, without its framing (for an HTTP/1.0 client). Set per response, after
    /// its head and before its body.
    var dechunk = false

    init() {}

    /// Says what the next response answers: a response to HEAD has no body whatever its headers say.
    mutating func expectResponse(toHEAD: Bool) {
        respondingToHEAD = toHEAD
    }

    /// The next event from `buffer`, consuming the bytes it covers. Returns nil once `buffer` is used up (a partial
    /// head is kept inside until the rest arrives).
    mutating func next(_ buffer: inout ByteBuffer) throws -> Event? {
        if endPending {
            endPending = false
            state = .awaitingHead
            dechunk = false
            return .end
        }
        switch state {
        case .awaitingHead:
            guard let head = try takeHead(&buffer) else { return nil }
            switch head.framing {
            case .none where head.isInformational:
                break  // the final response follows
            case .none, .length(0):
                endPending = true
            case .length(let length):
                state = .length(remaining: length)
            case .chunked:
                state = .chunked(ChunkedBodyFramer())
            case .untilClose:
                state = .untilClose
            }
            return .head(head)
        case .length(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            let slice = buffer.readSlice(length: count)!
            if count == remaining { endPending = true } else { state = .length(remaining: remaining - count) }
            return .body(slice)
        case .untilClose:
            guard buffer.readableBytes > 0 else { return nil }
            return .body(buffer.readSlice(length: buffer.readableBytes)!)
        case .chunked(var framer):
            while buffer.readableBytes > 0 {
                let step = try buffer.withUnsafeReadableBytes { try framer.scan($0, dechunk: dechunk) }
                state = .chunked(framer)
                if framer.isComplete { endPending = true }
                if step.skip > 0 {
                    // Framing the client must not see: consumed, then look again.
                    buffer.moveReaderIndex(forwardBy: step.skip)
                    if framer.isComplete { return try next(&buffer) }
                    continue
                }
                let slice = buffer.readSlice(length: step.pass)!
                return .body(slice)
            }
            return endPending ? try next(&buffer) : nil
        }
    }

    /// The upstream closed the connection: the end of a body that runs until close, nothing between responses, or
    /// an error in the middle of one.
    mutating func endOfInput() throws -> Event? {
        if endPending {
            var nothing = ByteBuffer()
            return try next(&nothing)
        }
        switch state {
        case .untilClose:
            state = .awaitingHead
            return .end
        case .awaitingHead where partialHead == nil:
            return nil
        default:
            throw ParseError.truncated
        }
    }

    // MARK: - Heads

    private mutating func takeHead(_ buffer: inout ByteBuffer) throws -> Head? {
        if var partial = partialHead {
            // Rare: the head spans reads. Rescan from just before the new bytes, where its blank line may start.
            partialHead = nil  // the only reference left, so appending does not copy
            let from = max(0, partial.readableBytes - 3)
            partial.writeBuffer(&buffer)
            guard let length = Self.headLength(partial, from: from) else {
                guard partial.readableBytes <= Self.maxHeadBytes else { throw ParseError.headTooLarge }
                partialHead = partial
                return nil
            }
            guard length <= Self.maxHeadBytes else { throw ParseError.headTooLarge }
            let raw = partial.readSlice(length: length)!
            // Bytes past the head belong to the body: hand them back.
            buffer = partial
            partialHead = nil
            return try parseHead(raw)
        }
        guard let length = Self.headLength(buffer, from: 0) else {
            guard buffer.readableBytes <= Self.maxHeadBytes else { throw ParseError.headTooLarge }
            if buffer.readableBytes > 0 { partialHead = buffer }
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
        guard length <= Self.maxHeadBytes else { throw ParseError.headTooLarge }
        return try parseHead(buffer.readSlice(length: length)!)
    }

    /// The length of the head at the start of `buffer` (through its blank line), or nil if it is not all there.
    private static func headLength(_ buffer: ByteBuffer, from start: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            var lineStart = start
            while let lineFeed = ByteScan.index(of: UInt8(ascii: "\n"), in: bytes, from: lineStart) {
                // A line ends here; the head ends if the next line is empty ("\r\n" or a bare "\n").
                if lineFeed + 1 < bytes.count, bytes[lineFeed + 1] == UInt8(ascii: "\n") { return lineFeed + 2 }
                if lineFeed + 2 < bytes.count, bytes[lineFeed + 1] == UInt8(ascii: "\r"),
                    bytes[lineFeed + 2] == UInt8(ascii: "\n")
                {
                    return lineFeed + 3
                }
                lineStart = lineFeed + 1
            }
            return nil
        }
    }

    private func parseHead(_ raw: ByteBuffer) throws -> Head {
        let summary = try raw.withUnsafeReadableBytes { try HeadSummary(parsing: $0) }
        let framing: Framing
        if respondingToHEAD || summary.status < 200 || summary.status == 204 || summary.status == 304 {
            framing = .none
        } else if summary.chunked != nil {
            // Transfer-Encoding overrides Content-Length.
            framing = .chunked
        } else if let length = summary.contentLength {
            framing = .length(length)
        } else {
            framing = .untilClose
        }
        let keepAlive = summary.keepAlive && framing != .untilClose && !(summary.chunked != nil && summary.contentLength != nil)
        return Head(
            status: summary.status, minorVersion: summary.minorVersion, raw: raw, framing: framing,
            keepAlive: keepAlive, hasConnectionOptions: summary.hasConnectionOptions)
    }
}

/// What one pass over a response head's bytes finds, checking each line as it goes.
private struct HeadSummary {
    var status = 0
    var minorVersion = 1
    var contentLength: Int?
    /// nil without `Transfer-Encoding`; true with `Transfer-Encoding: chunked`, the only coding accepted.
    var chunked: Bool?
    var keepAlive = true
    var hasConnectionOptions = false

    init(parsing bytes: UnsafeRawBufferPointer) throws {
        var lines = HeadLines(bytes)
        guard let statusLine = lines.next() else { throw UpstreamResponseParser.ParseError.malformedHead("empty") }
        try parseStatusLine(bytes, statusLine)
        keepAlive = minorVersion == 1
        var sawKeepAlive = false
        var sawClose = false
        while let line = lines.next() {
            guard let header = try HeaderLine(bytes, line) else { break }
            switch header.nameLength {
            case 14 where header.nameEquals(bytes, "content-length"):
                let length = try Self.contentLength(bytes, header)
                if let earlier = contentLength, earlier != length {
                    throw UpstreamResponseParser.ParseError.malformedHead("conflicting Content-Length values")
                }
                contentLength = length
            case 17 where header.nameEquals(bytes, "transfer-encoding"):
                // Only `chunked`, once, as nginx accepts: another coding would reach the client undone (the proxy
                // does not decode it), and `chunked` twice is not a valid message.
                var elements = 0
                var allChunked = true
                header.forEachListElement(bytes) { element in
                    elements += 1
                    allChunked = allChunked && HeaderLine.equalsIgnoringCase(bytes, element, "chunked")
                }
                guard elements > 0, allChunked, chunked == nil, elements == 1 else {
                    throw UpstreamResponseParser.ParseError.malformedHead("unsupported Transfer-Encoding")
                }
                chunked = true
            case 10 where header.nameEquals(bytes, "connection"):
                header.forEachListElement(bytes) { element in
                    if HeaderLine.equalsIgnoringCase(bytes, element, "close") {
                        sawClose = true
                    } else if HeaderLine.equalsIgnoringCase(bytes, element, "keep-alive") {
                        sawKeepAlive = true
                    } else {
                        hasConnectionOptions = true
                    }
                }
            default:
                break
            }
        }
        if sawClose { keepAlive = false } else if sawKeepAlive { keepAlive = true }
    }

    /// `HTTP/1.x SP 3DIGIT SP reason`.
    private mutating func parseStatusLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws {
        guard line.count >= 12, ByteScan.hasPrefix(bytes, at: line.lowerBound, "HTTP/1.") else {
            throw UpstreamResponseParser.ParseError.malformedHead("not an HTTP/1.x status line")
        }
        let minor = bytes[line.lowerBound + 7]
        guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1"), bytes[line.lowerBound + 8] == UInt8(ascii: " ")
        else { throw UpstreamResponseParser.ParseError.malformedHead("unsupported HTTP version") }
        minorVersion = Int(minor - UInt8(ascii: "0"))
        var code = 0
        for i in line.lowerBound + 9..<line.lowerBound + 12 {
            let digit = bytes[i] &- UInt8(ascii: "0")
            guard digit < 10 else { throw UpstreamResponseParser.ParseError.malformedHead("invalid status code") }
            code = code * 10 + Int(digit)
        }
        guard code >= 100, line.count == 12 || bytes[line.lowerBound + 12] == UInt8(ascii: " ") else {
            throw UpstreamResponseParser.ParseError.malformedHead("invalid status code")
        }
        for i in line.lowerBound + 12..<line.upperBound where !HeaderLine.isFieldValueByte(bytes[i]) {
            throw UpstreamResponseParser.ParseError.malformedHead("control character in the reason phrase")
        }
        status = code
    }

    private static func contentLength(_ bytes: UnsafeRawBufferPointer, _ header: HeaderLine) throws -> Int {
        guard !header.value.isEmpty, header.value.count <= 18 else {
            throw UpstreamResponseParser.ParseError.malformedHead("invalid Content-Length")
        }
        var length = 0
        for i in header.value {
            let digit = bytes[i] &- UInt8(ascii: "0")
            guard digit < 10 else { throw UpstreamResponseParser.ParseError.malformedHead("invalid Content-Length") }
            length = length * 10 + Int(digit)
        }
        return length
    }
}

/// The lines of a head, each without its line ending; stops at the blank line.
struct HeadLines: IteratorProtocol {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func next() -> Range<Int>? {
        guard position < bytes.count else { return nil }
        let end = ByteScan.index(of: UInt8(ascii: "\n"), in: bytes, from: position) ?? bytes.count
        let start = position
        position = end + 1
        let contentEnd = end > start && bytes[end - 1] == UInt8(ascii: "\r") ? end - 1 : end
        return contentEnd == start ? nil : start..<contentEnd
    }
}

/// One `name: value` line of a head, checked: the name a token, the value free of control characters, no
/// obsolete line folding.
struct HeaderLine {
    let line: Range<Int>
    let nameLength: Int
    /// The value without surrounding spaces and tabs.
    let value: Range<Int>

    /// nil for the blank line that ends the head.
    init?(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws {
        guard !line.isEmpty else { return nil }
        var colon = line.lowerBound
        while colon < line.upperBound, bytes[colon] != UInt8(ascii: ":") {
            guard ByteScan.isTokenByte(bytes[colon]) else {
                throw UpstreamResponseParser.ParseError.malformedHead(
                    colon == line.lowerBound ? "obsolete line folding" : "invalid header name")
            }
            colon += 1
        }
        guard colon < line.upperBound, colon > line.lowerBound else {
            throw UpstreamResponseParser.ParseError.malformedHead("header line without a name and colon")
        }
        var start = colon + 1
        var end = line.upperBound
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard ByteScan.allFieldValueBytes(bytes, start..<end) else {
            throw UpstreamResponseParser.ParseError.malformedHead("control character in a header value")
        }
        self.line = line
        self.nameLength = colon - line.lowerBound
        self.value = start..<end
    }

    var name: Range<Int> { line.lowerBound..<line.lowerBound + nameLength }

    /// Compares the name with a lowercase ASCII name of the same length.
    func nameEquals(_ bytes: UnsafeRawBufferPointer, _ lowercaseName: StaticString) -> Bool {
        Self.equalsIgnoringCase(bytes, name, lowercaseName)
    }

    /// Calls `body` with each non-empty element of the comma-separated value, trimmed.
    func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ body: (Range<Int>) -> Void) {
        var start = value.lowerBound
        while start <= value.upperBound {
            var end = start
            while end < value.upperBound, bytes[end] != UInt8(ascii: ",") { end += 1 }
            var a = start
            var b = end
            while a < b, bytes[a] == 0x20 || bytes[a] == 0x09 { a += 1 }
            while b > a, bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09 { b -= 1 }
            if a < b { body(a..<b) }
            start = end + 1
        }
    }

    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        var offset = 0
        while offset < range.count {
            if bytes[range.lowerBound + offset].asciiLowercased != expected[offset] { return false }
            offset += 1
        }
        return true
    }

    /// Visible ASCII, space, tab and obs-text (RFC 9110 §5.5); no other control characters.
    static func isFieldValueByte(_ b: UInt8) -> Bool {
        b >= 0x20 ? b != 0x7f : b == 0x09
    }
}
