import Logging
import NIOCore

/// A connection to one sentinel at a time, subscribed to `+switch-master`: tells its owner when a failover promoted
/// a new master, and each time the subscription is (re)established (a switch may have been missed meanwhile).
///
/// When the sentinel goes away it moves on to the next one, after the client's reconnect backoff. The connection
/// carries no commands besides `AUTH` and `SUBSCRIBE`, so every message is either a reply to those or a publication.
final class RedisSentinelSubscriber: Sendable, RedisChannelOwner {
    private struct LoopState {
        var channel: Channel?
        var connectFuture: EventLoopFuture<Channel>?
        var reconnectTask: Scheduled<Void>?
        var next = 0
        var failures = 0
        var isShutdown = false
    }

    /// What the subscriber reports.
    enum Event: Sendable, Equatable {
        /// Subscribed to a sentinel (again): the master may have changed while no sentinel was listened to.
        case subscribed
        /// `+switch-master` for the monitored master: its new address.
        case switched(RedisNodeAddress)
    }

    let eventLoop: EventLoop
    private let sentinels: [RedisClientConfiguration]
    private let masterName: String
    private let logger: Logger
    private let onEvent: @Sendable (Event) -> Void
    private let loopState: NIOLoopBoundBox<LoopState>

    init(
        sentinels: [RedisClientConfiguration], masterName: String, eventLoop: EventLoop, logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.eventLoop = eventLoop
        self.logger = logger
        self.onEvent = onEvent
        self.loopState = .makeBoxSendingValue(LoopState(), eventLoop: eventLoop)
    }

    func start() {
        eventLoop.execute { self.connect() }
    }

    func shutdown() async {
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            self.loopState.value.isShutdown = true
            self.loopState.value.reconnectTask?.cancel()
            let channel = self.loopState.value.channel
            channel?.close(promise: nil)
            return RedisChannelHandler.closeFuture(
                of: channel, connecting: self.loopState.value.connectFuture, on: self.eventLoop)
        }
        try? await future.get()
    }

    /// Parses a `+switch-master` payload: `<name> <old-ip> <old-port> <new-ip> <new-port>`.
    static func newMaster(inSwitchMessage payload: String, masterName: String) -> RedisNodeAddress? {
        let parts = payload.split(separator: " ")
        guard parts.count == 5, parts[0] == masterName, let port = Int(parts[4]) else { return nil }
        return RedisNodeAddress(host: String(parts[3]), port: port)
    }

    // MARK: Channel events (on the event loop)

    func channelActive(_ handler: RedisChannelHandler, channel: Channel) {
        loopState.value.channel = channel
        let configuration = sentinels[(loopState.value.next + sentinels.count - 1) % sentinels.count]
        for command in configuration.handshakeCommands {
            handler.write(command)
        }
        handler.write(RedisCommand("SUBSCRIBE", "+switch-master"))
    }

    func channelInactive() {
        loopState.value.channel = nil
        scheduleReconnect()
    }

    func received(_ value: RedisValue) {
        if case .error(let message) = value {
            logger.warning("Redis sentinel refused the subscription: \(message)")
            loopState.value.channel?.close(promise: nil)
            return
        }
        guard let items = value.array, items.count == 3, let kind = items[0].string else { return }
        switch kind {
        case "subscribe":
            loopState.value.failures = 0
            onEvent(.subscribed)
        case "message":
            if let payload = items[2].string, let address = Self.newMaster(inSwitchMessage: payload, masterName: masterName) {
                logger.info("Redis sentinel reports a new master", metadata: ["master": "\(address)"])
                onEvent(.switched(address))
            }
        default:
            break
        }
    }

    func receivedInvalidData(_ error: RedisError) {
        loopState.value.channel?.close(promise: nil)
    }

    // MARK: Private

    private func connect() {
        guard !loopState.value.isShutdown else { return }
        let configuration = sentinels[loopState.value.next % sentinels.count]
        loopState.value.next += 1
        let future = RedisChannelHandler.connect(owner: self, on: eventLoop, configuration: configuration)
        loopState.value.connectFuture = future
        future.assumeIsolated().whenComplete { _ in self.loopState.value.connectFuture = nil }
        future.assumeIsolated().whenFailure { _ in self.scheduleReconnect() }
    }

    private func scheduleReconnect() {
        guard !loopState.value.isShutdown else { return }
        loopState.value.failures += 1
        let backoff = sentinels[0].backoff
        let delay = backoff.delay(attempt: loopState.value.failures, jitter: Double.random(in: 0...1))
        loopState.value.reconnectTask = eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.loopState.value.reconnectTask = nil
            self.connect()
        }
    }
}
