import Logging
import NIOCore

/// One dedicated connection that receives Redis's client-side-caching invalidations for a key prefix: the I/O
/// shell around ``RedisInvalidationStateMachine`` (which explains the protocol).
///
/// It reconnects by itself with the client's backoff and re-establishes tracking each time, reporting
/// ``RedisInvalidationEvent/inactive`` the moment the subscription is lost and ``RedisInvalidationEvent/active``
/// once it is back. The connection is named (`CLIENT SETNAME`, see ``clientName``) so operators and tests can find
/// it in `CLIENT LIST`. It does not cache anything itself.
public final class RedisInvalidationListener: Sendable, RedisChannelOwner {
    typealias StateMachine = RedisInvalidationStateMachine<RedisChannelHandler>

    struct LoopState {
        var machine: StateMachine
        var channel: Channel?
        var handshakeTimeout: Scheduled<Void>?
        var reconnectTask: Scheduled<Void>?
        var heartbeatTask: RepeatedTask?
        /// The connect in flight, so `shutdown` can wait for the channel it may still produce.
        var connectFuture: EventLoopFuture<Channel>?
    }

    /// The `CLIENT SETNAME` of the connection.
    public let clientName: String
    let eventLoop: EventLoop
    private let configuration: RedisClientConfiguration
    private let prefix: String
    private let heartbeatInterval: TimeAmount
    private let logger: Logger
    private let onEvent: @Sendable (RedisInvalidationEvent) -> Void
    private let loopState: NIOLoopBoundBox<LoopState>

    /// Creates an idle listener; nothing happens until ``start()``.
    /// - Parameters:
    ///   - configuration: Server, credentials and timeouts (``RedisClientConfiguration/connections`` is ignored).
    ///   - prefix: Only keys starting with this are reported (`BCAST PREFIX`).
    ///   - clientName: The connection's name in `CLIENT LIST`; no spaces.
    ///   - heartbeatInterval: How often a `PING` checks the connection; a dead one is noticed within two intervals.
    ///   - eventLoop: The loop the connection lives on; `onEvent` is called there.
    ///   - logger: Receives connection problems.
    ///   - onEvent: Called for every event, in order.
    public init(
        configuration: RedisClientConfiguration, prefix: String, clientName: String = "sessiongate-invalidations",
        heartbeatInterval: TimeAmount = .seconds(1), eventLoop: EventLoop, logger: Logger,
        onEvent: @escaping @Sendable (RedisInvalidationEvent) -> Void
    ) {
        self.configuration = configuration
        self.prefix = prefix
        self.clientName = clientName
        self.heartbeatInterval = heartbeatInterval
        self.eventLoop = eventLoop
        self.logger = logger
        self.onEvent = onEvent
        let machine = StateMachine(preambleReplies: configuration.handshakeCommands.count + 1)
        self.loopState = .makeBoxSendingValue(LoopState(machine: machine), eventLoop: eventLoop)
    }

    /// Begins connecting; does not wait.
    public func start() {
        eventLoop.execute { self.handle { $0.start() } }
    }

    /// Closes the connection for good (reporting ``RedisInvalidationEvent/inactive`` if it was active).
    public func shutdown() async {
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            let channel = self.loopState.value.channel
            let connectFuture = self.loopState.value.connectFuture
            self.handle { $0.shutdown() }
            return RedisChannelHandler.closeFuture(of: channel, connecting: connectFuture, on: self.eventLoop)
        }
        try? await future.get()
    }

    // MARK: Events from the channel handler (on the event loop)

    func channelActive(_ handler: RedisChannelHandler, channel: Channel) {
        loopState.value.channel = channel
        loopState.value.handshakeTimeout = eventLoop.assumeIsolated().scheduleTask(in: configuration.commandTimeout) {
            self.handle { $0.handshakeTimedOut() }
        }
        handle { $0.connected(handler) }
    }

    func channelInactive() {
        loopState.value.channel = nil
        loopState.value.handshakeTimeout?.cancel()
        loopState.value.heartbeatTask?.cancel()
        loopState.value.heartbeatTask = nil
        handle { $0.closed() }
    }

    func received(_ value: RedisValue) {
        handle { $0.received(value) }
    }

    func receivedInvalidData(_ error: RedisError) {
        handle { $0.receivedInvalidData(error) }
    }

    // MARK: Performing actions

    private func handle(_ event: (inout StateMachine) -> StateMachine.Action) {
        let action = event(&loopState.value.machine)
        switch action {
        case .none:
            break
        case .connect:
            connect()
        case .writePreamble(let handler):
            for command in configuration.handshakeCommands {
                handler.write(command)
            }
            handler.write(RedisCommand("CLIENT", "SETNAME", clientName))
            handler.write(RedisCommand("CLIENT", "ID"))
        case .writeSubscribe(let handler, let clientID):
            handler.write(RedisCommand("CLIENT", "TRACKING", "on", "REDIRECT", String(clientID), "BCAST", "PREFIX", prefix))
            handler.write(RedisCommand("SUBSCRIBE", StateMachine.channel))
        case .writePing(let handler):
            handler.write(RedisCommand("PING"))
        case .activate:
            loopState.value.handshakeTimeout?.cancel()
            loopState.value.heartbeatTask = eventLoop.scheduleRepeatedTask(
                initialDelay: heartbeatInterval, delay: heartbeatInterval
            ) { _ in
                self.handle { $0.heartbeat() }
            }
            logger.debug("Redis invalidation subscription active")
            onEvent(.active)
        case .invalidate(let keys):
            onEvent(.invalidate(keys))
        case .invalidateAll:
            onEvent(.invalidateAll)
        case .close(let handler, let reason, let deactivate):
            if deactivate { onEvent(.inactive) }
            logger.warning("closing Redis invalidation connection: \(reason)")
            handler.close()
        case .reconnect(let attempt, let deactivate):
            if deactivate {
                onEvent(.inactive)
                logger.warning("Redis invalidation connection lost; local session cache bypassed until it is back")
            }
            let delay = configuration.backoff.delay(attempt: attempt, jitter: Double.random(in: 0...1))
            loopState.value.reconnectTask = eventLoop.assumeIsolated().scheduleTask(in: delay) {
                self.loopState.value.reconnectTask = nil
                self.handle { $0.backoffElapsed() }
            }
        case .shutdown(let handler, let deactivate):
            if deactivate { onEvent(.inactive) }
            handler?.close()
            loopState.value.heartbeatTask?.cancel()
            loopState.value.heartbeatTask = nil
            loopState.value.reconnectTask?.cancel()
            loopState.value.reconnectTask = nil
            loopState.value.handshakeTimeout?.cancel()
        }
    }

    private func connect() {
        let future = RedisChannelHandler.connect(owner: self, on: eventLoop, configuration: configuration)
        loopState.value.connectFuture = future
        future.assumeIsolated().whenComplete { _ in self.loopState.value.connectFuture = nil }
        future.assumeIsolated().whenFailure { error in
            self.logger.warning("cannot connect the Redis invalidation connection: \(error)")
            self.handle { $0.connectFailed() }
        }
    }
}
