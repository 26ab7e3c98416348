import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

extension TestUpstream {
    /// Answers one connection's requests according to `Route`, one request at a time.
    ///
    /// It sits after `configureHTTPServerPipeline()`, whose pipelining handler holds back a pipelined request until
    /// the previous response has ended, and whose error handler answers malformed requests with 400. It never
    /// buffers a request or response body: bodies are counted as they arrive and downloads are generated chunk by
    /// chunk while the channel is writable. It records counters in the shared `Stats` before the response is
    /// written, so a client that has its response can read them.
    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        /// A request whose head has arrived.
        private struct Request {
            var head: HTTPRequestHead
            var route: Route
            var bodyBytes = 0
            var patternOK = true
        }

        /// A `/download` response being written.
        private struct Download {
            var keepAlive: Bool
            var total: Int
            var sent = 0
        }

        private enum State {
            /// Between requests. Transitions to `.receiving` on a request head.
            case idle
            /// Reading the request body. Transitions to `.waiting`, `.streaming`, `.idle` or `.closed` at its end.
            case receiving(Request)
            /// A `/slow` request waiting for its timer. Transitions to `.idle` or `.closed` when it fires.
            case waiting(Scheduled<Void>)
            /// Writing a `/download` body. Transitions to `.idle` or `.closed` after the last chunk.
            case streaming(Download)
            /// Closing or closed; ignores everything.
            case closed
        }

        private let stats: NIOLockedValueBox<Stats>
        private var state = State.idle
        private var requestsOnConnection = 0

        init(stats: NIOLockedValueBox<Stats>) {
            self.stats = stats
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch (unwrapInboundIn(data), state) {
            case (.head(let head), .idle):
                stats.withLockedValue {
                    $0.lastRequestHeaders = head.headers.map { ($0.name, $0.value) }
                    $0.requestsReceived += 1
                }
                requestsOnConnection += 1
                state = .receiving(Request(head: head, route: Route(uri: head.uri)))
            case (.body(let chunk), .receiving(var request)):
                if request.route == .upload, request.patternOK {
                    request.patternOK = TestBodyPattern.matches(chunk, at: request.bodyBytes)
                }
                request.bodyBytes += chunk.readableBytes
                state = .receiving(request)
            case (.end, .receiving(let request)):
                requestEnded(request, context: context)
            case (_, .closed):
                break
            default:
                // The pipelining handler makes this impossible; treat it as a broken connection, not a crash.
                close(context: context)
            }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable, case .streaming = state {
                pumpDownload(context: context)
            }
            context.fireChannelWritabilityChanged()
        }

        func channelInactive(context: ChannelHandlerContext) {
            if case .waiting(let timer) = state {
                timer.cancel()
            }
            state = .closed
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            close(context: context)
        }

        private func requestEnded(_ request: Request, context: ChannelHandlerContext) {
            switch request.route {
            case .echo:
                respond(echoing: request, context: context)
            case .slow(let milliseconds):
                let timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(milliseconds)) {
                    guard case .waiting = self.state else { return }
                    self.respond(echoing: request, context: context)
                }
                state = .waiting(timer)
            case .drop:
                close(context: context)
            case .stale:
                if requestsOnConnection == 1 { respond(echoing: request, context: context) } else { close(context: context) }
            case .upload:
                respond(json: ["body_bytes": request.bodyBytes, "pattern_ok": request.patternOK], to: request.head, context: context)
            case .download(let bytes):
                let headers = [("Content-Type", "application/octet-stream"), ("Content-Length", String(bytes))]
                context.write(wrapOutboundOut(.head(responseHead(for: request.head, headers: headers))), promise: nil)
                if request.head.method == .HEAD {
                    finish(keepAlive: request.head.isKeepAlive, context: context)
                } else {
                    state = .streaming(Download(keepAlive: request.head.isKeepAlive, total: bytes))
                    pumpDownload(context: context)
                }
            }
        }

        /// Writes 64 KiB chunks while the channel is writable; `channelWritabilityChanged` calls it again.
        ///
        /// The state is updated before each write, because a write or flush can re-enter this method through
        /// `channelWritabilityChanged`.
        private func pumpDownload(context: ChannelHandlerContext) {
            var written = 0
            while case .streaming(var download) = state, download.sent < download.total, context.channel.isWritable {
                let length = min(TestBodyPattern.maxSliceLength, download.total - download.sent)
                let chunk = TestBodyPattern.bytes(at: download.sent, length: length)
                download.sent += length
                written += length
                state = .streaming(download)
                context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
            }
            if written > 0 {
                stats.withLockedValue { [written] in $0.downloadBytesWritten += written }
            }
            if case .streaming(let download) = state, download.sent == download.total {
                finish(keepAlive: download.keepAlive, context: context)
            } else {
                context.flush()
            }
        }

        private func respond(echoing request: Request, context: ChannelHandlerContext) {
            let echo: [String: Any] = [
                "method": request.head.method.rawValue,
                "uri": request.head.uri,
                "version": "\(request.head.version)",
                "headers": request.head.headers.map { [$0.name, $0.value] },
                "body_bytes": request.bodyBytes,
            ]
            respond(json: echo, to: request.head, context: context)
        }

        private func respond(json: [String: Any], to requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
            let data: Data
            do {
                data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
            } catch {
                close(context: context)
                return
            }
            let headers = [
                ("Content-Type", "application/json"), ("Content-Length", String(data.count)),
                ("X-Upstream-Port", String(context.channel.localAddress?.port ?? 0)),
            ]
            context.write(wrapOutboundOut(.head(responseHead(for: requestHead, headers: headers))), promise: nil)
            if requestHead.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: data)))), promise: nil)
            }
            finish(keepAlive: requestHead.isKeepAlive, context: context)
        }

        private func responseHead(for request: HTTPRequestHead, headers: [(String, String)]) -> HTTPResponseHead {
            var headers = HTTPHeaders(headers)
            let isHTTP10 = request.version == .http1_0
            if !request.isKeepAlive, !isHTTP10 {
                headers.add(name: "Connection", value: "close")
            } else if request.isKeepAlive, isHTTP10 {
                headers.add(name: "Connection", value: "keep-alive")
            }
            return HTTPResponseHead(version: request.version, status: .ok, headers: headers)
        }

        /// Counts the response as served, writes its end, and closes afterwards unless the connection is kept alive.
        private func finish(keepAlive: Bool, context: ChannelHandlerContext) {
            stats.withLockedValue { $0.requestsServed += 1 }
            if keepAlive {
                state = .idle
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                state = .closed
                context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }

        private func close(context: ChannelHandlerContext) {
            if case .waiting(let timer) = state {
                timer.cancel()
            }
            state = .closed
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension TestUpstream.Handler: Sendable {}
