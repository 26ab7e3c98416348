import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Active health checks: for every server of every upstream with a `health_check`, a `GET path` on its own short
/// connection every `interval` (counted from the end of the previous probe), never through the client pools. A 2xx
/// or 3xx status line within `timeout` passes; anything else (refused, reset, timeout, other status) fails. Results
/// go to the upstream's ``SharedBalancer``, which marks the server up or down after `healthy`/`unhealthy`
/// consecutive results, for every event loop at once.
final class HealthChecker: Sendable {
    private let upstreams: [Upstream]
    private let logger: Logger
    private let tasks = NIOLockedValueBox<[RepeatedTask]>([])

    init(upstreams: [Upstream], logger: Logger) {
        self.upstreams = upstreams
        self.logger = logger
    }

    /// Starts the probes, each server's on one loop of `group`; the first runs at once.
    func start(group: EventLoopGroup) {
        var started: [RepeatedTask] = []
        for upstream in upstreams {
            guard let check = upstream.healthCheck else { continue }
            for server in upstream.servers {
                let loop = group.next()
                let logger = self.logger
                started.append(loop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: check.interval) { _ in
                    HealthProbe.run(server: server, check: check, on: loop).map { passed in
                        let wasHealthy = upstream.balancer.snapshot.isHealthyToProbes(server.index)
                        upstream.balancer.recordProbe(server.index, passed: passed)
                        let isHealthy = upstream.balancer.snapshot.isHealthyToProbes(server.index)
                        if wasHealthy != isHealthy {
                            logger.warning(
                                isHealthy ? "upstream server is healthy again" : "upstream server failed its health checks",
                                metadata: ["upstream": "\(upstream.name)", "server": "\(server.label)"])
                        }
                    }
                })
            }
        }
        tasks.withLockedValue { $0 += started }
    }

    /// Stops every probe (one in progress finishes on its own).
    func stop() {
        let running = tasks.withLockedValue { tasks -> [RepeatedTask] in
            defer { tasks = [] }
            return tasks
        }
        for task in running { task.cancel() }
    }
}

/// One probe: connect, send `GET path HTTP/1.1` with `Connection: close`, read the status line.
enum HealthProbe {
    /// - Returns: a future that succeeds with whether the probe passed (it never fails).
    static func run(server: UpstreamServer, check: HealthCheckConfiguration, on loop: EventLoop) -> EventLoopFuture<Bool> {
        let result = loop.makePromise(of: Bool.self)
        let handler = NIOLoopBound(StatusLineHandler(result: result), eventLoop: loop)
        let timeout = loop.assumeIsolated().scheduleTask(in: check.timeout) { handler.value.complete(false) }
        ClientBootstrap(group: loop)
            .connectTimeout(check.timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler.value) }
            }
            .connect(to: server.address)
            .assumeIsolated()
            .whenComplete { connected in
                switch connected {
                case .failure:
                    handler.value.complete(false)
                case .success(let channel):
                    var request = channel.allocator.buffer(capacity: 128)
                    request.writeString(
                        "GET \(check.path) HTTP/1.1\r\nHost: \(server.label)\r\nUser-Agent: SessionGate-health-check\r\n"
                            + "Connection: close\r\n\r\n")
                    channel.writeAndFlush(request, promise: nil)
                }
            }
        return result.futureResult.always { _ in timeout.cancel() }
    }

    /// Reads up to the end of the status line, then closes the connection.
    private final class StatusLineHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let result: EventLoopPromise<Bool>
        private var received: ByteBuffer?
        private var context: ChannelHandlerContext?
        private var done = false

        init(result: EventLoopPromise<Bool>) { self.result = result }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func complete(_ passed: Bool) {
            guard !done else { return }
            done = true
            result.succeed(passed)
            context?.close(promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var chunk = unwrapInboundIn(data)
            if received == nil { received = chunk } else { received!.writeBuffer(&chunk) }
            guard let bytes = received, let line = bytes.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                if (received?.readableBytes ?? 0) > 1024 { complete(false) }
                return
            }
            let statusLine = String(decoding: bytes.readableBytesView[bytes.readerIndex..<line], as: UTF8.self)
            let parts = statusLine.split(separator: " ")
            let status = parts.count >= 2 && parts[0].hasPrefix("HTTP/1.") ? Int(parts[1]) : nil
            complete((200..<400).contains(status ?? 0))
        }

        func channelInactive(context: ChannelHandlerContext) {
            complete(false)
            self.context = nil
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { complete(false) }
    }
}
