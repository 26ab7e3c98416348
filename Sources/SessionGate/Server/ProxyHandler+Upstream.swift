import NIOCore
import NIOHTTP1

extension ProxyHandler: UpstreamConnectionDelegate {
    /// Takes an upstream connection for the exchange, to the server the balancer picks (see
    /// `ProxyHandler+Balancing.swift`); `fresh` replays on a new connection to the same server after a stale
    /// keep-alive connection failed.
    func connectUpstream(_ exchange: Exchange, fresh: Bool) {
        let upstream = proxy.upstreams[exchange.route.upstreamIndex]
        guard let server = serverForAttempt(exchange, upstream: upstream, sameServer: fresh) else { return }
        state = .connecting(exchange)
        if !fresh, let connection = loop.pool.takeIdle(server) {
            // The usual case: a kept-alive connection, with no callback to allocate.
            startProxying(exchange, on: connection, responseTimeout: upstream.responseTimeout)
            return
        }
        loop.pool.connect(server, timeout: upstream.connectTimeout) { result in
            guard case .connecting(let current) = self.state, current === exchange else {
                // The client went away meanwhile: the connection is still good for someone else.
                if case .success(let connection) = result { self.loop.pool.release(connection) }
                self.releaseServer(exchange, .neutral)
                return
            }
            switch result {
            case .success(let connection):
                self.startProxying(exchange, on: connection, responseTimeout: upstream.responseTimeout)
            case .failure(let error):
                self.proxy.logger.warning(
                    "upstream connect failed",
                    metadata: ["server": "\(server.label)", "error": "\(error)", "request_id": "\(exchange.requestID)"])
                // Nothing was sent: any request may go to the next server.
                if case ChannelError.connectTimeout? = error as? ChannelError {
                    self.attemptFailed(exchange, upstream: upstream, mayRetry: true,
                        .gatewayTimeout("the upstream server did not accept the connection in time"))
                } else {
                    self.attemptFailed(exchange, upstream: upstream, mayRetry: true,
                        .badGateway("the upstream server refused the connection"))
                }
            }
        }
    }

    private func startProxying(_ exchange: Exchange, on upstream: UpstreamConnection, responseTimeout: TimeAmount) {
        guard context != nil, let head = exchange.upstreamHead else { return }
        upstream.delegate = self
        state = .proxying(exchange, upstream)
        if exchange.expectsContinue && !exchange.requestComplete && !exchange.replayed {
            // The client waits for this before sending its body; the upstream never sees `Expect`.
            writeContinue(version: exchange.head.version)
        }
        // A request without buffered body bytes (the usual GET) leaves in one write-and-flush. A body still to come
        // in the read being handled (a POST's usual case) leaves with its head: the flush waits for the body's end or
        // the end of the read, so head and body go in one write.
        let flushWithBody = readingClient && exchange.hasBody && !exchange.requestComplete && exchange.bufferedBody.isEmpty
        upstream.writeHead(head, method: exchange.head.method, flush: exchange.bufferedBody.isEmpty && !flushWithBody)
        if flushWithBody { upstreamNeedsFlush = true }
        if !exchange.bufferedBody.isEmpty {
            for buffer in exchange.bufferedBody { upstream.writeBody(buffer) }
            upstream.flush()
            exchange.bufferedBody.removeAll()
        }
        let deadline = NIODeadline.now() + responseTimeout
        exchange.responseDeadline = deadline
        armResponseTimer(deadline)
        resumeReadsIfPossible()
    }

    /// Arms the connection's one response timer for `deadline`, unless it is already armed for a moment no later
    /// (it then re-arms itself when it fires). Requests on a kept-alive connection so share one scheduled task instead
    /// of scheduling and cancelling one each.
    func armResponseTimer(_ deadline: NIODeadline) {
        if let armed = responseTimerDeadline, armed <= deadline { return }
        guard let context else { return }
        responseTimer?.cancel()
        responseTimerDeadline = deadline
        responseTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.responseTimerFired()
        }
    }

    private func responseTimerFired() {
        responseTimer = nil
        responseTimerDeadline = nil
        guard case .proxying(let exchange, _) = state, let deadline = exchange.responseDeadline else { return }
        if deadline <= .now() {
            responseTimedOut(exchange)
        } else {
            armResponseTimer(deadline)
        }
    }

    /// Stops the response timer (the connection is closing).
    func cancelResponseTimer() {
        responseTimer?.cancel()
        responseTimer = nil
        responseTimerDeadline = nil
    }

    private func responseTimedOut(_ exchange: Exchange) {
        guard case .proxying(let current, let upstream) = state, current === exchange, exchange.response == .awaitingHead
        else { return }
        upstream.delegate = nil
        upstream.close()
        releaseServer(exchange, .failure)
        answer(exchange, with: .gatewayTimeout("the upstream server did not answer in time"))
    }

    func upstream(_ connection: UpstreamConnection, didReceive event: UpstreamResponseParser.Event) {
        guard case .proxying(let exchange, let upstream) = state, upstream === connection, let context else { return }
        switch event {
        case .head(let head) where head.isInformational:
            receivedInterimHead(head, exchange: exchange, upstream: connection)
        case .head(let head):
            receivedHead(head, exchange: exchange, connection: connection)
        case .body(let buffer):
            receivedBody(buffer, exchange: exchange, connection: connection, context: context)
        case .end:
            receivedEnd(exchange: exchange, connection: connection, context: context)
        case .whole(let head, let body):
            receivedWhole(head, body: body, exchange: exchange, connection: connection, context: context)
        }
    }

    /// The usual response, all in one read: the head's plan, then head and small body put together in the loop's
    /// reused buffer and written with the end, with one look at the state. Otherwise the same three steps as apart.
    private func receivedWhole(
        _ head: UpstreamResponseParser.Head, body: ByteBuffer?, exchange: Exchange, connection: UpstreamConnection,
        context: ChannelHandlerContext
    ) {
        let plan = startResponse(head, exchange: exchange, connection: connection)
        if plan.framing == .passThrough && (body?.readableBytes ?? 0) <= Self.maxBodyJoinedToHead {
            loop.responseBuffer.clear()
            ClientResponseHead.write(
                head, plan: plan, clientMinorVersion: exchange.head.version.minor, into: &loop.responseBuffer)
            if let body { loop.responseBuffer.writeImmutableBuffer(body) }
            // A copy of the value, not of the bytes; the loop's buffer is not written again until this has gone.
            heldResponseHead = loop.responseBuffer
        } else {
            heldResponseHead = clientHead(head, plan: plan, exchange: exchange)
            if let body { receivedBody(body, exchange: exchange, connection: connection, context: context) }
        }
        receivedEnd(exchange: exchange, connection: connection, context: context)
    }

    /// A final response head: its plan for the client, and its copy for the client, held until the body or the end.
    private func receivedHead(
        _ head: UpstreamResponseParser.Head, exchange: Exchange, connection: UpstreamConnection
    ) {
        let plan = startResponse(head, exchange: exchange, connection: connection)
        heldResponseHead = clientHead(head, plan: plan, exchange: exchange)
    }

    /// What a final response head decides: how its body reaches the client and whether either connection stays.
    private func startResponse(
        _ head: UpstreamResponseParser.Head, exchange: Exchange, connection: UpstreamConnection
    ) -> ClientResponsePlan {
        exchange.responseDeadline = nil
        if !head.keepAlive { connection.isReusable = false }
        let plan = ClientResponsePlan(
            upstream: head.framing, clientMinorVersion: exchange.head.version.minor, clientKeepAlive: exchange.keepAlive)
        exchange.keepAlive = plan.keepAlive
        exchange.responseFraming = plan.framing
        if plan.framing == .dechunk { connection.dechunkResponseBody() }
        exchange.response = .streaming
        return plan
    }

    /// The head as the client gets it, in a buffer of its own.
    private func clientHead(
        _ head: UpstreamResponseParser.Head, plan: ClientResponsePlan, exchange: Exchange
    ) -> ByteBuffer {
        // What `ClientResponseHead.write` reserves, with room left for a small body read with the head.
        var out = allocator.buffer(capacity: head.raw.readableBytes * 2 + 64)
        ClientResponseHead.write(head, plan: plan, clientMinorVersion: exchange.head.version.minor, into: &out)
        return out
    }

    private func receivedBody(
        _ buffer: ByteBuffer, exchange: Exchange, connection: UpstreamConnection, context: ChannelHandlerContext
    ) {
        if var head = heldResponseHead {
            heldResponseHead = nil
            if exchange.responseFraming == .passThrough && buffer.readableBytes <= Self.maxBodyJoinedToHead {
                // Still held: the end usually follows in this read, and then head, body and flush leave in one
                // pipeline call (otherwise the read's end writes it).
                head.writeImmutableBuffer(buffer)
                heldResponseHead = head
                return
            }
            context.write(wrapOutboundOut(head), promise: nil)
        }
        if exchange.responseFraming == .rechunk {
            var header = allocator.buffer(capacity: 18)
            header.writeChunkHeader(size: buffer.readableBytes)
            context.write(wrapOutboundOut(header), promise: nil)
            context.write(wrapOutboundOut(buffer), promise: nil)
            context.write(wrapOutboundOut(ByteBuffer(staticString: "\r\n")), promise: nil)
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
        if !context.channel.isWritable { connection.holdReads() }
    }

    private func receivedEnd(exchange: Exchange, connection: UpstreamConnection, context: ChannelHandlerContext) {
        let held = heldResponseHead
        heldResponseHead = nil
        exchange.response = .complete
        // The server is done with it: its in-flight slot is free before the client can see the end, so a client
        // that sends its next request on receipt never finds its own previous one still counted.
        releaseServer(exchange, .success)
        // Only a re-chunked body has bytes left to send: its last chunk.
        let last: ByteBuffer? = exchange.responseFraming == .rechunk ? ByteBuffer(staticString: "0\r\n\r\n") : nil
        if exchange.requestComplete && exchange.keepAlive {
            // The usual case needs no future: nothing waits for this write.
            if let last {
                if let held { context.write(wrapOutboundOut(held), promise: nil) }
                context.writeAndFlush(wrapOutboundOut(last), promise: nil)
            } else if let held {
                context.writeAndFlush(wrapOutboundOut(held), promise: nil)
            } else {
                context.flush()
            }
            finish(exchange, upstream: connection, responseWritten: nil)
            return
        }
        if let held { context.write(wrapOutboundOut(held), promise: nil) }
        // An empty write when nothing is left: its future says when everything before it has gone.
        let written = context.writeAndFlush(wrapOutboundOut(last ?? ByteBuffer()))
        if exchange.requestComplete {
            finish(exchange, upstream: connection, responseWritten: written)
        } else {
            // The upstream answered before reading the whole body: neither connection can be trusted to be
            // at a message boundary, so both close.
            connection.delegate = nil
            connection.close()
            closeConnection(after: written)
        }
    }

    /// A 1xx response: passed on to an HTTP/1.1 client (an HTTP/1.0 one cannot take it); the final response follows.
    /// `101 Switching Protocols` cannot happen when the proxy forwards no `Upgrade`: such an upstream is broken.
    private func receivedInterimHead(_ head: UpstreamResponseParser.Head, exchange: Exchange, upstream: UpstreamConnection) {
        guard let context else { return }
        if head.status == 101 {
            upstream.delegate = nil
            upstream.close()
            releaseServer(exchange, .failure)
            answer(exchange, with: .badGateway("the upstream server switched protocols without being asked to"))
            return
        }
        guard exchange.head.version.minor >= 1 else { return }
        var out = allocator.buffer(capacity: head.raw.readableBytes)
        let plan = ClientResponsePlan(keepAlive: true, framing: .passThrough)
        ClientResponseHead.write(head, plan: plan, clientMinorVersion: 1, into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func upstreamDidReadComplete(_ connection: UpstreamConnection) {
        writeHeldResponseHead()
        context?.flush()
    }

    /// Bodies up to this size are copied into the response head's buffer when they arrive with it.
    static let maxBodyJoinedToHead = 2048

    func writeHeldResponseHead() {
        guard let head = heldResponseHead, let context else { return }
        heldResponseHead = nil
        context.write(wrapOutboundOut(head), promise: nil)
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        resumeReadsIfPossible()
    }

    func upstream(_ connection: UpstreamConnection, didCloseWith error: Error?) {
        guard case .proxying(let exchange, let upstream) = state, upstream === connection else { return }
        connection.delegate = nil
        exchange.responseDeadline = nil
        switch exchange.response {
        case .awaitingHead:
            if connection.wasReused && exchange.isReplayable {
                // A kept-alive connection the upstream had already closed: send the request again on a new one
                // to the same server (this is not the server's fault and uses no retry).
                exchange.replayed = true
                connectUpstream(exchange, fresh: true)
                return
            }
            // The request may have reached the server: only an idempotent request without a body goes elsewhere.
            let failure: ErrorResponse
            if let error = error as? UpstreamResponseParser.ParseError {
                proxy.logger.warning(
                    "invalid upstream response",
                    metadata: ["server": "\(exchange.server?.label ?? "?")", "error": "\(error)", "request_id": "\(exchange.requestID)"])
                failure = .badGateway("the upstream server sent an invalid response")
            } else {
                failure = .badGateway("the upstream server closed the connection without answering")
            }
            attemptFailed(exchange, upstream: proxy.upstreams[exchange.route.upstreamIndex],
                mayRetry: exchange.canBeSentAgain, failure)
        case .streaming:
            // Part of the response is already with the client; closing is the only honest signal left.
            releaseServer(exchange, .failure)
            closeConnection()
        case .complete:
            break
        }
    }

    /// Both directions are done: the upstream connection goes back to the pool and the client may send more.
    func finish(_ exchange: Exchange, upstream: UpstreamConnection, responseWritten: EventLoopFuture<Void>?) {
        releaseServer(exchange, .success)
        // Its head was answered: nothing will send it again, so its buffer serves a later request's head.
        if let head = exchange.upstreamHead {
            exchange.upstreamHead = nil
            loop.recycleHeadBuffer(head.bytes)
        }
        loop.pool.release(upstream)
        if exchange.keepAlive {
            state = .idle
            resumeReadsIfPossible()
        } else {
            state = .closing
            closeConnection(after: responseWritten)
        }
    }

    // MARK: - Answers from the proxy itself

    /// Writes the proxy's own answer; if the request still has a body in flight, the connection closes afterwards
    /// rather than read a body nobody wants.
    func answer(_ exchange: Exchange, with response: ErrorResponse, clearCookie: Bool = false) {
        releaseServer(exchange, .neutral)
        exchange.responseDeadline = nil
        exchange.bufferedBody.removeAll()
        let bodyPending = exchange.hasBody && !exchange.requestComplete
        let keepAlive = exchange.keepAlive && !bodyPending
        exchange.keepAlive = keepAlive
        var extra: [(String, String)] = [("X-Request-ID", exchange.requestID)]
        if clearCookie { extra.append(("Set-Cookie", proxy.clearCookie)) }
        writeErrorResponse(response, version: exchange.head.version, keepAlive: keepAlive, extraHeaders: extra)
        if !keepAlive {
            state = .closing
        } else if exchange.requestComplete {
            state = .idle
        } else {
            state = .discardingBody(exchange)
        }
        resumeReadsIfPossible()
    }

    func writeErrorResponse(_ response: ErrorResponse, version: HTTPVersion, keepAlive: Bool, extraHeaders: [(String, String)]) {
        let body = response.body
        var head = response.head(version: version, keepAlive: keepAlive, bodyLength: body.utf8.count)
        for (name, value) in extraHeaders { head.headers.add(name: name, value: value) }
        writeOwnResponse(head, body: body, closeAfter: !keepAlive)
    }

    /// Writes a whole response the proxy composed, head and body in one buffer; closes the connection after it
    /// when `closeAfter`. - Returns: the write's future.
    @discardableResult
    func writeOwnResponse(_ head: HTTPResponseHead, body: String, closeAfter: Bool) -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        var out = allocator.buffer(capacity: 256 + body.utf8.count)
        out.writeResponseHead(head)
        out.writeString(body)
        let written = context.writeAndFlush(wrapOutboundOut(out))
        if closeAfter {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
        return written
    }

    /// `100 Continue`: the client may send its body.
    func writeContinue(version: HTTPVersion) {
        guard let context else { return }
        var out = allocator.buffer(capacity: 32)
        out.writeResponseHead(HTTPResponseHead(version: version, status: .continue))
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    /// Closes the client connection, once `pendingWrite` (if any) is written, and any upstream connection in use.
    func closeConnection(after pendingWrite: EventLoopFuture<Void>? = nil) {
        heldResponseHead = nil
        if case .proxying(let exchange, let upstream) = state {
            exchange.responseDeadline = nil
            releaseServer(exchange, .neutral)
            upstream.delegate = nil
            upstream.close()
        }
        state = .closing
        guard let context else { return }
        let channel = context.channel
        if let pendingWrite {
            pendingWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}
