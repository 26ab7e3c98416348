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
        /// The hop-by-hop and framing header lines in ``raw``, found while the head was checked.
        var lineSkips = ResponseLineSkips()
        /// Where the header lines start in ``raw`` (after the status line).
        var headerStart = 0

        /// 1xx: an interim response; the final one follows on the same connection.
        var isInformational: Bool { status >= 100 && status < 200 }
    }

    enum Event {
        case head(Head)
        /// Body bytes to pass on: with chunk framing for a chunked body, unless ``dechunk`` is set.
        case body(ByteBuffer)
        case end
        /// A whole final response found in the bytes read: its head and its body (nil when it has none), which
        /// stands for `head`, `body` and `end` in one event. Only with ``coalescesWholeResponses``, and only for a
        /// body of known length (or none): chunked and until-close bodies arrive as `head`, `body`s and `end`.
        case whole(Head, body: ByteBuffer?)
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
    private var heads = HeadCollector(maxBytes: UpstreamResponseParser.maxHeadBytes)
    private var endPending = false
    private var respondingToHEAD = false
    /// Pass only the data of a chunked body, without its framing (for an HTTP/1.0 client). Set per response, after
    /// its head and before its body.
    var dechunk = false
    /// Report a response whose head and whole body are in the bytes read as one ``Event/whole`` event: the proxy's
    /// usual response is then handled in one call instead of three. Off by default, so the three events stay the
    /// unit the tests compare with.
    var coalescesWholeResponses = false

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
            if coalescesWholeResponses && !head.isInformational {
                switch head.framing {
                case .none, .length(0):
                    return .whole(head, body: nil)
                case .length(let length) where length <= buffer.readableBytes:
                    return .whole(head, body: buffer.readSlice(length: length)!)
                default:
                    break  // the body is still to come, or has no length: reported piece by piece below
                }
            }
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
            guard let (slice, left) = buffer.readBodySlice(remaining: remaining) else { return nil }
            if left == 0 { endPending = true } else { state = .length(remaining: left) }
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
        case .awaitingHead where !heads.holdsPartialHead:
            return nil
        default:
            throw ParseError.truncated
        }
    }

    // MARK: - Heads

    private mutating func takeHead(_ buffer: inout ByteBuffer) throws -> Head? {
        guard let raw = try heads.take(&buffer, tooLarge: ParseError.headTooLarge) else { return nil }
        return try parseHead(raw)
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
            keepAlive: keepAlive, hasConnectionOptions: summary.hasConnectionOptions, lineSkips: summary.lineSkips,
            headerStart: summary.headerStart)
    }
}
