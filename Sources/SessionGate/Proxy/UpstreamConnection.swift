import NIOCore
import NIOHTTP1

/// Receives what one upstream connection does while it serves a request. Called on the connection's event loop,
/// which is always the client connection's loop too.
protocol UpstreamConnectionDelegate: AnyObject {
    func upstream(_ connection: UpstreamConnection, didReceive event: UpstreamResponseParser.Event)
    func upstreamDidReadComplete(_ connection: UpstreamConnection)
    func upstreamWritabilityChanged(_ connection: UpstreamConnection)
    func upstream(_ connection: UpstreamConnection, didCloseWith error: Error?)
}

/// One keep-alive connection to an upstream server, owned by the event loop it lives on.
///
/// It speaks HTTP/1.1 as bytes: request heads arrive already written (``RequestRewriter``), bodies get chunk framing
/// here when they need it, and responses are framed by an ``UpstreamResponseParser`` rather than decoded.
///
/// While it serves a request its delegate is the client's proxy handler; while idle in the pool it has none, and a
/// close then only removes it from the pool. It can hold reads so a slow client slows the upstream down
/// (backpressure) instead of buffering the response.
final class UpstreamConnection {
    let channel: Channel
    let server: Int
    /// The client's handler while it serves that handler's request. Strong, not weak: a weak reference gives the
    /// handler a side table, which sends every retain and release of it (several per request) down the runtime's slow
    /// path. Each end of an exchange clears it (the handler when it is done or its client goes, the pool on return,
    /// ``closed(error:)`` after telling it), so the cycle it makes with the handler's state lasts one exchange.
    var delegate: UpstreamConnectionDelegate?
    /// Called when the connection closes while idle, so the pool forgets it.
    var onIdleClose: ((UpstreamConnection) -> Void)?
    /// False once the upstream said `Connection: close` or an exchange ended abnormally.
    var isReusable = true
    /// True when taken from the pool rather than freshly connected: such a connection may have been closed by the
    /// upstream in the meantime, so a request that fails on it before any answer may be replayed once.
    var wasReused = false
    /// When it was last put back in the pool, for `idle_timeout`.
    var idleSince: NIODeadline = .distantPast
    private(set) var isClosed = false
    private var readsHeld = false
    private var pendingRead = false
    private var context: ChannelHandlerContext?
    /// Frames what the upstream sends; the handler feeds it.
    fileprivate var parser = UpstreamResponseParser()
    init(channel: Channel, server: Int) {
        self.channel = channel
        self.server = server
        parser.coalescesWholeResponses = true
    }

    var isWritable: Bool { channel.isWritable }

    /// Starts a request: its head as written by ``RequestRewriter``; `flush` when nothing else of it follows now
    /// (one pipeline call instead of a write and a flush).
    func writeHead(_ head: RequestRewriter.UpstreamHead, method: HTTPMethod, flush: Bool) {
        // A pattern, not `==`: HTTPMethod's equality compares raw-value strings.
        if case .HEAD = method { parser.expectResponse(toHEAD: true) } else { parser.expectResponse(toHEAD: false) }
        if flush {
            context?.writeAndFlush(NIOAny(head.bytes), promise: nil)
        } else {
            context?.write(NIOAny(head.bytes), promise: nil)
        }
    }

    /// Request body bytes as the client framed them (a chunked body keeps its chunks: see ``ClientRequestParser``).
    func writeBody(_ buffer: ByteBuffer) {
        context?.write(NIOAny(buffer), promise: nil)
    }

    /// How the body of the response being received reaches the client: see ``UpstreamResponseParser/dechunk``.
    func dechunkResponseBody() { parser.dechunk = true }

    func flush() { context?.flush() }

    func close() {
        isReusable = false
        guard !isClosed else { return }
        isClosed = true
        context?.close(promise: nil)
    }

    /// Stops reading from the upstream until ``resumeReads()``: the client cannot take more yet.
    func holdReads() { readsHeld = true }

    func resumeReads() {
        guard readsHeld else { return }
        readsHeld = false
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    fileprivate func attach(_ context: ChannelHandlerContext) { self.context = context }

    /// Asks for the next read (auto-read is off, see `UpstreamPool.connect`), or remembers to once reads resume.
    fileprivate func readAgainUnlessHeld(_ context: ChannelHandlerContext) {
        if readsHeld { pendingRead = true } else { context.read() }
    }

    fileprivate func closed(error: Error?) {
        isClosed = true
        isReusable = false
        if let delegate {
            self.delegate = nil
            delegate.upstream(self, didCloseWith: error)
        } else {
            onIdleClose?(self)
        }
        context = nil
    }
}

/// The last handler on an upstream channel: hands responses to the connection's delegate and applies its read hold.
final class UpstreamConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let connection: UpstreamConnection
    private var firstError: Error?

    init(connection: UpstreamConnection) { self.connection = connection }

    func handlerAdded(context: ChannelHandlerContext) { connection.attach(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        do {
            while true {
                guard let delegate = connection.delegate else {
                    // An idle connection must not speak: anything it sends (after a complete response, or while in
                    // the pool) makes it unusable.
                    if buffer.readableBytes > 0 { connection.close() }
                    return
                }
                guard let event = try connection.parser.next(&buffer) else { return }
                delegate.upstream(connection, didReceive: event)
                if connection.isClosed { return }
            }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.readAgainUnlessHeld(context)
        context.fireChannelActive()
    }

    /// The delegate goes first: it may hold reads (the client cannot take more) before the next one is asked for.
    func channelReadComplete(context: ChannelHandlerContext) {
        connection.delegate?.upstreamDidReadComplete(connection)
        if !connection.isClosed { connection.readAgainUnlessHeld(context) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.delegate?.upstreamWritabilityChanged(connection)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        do {
            // A body that runs until the upstream closes ends here, unless the connection failed (a reset is no end).
            if firstError == nil, let event = try connection.parser.endOfInput(), let delegate = connection.delegate {
                delegate.upstream(connection, didReceive: event)
            }
        } catch {
            if firstError == nil { firstError = error }
        }
        connection.closed(error: firstError)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if firstError == nil { firstError = error }
        connection.close()
    }
}

@available(*, unavailable)
extension UpstreamConnectionHandler: Sendable {}

@available(*, unavailable)
extension UpstreamConnection: Sendable {}
