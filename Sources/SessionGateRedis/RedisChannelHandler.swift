import NIOCore
import NIOPosix

/// What a ``RedisChannelHandler`` reports to: a pipelined ``RedisConnection`` or the ``RedisInvalidationListener``.
/// Called on the channel's event loop.
protocol RedisChannelOwner: AnyObject {
    func channelActive(_ handler: RedisChannelHandler, channel: Channel)
    func channelInactive()
    func received(_ value: RedisValue)
    func receivedInvalidData(_ error: RedisError)
}

/// Bridges one TCP channel to its owner (a ``RedisConnection`` or the ``RedisInvalidationListener``).
///
/// It parses incoming bytes with a per-channel ``HiredisReader`` (created when added, freed when removed) and hands
/// each reply to the connection in arrival order; it writes encoded commands and coalesces all writes issued in
/// one event-loop tick into a single flush, so concurrent requests share one `writev`.
///
/// It does not match replies to commands, time anything out, or reconnect: those are decisions of the connection's
/// state machine. It ignores writability: Redis drains its socket quickly, and commands are bounded by their
/// timeout.
final class RedisChannelHandler: ChannelInboundHandler, Equatable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: RedisChannelOwner
    private var reader: HiredisReader?
    private var context: ChannelHandlerContext?
    private var flushScheduled = false

    /// - Parameter connection: Receives replies and lifecycle events; lives on the channel's event loop.
    init(connection: RedisChannelOwner) {
        self.connection = connection
    }

    static func == (lhs: RedisChannelHandler, rhs: RedisChannelHandler) -> Bool { lhs === rhs }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.reader = HiredisReader(allocator: context.channel.allocator)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.reader = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.channelActive(self, channel: context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The reader may hold a partial reply; nothing will complete it now.
        reader = nil
        connection.channelInactive()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reader else {
            return
        }
        do {
            try reader.feed(unwrapInboundIn(data))
            // Re-check `self.reader` per reply: handing one over may close this channel (a failed handshake, or a
            // caller's callback), and the replies still buffered behind it belong to nobody.
            while self.reader != nil, let value = try reader.next() {
                connection.received(value)
            }
        } catch {
            // hiredis cannot resynchronise after a protocol error: stop reading, the connection closes us.
            self.reader = nil
            connection.receivedInvalidData(error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Socket errors (reset, broken pipe) end the connection; `channelInactive` reports it.
        context.close(promise: nil)
    }

    /// Writes a command now and makes sure one flush follows at the end of this event-loop tick.
    func write(_ command: RedisCommand) {
        guard let context else {
            return
        }
        context.write(wrapOutboundOut(command.encoded), promise: nil)
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.assumeIsolated().execute {
                self.flushScheduled = false
                self.context?.flush()
            }
        }
    }

    /// Stops parsing and closes the channel; `channelInactive` follows.
    func close() {
        reader = nil
        context?.close(promise: nil)
    }
}

extension RedisChannelHandler {
    /// Opens a TCP connection to the configured Redis with a handler reporting to `owner`.
    static func connect(
        owner: RedisChannelOwner & Sendable, on eventLoop: EventLoop, configuration: RedisClientConfiguration
    ) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(connection: owner))
                }
            }
            .connect(host: configuration.host, port: configuration.port)
    }

    /// Completes when `channel` (or, without one, the channel of the connect attempt in flight) has closed.
    static func closeFuture(
        of channel: Channel?, connecting: EventLoopFuture<Channel>?, on eventLoop: EventLoop
    ) -> EventLoopFuture<Void> {
        if let channel { return channel.closeFuture }
        if let connecting { return connecting.flatMap { $0.closeFuture }.recover { _ in } }
        return eventLoop.makeSucceededVoidFuture()
    }
}

@available(*, unavailable)
extension RedisChannelHandler: Sendable {}
