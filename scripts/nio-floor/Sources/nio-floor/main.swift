// nio-floor LISTEN_PORT UPSTREAM_PORT THREADS
//
// The floor under any SwiftNIO HTTP proxy, for the benchmarks: each client connection gets its own upstream
// connection on the same event loop, and bytes go across unread, unparsed and unchanged, both ways. Per request that
// is one read and one write-and-flush on each leg, the channel work SessionGate cannot do without; no HTTP parsing,
// no session check, no header rewriting, no connection pool. Whatever this costs in CPU, instructions and tail latency
// against nginx is the share of SessionGate's cost that belongs to SwiftNIO's channels, not to SessionGate's code.
// Not a proxy for real use: no timeouts, no backpressure, no HTTP semantics.
import Glibc
import NIOCore
import NIOPosix

/// The upstream side of a pair: what the upstream sends goes to the client as it came.
final class UpstreamSide: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let client: Channel

    init(client: Channel) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.writeAndFlush(data, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// The client side: opens the upstream connection when the client connects, holds what arrives before it is up.
final class ClientSide: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let upstreamPort: Int
    private var upstream: Channel?
    private var early: [NIOAny] = []

    init(upstreamPort: Int) { self.upstreamPort = upstreamPort }

    func channelActive(context: ChannelHandlerContext) {
        let client = context.channel
        ClientBootstrap(group: context.eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamSide(client: client))
                }
            }
            .connect(host: "127.0.0.1", port: upstreamPort)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.upstream = channel
                    for data in self.early { channel.write(data, promise: nil) }
                    self.early = []
                    channel.flush()
                    if !client.isActive { channel.close(promise: nil) }
                case .failure:
                    client.close(promise: nil)
                }
            }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let upstream { upstream.writeAndFlush(data, promise: nil) } else { early.append(data) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]),
    let threads = Int(arguments[3]), threads > 0
else {
    fputs("usage: nio-floor LISTEN_PORT UPSTREAM_PORT THREADS (ports and a thread count above 0)\n", stderr)
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let server = try ServerBootstrap(group: group)
    // As SessionGate's listener is set up (ProxyServer): the same backlog, and up to 256 accepts per wake-up.
    .serverChannelOption(ChannelOptions.backlog, value: 1024)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 256)
    .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ClientSide(upstreamPort: upstreamPort))
        }
    }
    .bind(host: "127.0.0.1", port: listenPort)
    .wait()
try server.closeFuture.wait()
