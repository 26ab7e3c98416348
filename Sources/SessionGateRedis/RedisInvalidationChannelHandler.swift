import NIOCore

/// Bridges the listener's TCP channel to it: parses with a ``HiredisReader``, writes commands (one flush per tick).
final class RedisInvalidationChannelHandler: ChannelInboundHandler, Equatable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let listener: RedisInvalidationListener
    private var reader: HiredisReader?
    private var context: ChannelHandlerContext?

    init(listener: RedisInvalidationListener) {
        self.listener = listener
    }

    static func == (lhs: RedisInvalidationChannelHandler, rhs: RedisInvalidationChannelHandler) -> Bool { lhs === rhs }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.reader = HiredisReader(allocator: context.channel.allocator)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.reader = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        listener.channelActive(self, channel: context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        reader = nil
        listener.channelInactive()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reader else { return }
        do {
            try reader.feed(unwrapInboundIn(data))
            while self.reader != nil, let value = try reader.next() {
                listener.received(value)
            }
        } catch {
            self.reader = nil
            listener.receivedInvalidData(error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func write(_ command: RedisCommand) {
        context?.writeAndFlush(wrapOutboundOut(command.encoded), promise: nil)
    }

    func close() {
        reader = nil
        context?.close(promise: nil)
    }
}

@available(*, unavailable)
extension RedisInvalidationChannelHandler: Sendable {}
