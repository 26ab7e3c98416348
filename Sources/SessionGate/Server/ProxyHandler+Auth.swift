import NIOCore
import NIOHTTP1

/// The `[auth]` endpoints on a client connection: the body is collected (at most ``maxBodyBytes``), the
/// ``AuthService`` answers off the event loop, and the answer is written here.
extension ProxyHandler {
    /// Login bodies are a user name and a password: anything larger is refused with 413.
    static let maxBodyBytes = 16 * 1024

    func beginOwnEndpoint(_ head: RequestHead, endpoint: AuthEndpoint, requestID: RequestID) {
        let presented = proxy.extractor.extract(from: head)
        let exchange = Exchange(head: head, route: .none, presented: presented, requestID: requestID)
        guard context != nil else { return }
        if exchange.expectsContinue {
            writeContinue(version: head.version)
        }
        state = .ownEndpoint(exchange, endpoint, body: allocator.buffer(capacity: 0))
    }

    func collectBody(_ buffer: ByteBuffer, exchange: Exchange, endpoint: AuthEndpoint, into body: inout ByteBuffer) {
        guard body.readableBytes + buffer.readableBytes <= Self.maxBodyBytes else {
            answer(exchange, with: ErrorResponse(
                status: .payloadTooLarge, error: "payload_too_large",
                message: "auth request bodies are limited to \(Self.maxBodyBytes) bytes"))
            return
        }
        var buffer = buffer
        body.writeBuffer(&buffer)
        state = .ownEndpoint(exchange, endpoint, body: body)
    }

    func answerOwnEndpoint(_ exchange: Exchange, endpoint: AuthEndpoint, body: ByteBuffer) {
        guard let auth = proxy.auth, let context else { return }
        let request = AuthRequest(
            endpoint: endpoint, method: exchange.head.method, headers: exchange.head.headers,
            body: Array(body.readableBytesView), presented: exchange.presented, clientAddress: clientAddress(of: exchange.head))
        let eventLoop = context.eventLoop
        eventLoop.makeFutureWithTask { await auth.handle(request, on: eventLoop) }
            .assumeIsolated()
            .whenComplete { result in
                guard case .ownEndpoint(let current, _, _) = self.state, current === exchange else { return }
                switch result {
                case .success(let response): self.write(response, for: exchange)
                case .failure: self.answer(exchange, with: .sessionStoreUnavailable)
                }
            }
    }

    private func write(_ response: AuthResponse, for exchange: Exchange) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Request-ID", value: exchange.requestID)
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !exchange.keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: exchange.head.version, status: response.status, headers: headers)
        let written = writeOwnResponse(head, body: response.body, closeAfter: false)
        if exchange.keepAlive {
            state = .idle
            resumeReadsIfPossible()
        } else {
            closeConnection(after: written)
        }
    }
}
