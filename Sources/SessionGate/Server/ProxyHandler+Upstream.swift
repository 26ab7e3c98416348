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
        loop.pool.acquire(server, connectTimeout: upstream.connectTimeout, fresh: fresh) { result in
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
        guard let context, let head = exchange.upstreamHead else { return }
        upstream.delegate = self
        state = .proxying(exchange, upstream)
        if exchange.expectsContinue && !exchange.requestComplete && !exchange.replayed {
            // The client waits for this before sending its body; the upstream never sees `Expect`.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: exchange.head.version, status: .continue))), promise: nil)
        }
        upstream.write(.head(head))
        for part in exchange.buffered {
            switch part {
            case .body(let buffer): upstream.write(.body(.byteBuffer(buffer)))
            case .end(let trailers): upstream.write(.end(trailers))
            case .head: break
            }
        }
        exchange.buffered.removeAll()
        upstream.flush()
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

    func upstream(_ connection: UpstreamConnection, didReceive part: HTTPClientResponsePart) {
        guard case .proxying(let exchange, let upstream) = state, upstream === connection, let context else { return }
        switch part {
        case .head(let head):
            exchange.responseDeadline = nil
            if !head.isKeepAlive { connection.isReusable = false }
            // An HTTP/1.0 client can only learn where a body of unknown length ends by the connection closing.
            if exchange.head.version.minor == 0 && !head.headers.contains(name: "content-length") {
                exchange.keepAlive = false
            }
            let clientHead = RequestRewriter.clientResponseHead(
                from: head, keepAlive: exchange.keepAlive, clientVersion: exchange.head.version)
            exchange.response = .streaming
            context.write(wrapOutboundOut(.head(clientHead)), promise: nil)
        case .body(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if !context.channel.isWritable { connection.holdReads() }
        case .end(let trailers):
            exchange.response = .complete
            // The server is done with it: its in-flight slot is free before the client can see the end, so a client
            // that sends its next request on receipt never finds its own previous one still counted.
            releaseServer(exchange, .success)
            if exchange.requestComplete && exchange.keepAlive {
                // The usual case needs no future: nothing waits for this write.
                context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
                finish(exchange, upstream: connection, responseWritten: nil)
                return
            }
            let written = context.writeAndFlush(wrapOutboundOut(.end(trailers)))
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
    }

    func upstreamDidReadComplete(_ connection: UpstreamConnection) {
        context?.flush()
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
                exchange.buffered = [.end(nil)]
                connectUpstream(exchange, fresh: true)
                return
            }
            // The request may have reached the server: only an idempotent request without a body goes elsewhere.
            attemptFailed(exchange, upstream: proxy.upstreams[exchange.route.upstreamIndex],
                mayRetry: exchange.canBeSentAgain,
                .badGateway("the upstream server closed the connection without answering"))
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
        exchange.buffered.removeAll()
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
        guard let context else { return }
        var body = context.channel.allocator.buffer(capacity: 96)
        body.writeString(response.body)
        var head = response.head(version: version, keepAlive: keepAlive, bodyLength: body.readableBytes)
        for (name, value) in extraHeaders { head.headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Closes the client connection, once `pendingWrite` (if any) is written, and any upstream connection in use.
    func closeConnection(after pendingWrite: EventLoopFuture<Void>? = nil) {
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
