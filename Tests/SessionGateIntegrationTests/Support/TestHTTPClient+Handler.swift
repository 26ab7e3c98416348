import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

extension TestHTTPClient {
    /// A request for the `ResponseHandler`: what to send and where the response goes.
    struct Command: Sendable {
        enum Body: Sendable {
            case none
            case buffer(ByteBuffer)
            /// `total` bytes of `TestBodyPattern`, written in `chunkSize` pieces while the channel is writable.
            case generated(total: Int, chunkSize: Int)
        }

        enum Reading: Sendable {
            /// Keep the body in the response.
            case keep
            /// Only count the body (and optionally check a 200 body against `TestBodyPattern`).
            case count(verifyPattern: Bool)
        }

        var head: HTTPRequestHead
        var body: Body
        var reading: Reading
        var response: EventLoopPromise<TestResponse>
    }

    /// Writes `Command`s as HTTP/1.1 requests and completes each command's promise with its response, in order.
    ///
    /// It sits after `addHTTPClientHandlers()`. Generated upload bodies are written chunk by chunk while the channel is
    /// writable, and later commands wait until the upload's body is written. It does not retry, reconnect or time
    /// out: `TestHTTPClient` owns the timeouts. When the connection closes, every pending command fails with
    /// `TestHTTPClientError.connectionClosed`.
    final class ResponseHandler: ChannelDuplexHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundIn = Command
        typealias OutboundOut = HTTPClientRequestPart

        /// A request that was sent (or is being sent) and awaits its response.
        private struct Pending {
            var operation: String
            var reading: Command.Reading
            var response: EventLoopPromise<TestResponse>
        }

        /// The response being read.
        private struct Partial {
            var head: HTTPResponseHead
            var body = ByteBuffer()
            var byteCount = 0
            var mismatchOffset: Int?
        }

        private struct Upload {
            var total: Int
            var chunkSize: Int
            var sent = 0
            var writePromise: EventLoopPromise<Void>?
        }

        private enum Writer {
            /// Ready to write the next command. Transitions to `.uploading` or `.closed`.
            case idle
            /// Writing a generated body; new commands are queued. Transitions to `.idle` or `.closed`.
            case uploading(Upload)
            /// The connection is gone; commands fail at once.
            case closed
        }

        private let uploaded: NIOLockedValueBox<Int>
        private var writer = Writer.idle
        private var queued = CircularBuffer<(Command, EventLoopPromise<Void>?)>()
        private var pending = CircularBuffer<Pending>()
        private var partial: Partial?

        /// - Parameter uploaded: Where to add the generated body bytes written (`TestHTTPClient.uploadBytesWritten`).
        init(uploaded: NIOLockedValueBox<Int>) {
            self.uploaded = uploaded
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let command = unwrapOutboundIn(data)
            switch writer {
            case .idle: start(command, writePromise: promise, context: context)
            case .uploading: queued.append((command, promise))
            case .closed:
                command.response.fail(TestHTTPClientError.connectionClosed(operation: Self.operation(command.head)))
                promise?.fail(ChannelError.ioOnClosedChannel)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                guard let expected = pending.first else {
                    failAll(TestHTTPClientError.unexpectedResponse(status: Int(head.status.code)), context: context)
                    context.close(promise: nil)
                    return
                }
                partial = Partial(head: head)
                if case .keep = expected.reading, let length = head.headers.first(name: "content-length").flatMap(Int.init) {
                    partial?.body.reserveCapacity(min(length, 1 << 20))
                }
            case .body(var chunk):
                guard var response = partial, let expected = pending.first else { return }
                partial = nil  // avoid a copy-on-write of the body buffer
                let size = chunk.readableBytes
                switch expected.reading {
                case .keep:
                    response.body.writeBuffer(&chunk)
                case .count(let verifyPattern):
                    if verifyPattern, response.head.status == .ok, response.mismatchOffset == nil,
                        !TestBodyPattern.matches(chunk, at: response.byteCount)
                    {
                        response.mismatchOffset = response.byteCount
                    }
                }
                response.byteCount += size
                partial = response
            case .end:
                guard let response = partial, let expected = pending.popFirst() else { return }
                partial = nil
                if let offset = response.mismatchOffset {
                    expected.response.fail(TestHTTPClientError.bodyMismatch(uri: expected.operation, offset: offset))
                } else {
                    expected.response.succeed(
                        TestResponse(
                            status: Int(response.head.status.code),
                            headers: response.head.headers.map { ($0.name, $0.value) },
                            body: response.body,
                            bodyByteCount: response.byteCount
                        )
                    )
                }
            }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable, case .uploading = writer {
                pumpUpload(context: context)
            }
            context.fireChannelWritabilityChanged()
        }

        func channelInactive(context: ChannelHandlerContext) {
            failAll(nil, context: context)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A reset from the server is a close like any other; parse errors are reported as they are.
            failAll(error is IOError ? nil : error, context: context)
            context.close(promise: nil)
        }

        private func start(_ command: Command, writePromise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
            pending.append(Pending(operation: Self.operation(command.head), reading: command.reading, response: command.response))
            context.write(wrapOutboundOut(.head(command.head)), promise: nil)
            switch command.body {
            case .none:
                context.write(wrapOutboundOut(.end(nil)), promise: writePromise)
            case .buffer(let body):
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.write(wrapOutboundOut(.end(nil)), promise: writePromise)
            case .generated(let total, let chunkSize):
                writer = .uploading(Upload(total: total, chunkSize: chunkSize, writePromise: writePromise))
                pumpUpload(context: context)
            }
        }

        /// Writes chunks while the channel is writable, then the request end, then any queued commands.
        ///
        /// The state is updated before each write, because a write or flush can re-enter this method through
        /// `channelWritabilityChanged`.
        private func pumpUpload(context: ChannelHandlerContext) {
            var written = 0
            while case .uploading(var upload) = writer, upload.sent < upload.total, context.channel.isWritable {
                let length = min(upload.chunkSize, upload.total - upload.sent)
                let chunk = TestBodyPattern.bytes(at: upload.sent, length: length)
                upload.sent += length
                written += length
                writer = .uploading(upload)
                context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
            }
            if written > 0 {
                uploaded.withLockedValue { [written] in $0 += written }
            }
            if case .uploading(let upload) = writer, upload.sent == upload.total {
                writer = .idle
                context.write(wrapOutboundOut(.end(nil)), promise: upload.writePromise)
                while case .idle = writer, let (command, promise) = queued.popFirst() {
                    start(command, writePromise: promise, context: context)
                }
            }
            context.flush()
        }

        /// Fails every pending and queued command: with `error`, or with `.connectionClosed` when it is nil.
        private func failAll(_ error: (any Error)?, context: ChannelHandlerContext) {
            if case .uploading(let upload) = writer {
                upload.writePromise?.fail(ChannelError.ioOnClosedChannel)
            }
            writer = .closed
            partial = nil
            while let expected = pending.popFirst() {
                expected.response.fail(error ?? TestHTTPClientError.connectionClosed(operation: expected.operation))
            }
            while let (command, promise) = queued.popFirst() {
                let operation = Self.operation(command.head)
                command.response.fail(error ?? TestHTTPClientError.connectionClosed(operation: operation))
                promise?.fail(ChannelError.ioOnClosedChannel)
            }
        }

        private static func operation(_ head: HTTPRequestHead) -> String {
            "\(head.method.rawValue) \(head.uri)"
        }
    }
}

@available(*, unavailable)
extension TestHTTPClient.ResponseHandler: Sendable {}
