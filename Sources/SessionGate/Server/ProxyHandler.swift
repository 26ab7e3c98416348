import Logging
import NIOCore
import NIOHTTP1

/// Serves one client connection: routes each request, checks its session, and streams it to an upstream and the
/// response back.
///
/// The request head is parsed once, in place (``ClientRequestParser``), and written for the upstream once, as bytes
/// (``RequestRewriter``); request bodies pass through as they were read. The upstream's response is not decoded: ``UpstreamResponseParser`` frames it, its head is
/// rewritten as bytes (``ClientResponseHead``) and bodies pass through as the buffers that were read, with framing
/// only. Backpressure runs both ways: client reads stop while the upstream cannot take more, upstream reads stop
/// while the client cannot.
///
/// Pipelined requests are queued here rather than by NIO's `HTTPServerPipelineHandler`: that handler holds client
/// reads for the whole of every request, which costs two `epoll_ctl` calls per request. Reads are held only when
/// something really waits: a pipelined request, a body while the session is checked, a full upstream socket.
/// It does not parse bodies or cache sessions; choosing a server and retrying on another one is in
/// `ProxyHandler+Balancing.swift`.
final class ProxyHandler: ChannelInboundHandler {
    /// Requests arrive as bytes: ``ClientRequestParser`` frames them here, so the pipeline has no HTTP decoder.
    typealias InboundIn = ByteBuffer
    typealias RequestPart = ClientRequestParser.Event
    /// Responses leave as bytes: the proxy's own are written whole, the upstream's pass through (see
    /// ``ClientResponseHead``), so the client pipeline has no response encoder.
    typealias OutboundOut = ByteBuffer

    /// Where the connection is; transitions are noted on each case.
    enum State {
        /// Waiting for a request head. → .authenticating, .connecting, .discardingBody
        case idle
        /// The store is checking the session. → .connecting, .discardingBody
        case authenticating(Exchange)
        /// Waiting for an upstream connection. → .proxying, .discardingBody
        case connecting(Exchange)
        /// Request and response streaming. → .idle, .closing
        case proxying(Exchange, UpstreamConnection)
        /// The proxy answered itself; the rest of the request body is dropped. → .idle, .closing
        case discardingBody(Exchange)
        /// An `[auth]` endpoint: its body is collected, then ``AuthService`` answers (ProxyHandler+Auth.swift).
        /// → .idle, .closing
        case ownEndpoint(Exchange, AuthEndpoint, body: ByteBuffer)
        /// The connection is being closed; nothing more is read or written.
        case closing

        var isIdle: Bool {
            if case .idle = self { return true }
            return false
        }
    }

    let proxy: ProxyContext
    let loop: LoopResources
    var state: State = .idle
    var context: ChannelHandlerContext?
    private var peerAddress = "unknown"
    /// Whether the peer is one of `trusted_proxies`, decided once per connection (the peer cannot change).
    private var peerIsTrusted = false
    private var pendingRead = false
    /// Parts of requests that arrived while an earlier request was still being served (HTTP/1.1 pipelining).
    private var pipelined = CircularBuffer<RequestPart>()
    private var parser = ClientRequestParser()
    /// What was worked out from the token this connection presented last (see ``SessionLookupMemo``); made on the
    /// first session check, so connections that never present one do not carry it.
    private var lookupMemo: SessionLookupMemo?
    private var drainingPipelined = false
    private var pipelinedScheduled = false
    var upstreamNeedsFlush = false
    /// True while a client read is being handled: `channelReadComplete` follows, and flushes the upstream then.
    var readingClient = false
    /// A response head not yet passed down, with any small body read with it, so that they leave in one buffer and,
    /// when the response ends in the same read, in one write-and-flush. Always written before anything else of the
    /// response, at its end, or at the end of each upstream read.
    var heldResponseHead: ByteBuffer?
    /// The connection's one response timer and the moment it is armed for (see `armResponseTimer(_:)`).
    var responseTimer: Scheduled<Void>?
    var responseTimerDeadline: NIODeadline?
    /// The channel's allocator, read once: asking the channel for it costs a few hundred instructions per request.
    var allocator = ByteBufferAllocator()

    init(proxy: ProxyContext, loop: LoopResources) {
        self.proxy = proxy
        self.loop = loop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        peerAddress = context.channel.remoteAddress?.addressText ?? "unknown"
        peerIsTrusted = proxy.clientAddresses.isTrusted(peerAddress)
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        readingClient = true
        defer { readingClient = false }
        do {
            while let part = try parser.next(&buffer) {
                if case .closing = state { return }
                receive(part)
            }
        } catch let error as ClientRequestParser.ParseError {
            refuse(error)
        } catch {
            closeConnection()
        }
    }

    /// A request the parser refused. Said precisely when nothing else is in progress on the connection, then closed
    /// either way: the stream cannot be trusted past this point.
    private func refuse(_ error: ClientRequestParser.ParseError) {
        guard state.isIdle, pipelined.isEmpty else {
            closeConnection()
            return
        }
        let response: ErrorResponse
        switch error {
        case .malformed:
            response = .badRequest("the request is not valid HTTP/1.1: \(error)")
        case .headTooLarge:
            response = ErrorResponse(
                status: .requestHeaderFieldsTooLarge, error: "request_header_fields_too_large", message: "\(error)")
        case .unsupportedVersion:
            response = ErrorResponse(status: .httpVersionNotSupported, error: "http_version_not_supported", message: "\(error)")
        case .unsupportedTransferCoding:
            response = ErrorResponse(status: .notImplemented, error: "not_implemented", message: "\(error)")
        case .malformedChunk:
            closeConnection()
            return
        }
        writeErrorResponse(response, version: .http1_1, keepAlive: false, extraHeaders: [])
        state = .closing
    }

    private func receive(_ part: RequestPart) {
        if !pipelined.isEmpty {
            pipelined.append(part)
        } else if case .head = part, !state.isIdle {
            // The next request arrived before this one was answered: it waits its turn, in order.
            pipelined.append(part)
        } else {
            handle(part)
        }
    }

    private func handle(_ part: RequestPart) {
        switch (part, state) {
        case (.head(let head), .idle):
            begin(head)
        case (.head, _):
            // Heads reach here only when idle (see `channelRead`); anything else is a broken stream.
            closeConnection()
        case (.body(let buffer), .authenticating(let exchange)), (.body(let buffer), .connecting(let exchange)):
            exchange.bufferedBody.append(buffer)
        case (.end, .authenticating(let exchange)), (.end, .connecting(let exchange)):
            exchange.requestComplete = true
        case (.body(let buffer), .proxying(_, let upstream)):
            upstream.writeBody(buffer)
            upstreamNeedsFlush = true
        case (.end, .proxying(let exchange, let upstream)):
            // Only what the body wrote since the head (which `startProxying` flushed): a bodiless request has
            // nothing left, and an empty flush still walks the upstream's pipeline.
            if upstreamNeedsFlush {
                upstream.flush()
                upstreamNeedsFlush = false
            }
            // A response that completed first has already closed this connection (see `upstream(_:didReceive:)`).
            exchange.requestComplete = true
        case (.body(let buffer), .ownEndpoint(let exchange, let endpoint, var body)):
            collectBody(buffer, exchange: exchange, endpoint: endpoint, into: &body)
        case (.end, .ownEndpoint(let exchange, let endpoint, let body)):
            exchange.requestComplete = true
            answerOwnEndpoint(exchange, endpoint: endpoint, body: body)
        case (.body, .discardingBody):
            break
        case (.end, .discardingBody(let exchange)):
            exchange.requestComplete = true
            state = exchange.keepAlive ? .idle : .closing
        case (.body, _), (.end, _):
            break
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        readAgainUnlessHeld(context)
        context.fireChannelActive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush, case .proxying(_, let upstream) = state {
            upstreamNeedsFlush = false
            upstream.flush()
        }
        readAgainUnlessHeld(context)
        // Not passed on: this handler is the pipeline's last, and the tail does nothing with it but cost a hop.
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .proxying(_, let upstream) = state { upstream.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .proxying(let exchange, let upstream):
            exchange.responseDeadline = nil
            releaseServer(exchange, .neutral)
            upstream.delegate = nil
            upstream.close()
        case .connecting(let exchange), .authenticating(let exchange):
            exchange.responseDeadline = nil
        default:
            break
        }
        state = .closing
        cancelResponseTimer()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closeConnection()
    }

    /// Asks for the next read (auto-read is off, see `ProxyServer`), unless reading more would pile data up: a
    /// pipelined request is waiting, a request body is already buffered while the session is checked or the upstream
    /// connects (the buffer stays one read long), or the upstream connection cannot take more (backpressure). Then
    /// ``resumeReadsIfPossible()`` asks later. A complete request waiting for its answer does not hold reads: stopping
    /// and restarting them costs two `epoll_ctl` calls, and whatever comes next is queued anyway.
    private func readAgainUnlessHeld(_ context: ChannelHandlerContext) {
        if shouldHoldReads { pendingRead = true } else { context.read() }
    }

    private var shouldHoldReads: Bool {
        if !pipelined.isEmpty { return true }
        switch state {
        case .authenticating(let exchange), .connecting(let exchange):
            return !exchange.requestComplete && !exchange.bufferedBody.isEmpty
        case .proxying(_, let upstream): return !upstream.isWritable
        case .ownEndpoint(let exchange, _, _): return exchange.requestComplete
        case .idle, .discardingBody, .closing: return false
        }
    }

    /// Called whenever the state may have moved on: serves queued pipelined requests once idle, then reads again
    /// if reads were held.
    func resumeReadsIfPossible() {
        if state.isIdle && !pipelined.isEmpty { schedulePipelined() }
        guard pendingRead, !shouldHoldReads, let context else { return }
        pendingRead = false
        context.read()
    }

    /// Serves the queued requests on the next event-loop tick: this is often called from inside an upstream
    /// connection's read of the previous response, which must unwind before that connection takes a new request.
    private func schedulePipelined() {
        guard !pipelinedScheduled, let context else { return }
        pipelinedScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.pipelinedScheduled = false
            self.servePipelined()
            self.resumeReadsIfPossible()
        }
    }

    /// Feeds queued parts through `handle(_:)` until a head finds the connection busy again.
    private func servePipelined() {
        guard !drainingPipelined, state.isIdle else { return }
        drainingPipelined = true
        defer { drainingPipelined = false }
        while let part = pipelined.first {
            if case .closing = state {
                pipelined.removeAll()
                return
            }
            if case .head = part, !state.isIdle { return }
            pipelined.removeFirst()
            handle(part)
        }
    }

    // MARK: - A request arrives

    private static let requestIDName = Array("x-request-id".utf8)

    private func begin(_ head: RequestHead) {
        // The client's ID is checked in the request's bytes; a string is made only of one that is kept.
        let clientID = head.hasRequestID
            ? head.withFirstValue(lowercaseName: Self.requestIDName) { value in
                RequestRewriter.isWellFormedRequestID(value) ? RequestID(client: String(decoding: value, as: UTF8.self)) : nil
            } ?? nil
            : nil
        let requestID = clientID ?? loop.nextRequestID()
        // The target is read in place: most requests never need it as a string.
        if let problem = head.withTarget(RequestTarget.problem(inTarget:)) {
            answer(Exchange(head: head, route: .none, presented: .none, requestID: requestID), with: .badRequest(problem))
            return
        }
        if let auth = proxy.auth,
            let endpoint = head.withTarget({ AuthEndpoint.match(target: $0, prefix: auth.configuration.prefix) })
        {
            beginOwnEndpoint(head, endpoint: endpoint, requestID: requestID)
            return
        }
        guard let route = head.withTarget(proxy.routes.match(target:)) else {
            answer(Exchange(head: head, route: .none, presented: .none, requestID: requestID), with: .notFound)
            return
        }
        let presented = proxy.extractor.extract(from: head)
        let exchange = Exchange(head: head, route: route, presented: presented, requestID: requestID)
        if route.auth != .public, let refusal = proxy.auth?.csrfRefusal(presented: presented, head: head) {
            answer(exchange, with: refusal)
            return
        }
        guard let token = AccessPolicy.needsLookup(route: route, presented: presented), let context else {
            proceed(exchange, AccessPolicy.decideWithoutLookup(route: route, presented: presented))
            return
        }
        // Set before asking: a store may answer inside the call (a failing connection, an already completed future).
        state = .authenticating(exchange)
        let eventLoop = context.eventLoop
        let memo: SessionLookupMemo
        if let existing = lookupMemo {
            memo = existing
        } else {
            memo = SessionLookupMemo()
            lookupMemo = memo
        }
        let lookup = proxy.store.validate(token, memo: memo, on: eventLoop) {
            // Built only when the store must ask (a near-cache hit allocates nothing). The answer comes on this loop;
            // the bound wrapper carries the handler and exchange into the `Sendable` callback, so no future is needed
            // (see `RedisReplyTarget`).
            let bound = NIOLoopBound((handler: self, exchange: exchange), eventLoop: eventLoop)
            return { result in
                let (handler, exchange) = bound.value
                guard case .authenticating(let current) = handler.state, current === exchange else { return }
                handler.proceed(
                    exchange, AccessPolicy.decide(route: exchange.route, presented: exchange.presented, lookup: result))
            }
        }
        if case .known(let identity) = lookup {
            proceed(exchange, AccessPolicy.decide(route: route, presented: presented, lookup: .success(identity)))
        }
    }

    private func proceed(_ exchange: Exchange, _ decision: AccessDecision) {
        switch decision {
        case .refuse(let kind, let clearCookie):
            answer(exchange, with: Self.errorResponse(for: kind), clearCookie: clearCookie)
        case .forward(let identity):
            let clientAddress = clientAddress(of: exchange.head)
            let context = RequestRewriter.Context(
                peerAddress: peerAddress, clientAddress: clientAddress, requestID: exchange.id, identity: identity)
            var head = loop.takeHeadBuffer(capacity: RequestRewriter.headCapacity(for: exchange.head), allocator: allocator)
            proxy.rewriter.upstreamHead(for: exchange.head, context: context, into: &head)
            exchange.upstreamHead = RequestRewriter.UpstreamHead(bytes: head)
            exchange.balanceKey = balanceKey(for: exchange, identity: identity, clientAddress: clientAddress)
            connectUpstream(exchange, fresh: false)
        }
    }

    /// The client's address: the peer, or with trusted proxies the `X-Forwarded-For` hop they vouch for.
    func clientAddress(of head: RequestHead) -> String {
        // A peer that is not a trusted proxy is the client: the `X-Forwarded-For` split is skipped.
        peerIsTrusted
            ? proxy.clientAddresses.clientAddress(trustedPeer: peerAddress, in: head)
            : peerAddress
    }

    static func errorResponse(for kind: AccessDecision.ErrorKind) -> ErrorResponse {
        switch kind {
        case .missingSession: return .unauthorized("a session is required: log in first")
        case .malformedSession: return .unauthorized("the session token is malformed")
        case .unknownSession: return .unauthorized("the session is unknown or has expired")
        case .missingRole(let roles): return .forbidden("this route requires the role(s): \(roles.joined(separator: ", "))")
        case .storeUnavailable: return .sessionStoreUnavailable
        }
    }
}

@available(*, unavailable)
extension ProxyHandler: Sendable {}
