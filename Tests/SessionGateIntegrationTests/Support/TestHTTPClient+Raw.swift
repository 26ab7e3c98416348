import NIOCore
import NIOPosix

extension TestHTTPClient {
    /// Sends `bytes` on a fresh TCP connection to this client's port, with no HTTP handling at all.
    ///
    /// See `TestHTTPClient.sendRaw(port:_:readTimeout:until:)`.
    func sendRaw(_ bytes: String, readTimeout: Duration = .seconds(2)) async throws -> String {
        try await Self.sendRaw(port: port, bytes, readTimeout: readTimeout)
    }

    /// Writes `bytes` unchanged to a new TCP connection and returns everything read until the server closes the
    /// connection, what was read satisfies `until`, or `readTimeout` passes, for malformed-request tests.
    ///
    /// - Parameters:
    ///   - port: The server's port on `127.0.0.1`.
    ///   - bytes: What to send, for example `"GET / HTTP/1.1\r\nHost: x\r\n\r\n"`.
    ///   - readTimeout: How long to read before closing the connection; reaching it is not an error.
    ///   - until: Called with everything read so far after each read; true closes the connection and returns. For
    ///     a server that keeps the connection open after answering, so a test need not guess how long the answer
    ///     takes on a loaded machine (``headComplete(_:)``).
    /// - Returns: The bytes received, decoded as UTF-8 (invalid sequences replaced).
    /// - Throws: If the connection or the write fails.
    static func sendRaw(
        port: Int, _ bytes: String, readTimeout: Duration = .seconds(2), until: (@Sendable (String) -> Bool)? = nil
    ) async throws -> String {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let received = loop.makePromise(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(readTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawCollector(received: received, until: until))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        let timer = loop.scheduleTask(in: TimeAmount(readTimeout)) { channel.close(promise: nil) }
        defer { timer.cancel() }
        do {
            try await channel.writeAndFlush(ByteBuffer(string: bytes))
        } catch {
            // The server may close before reading everything; what it answered is still worth returning.
            channel.close(promise: nil)
        }
        let buffer = try await received.futureResult.get()
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    /// For `until`: true once `answer` holds a whole response head (its blank line).
    @Sendable static func headComplete(_ answer: String) -> Bool { answer.contains("\r\n\r\n") }

    /// Collects every byte read and hands them over when the connection closes.
    ///
    /// Read errors (such as a reset) close the connection and keep what was read; it never writes anything itself.
    final class RawCollector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let received: EventLoopPromise<ByteBuffer>
        private let until: (@Sendable (String) -> Bool)?
        private var buffer = ByteBuffer()

        init(received: EventLoopPromise<ByteBuffer>, until: (@Sendable (String) -> Bool)?) {
            self.received = received
            self.until = until
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var chunk = unwrapInboundIn(data)
            buffer.writeBuffer(&chunk)
            if let until, until(String(decoding: buffer.readableBytesView, as: UTF8.self)) {
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            received.succeed(buffer)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            received.succeed(buffer)
        }
    }
}

@available(*, unavailable)
extension TestHTTPClient.RawCollector: Sendable {}
