import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A client of the master that Redis Sentinel designates, following failovers.
///
/// The master is discovered by asking the sentinels in turn (`SENTINEL get-master-addr-by-name`); a newly found node
/// serves commands only after `ROLE` confirms it is a master. Discovery runs at start, on every `+switch-master`
/// (a ``RedisSentinelSubscriber`` listens on one sentinel), whenever the subscription is re-established, and when a
/// command fails for want of the master (transport failure, or `READONLY` from a demoted one), at most once per
/// ``Configuration/rediscoveryInterval``.
///
/// On a switch the commands go to the new master's ``RedisClient`` at once; the old one is shut down, failing what
/// it still carries. A command that failed that way is retried once on the new master when that is safe (it was
/// never sent, was refused with `READONLY`, or is marked retryable); otherwise its error reaches the caller (the
/// proxy answers 503). The near-cache's invalidation connection is per master: the old one is closed first (the cache
/// is flushed and bypassed), then one to the new master is opened.
public final class RedisSentinelClient: RedisCommandRouting {
    public struct Configuration: Sendable {
        /// The sentinels, tried in order.
        public var sentinels: [RedisNodeAddress]
        /// The name the sentinels monitor the master under.
        public var masterName: String
        /// `AUTH` for the sentinels (their `requirepass`), if any.
        public var sentinelPassword: String?
        /// Credentials, database, connection count and timeouts for the data nodes; host and port come from the
        /// sentinels.
        public var node: RedisClientConfiguration
        /// The least time between two discoveries triggered by failing commands. Default 100 ms.
        public var rediscoveryInterval: TimeAmount = .milliseconds(100)
        /// Whether ``sendToReplica(_:on:)`` uses a replica (`read_from_replicas`). Default false.
        public var readFromReplicas = false

        public init(sentinels: [RedisNodeAddress], masterName: String, node: RedisClientConfiguration) {
            self.sentinels = sentinels
            self.masterName = masterName
            self.node = node
        }
    }

    private struct State {
        var master: (address: RedisNodeAddress, client: RedisClient)?
        var listener: RedisInvalidationListener?
        var discovery: EventLoopFuture<Bool>?
        var lastDiscovery: NIODeadline = .distantPast
        var isShutdown = false
        var switches = 0
        var replica: (address: RedisNodeAddress, client: RedisClient)?
        var searchingReplica = false
    }

    public let configuration: Configuration
    private let eventLoopGroup: EventLoopGroup
    private let logger: Logger
    private let invalidations: RedisInvalidationSubscription?
    let sentinelClients: [RedisClient]
    private let state = NIOLockedValueBox(State())
    private let subscriber: NIOLockedValueBox<RedisSentinelSubscriber?> = NIOLockedValueBox(nil)

    /// - Parameter invalidations: When given, a dedicated connection to the current master subscribes to
    ///   invalidations (see ``RedisInvalidationListener``), re-opened on every switch.
    public init(
        configuration: Configuration, eventLoopGroup: EventLoopGroup, logger: Logger,
        invalidations: RedisInvalidationSubscription? = nil
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.invalidations = invalidations
        let sentinelConfigurations = configuration.sentinels.map { address in
            var sentinel = RedisClientConfiguration(
                host: address.host, port: address.port, connections: 1,
                connectTimeout: configuration.node.connectTimeout, commandTimeout: configuration.node.commandTimeout)
            sentinel.password = configuration.sentinelPassword
            sentinel.reconnectBackoffInitial = configuration.node.reconnectBackoffInitial
            sentinel.reconnectBackoffMax = configuration.node.reconnectBackoffMax
            return sentinel
        }
        self.sentinelClients = sentinelConfigurations.map {
            RedisClient(configuration: $0, eventLoopGroup: eventLoopGroup, logger: logger)
        }
        let subscriber = RedisSentinelSubscriber(
            sentinels: sentinelConfigurations, masterName: configuration.masterName, eventLoop: eventLoopGroup.next(),
            logger: logger
        ) { [weak self] _ in
            _ = self?.discover(force: true)
        }
        self.subscriber.withLockedValue { $0 = subscriber }
    }

    /// The current master's address, if one is known.
    public var masterAddress: RedisNodeAddress? { state.withLockedValue { $0.master?.address } }

    /// The replica validation reads go to (`read_from_replicas`), once one was found.
    public var replicaAddress: RedisNodeAddress? { state.withLockedValue { $0.replica?.address } }

    /// How many times the client moved to another master since start.
    public var switches: Int { state.withLockedValue { $0.switches } }

    public var invalidationListener: RedisInvalidationListener? { state.withLockedValue { $0.listener } }

    public func start() {
        for client in sentinelClients { client.start() }
        subscriber.withLockedValue { $0 }?.start()
        _ = discover(force: true)
    }

    public func waitUntilConnected(timeout: TimeAmount) async -> Bool {
        let deadline = NIODeadline.now() + timeout
        while NIODeadline.now() < deadline {
            if let master = state.withLockedValue({ $0.master?.client }) {
                return await master.waitUntilConnected(timeout: deadline - NIODeadline.now())
            }
            _ = try? await discover(force: true).get()
            if state.withLockedValue({ $0.master == nil }) {
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
        return false
    }

    public func shutdown() async {
        let (master, listener, replica) = state.withLockedValue { state in
            state.isShutdown = true
            defer { state.master = nil; state.listener = nil; state.replica = nil }
            return (state.master?.client, state.listener, state.replica?.client)
        }
        await subscriber.withLockedValue { $0 }?.shutdown()
        await replica?.shutdown()
        await listener?.shutdown()
        await master?.shutdown()
        for client in sentinelClients { await client.shutdown() }
    }

    /// The hot path (one validation per request): the master's client directly, with a recovery path only on error.
    public func send(
        _ command: RedisCommand, routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<RedisValue> {
        guard let client = state.withLockedValue({ $0.master?.client }) else {
            return pipeline([command], routingKey: routingKey, retryable: retryable, on: eventLoop)
                .flatMapThrowing { try $0[0].get() }
        }
        let reply = client.send(command, on: eventLoop)
        return reply.flatMapError { error in
            let loop = reply.eventLoop
            guard let failure = Self.masterFailure(in: [.failure(error)], retryable: retryable) else {
                return loop.makeFailedFuture(error)
            }
            return self.discover(force: false).hop(to: loop).flatMap { _ in
                guard failure == .retryable, let current = self.state.withLockedValue({ $0.master?.client }),
                    current !== client
                else { return loop.makeFailedFuture(error) }
                return current.send(command, on: loop)
            }
        }
    }

    public func pipeline(
        _ commands: [RedisCommand], routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<[Result<RedisValue, Error>]> {
        let loop = eventLoop ?? eventLoopGroup.any()
        return attempt(commands, retryable: retryable, loop: loop).flatMap { results, client in
            guard let failure = Self.masterFailure(in: results, retryable: retryable) else {
                return loop.makeSucceededFuture(results)
            }
            // The master is gone or demoted: find the current one, and retry there once if it is another node.
            return self.discover(force: false).hop(to: loop).flatMap { _ in
                guard failure == .retryable, let current = self.state.withLockedValue({ $0.master?.client }),
                    current !== client
                else { return loop.makeSucceededFuture(results) }
                return current.pipeline(commands, routingKey: nil, retryable: false, on: loop)
            }
        }
    }

    // MARK: Private

    /// Sends to the current master; without one, fails every command with ``RedisError/connectionUnavailable``.
    private func attempt(
        _ commands: [RedisCommand], retryable: Bool, loop: EventLoop
    ) -> EventLoopFuture<([Result<RedisValue, Error>], RedisClient?)> {
        guard let client = state.withLockedValue({ $0.master?.client }) else {
            return loop.makeSucceededFuture((commands.map { _ in .failure(RedisError.connectionUnavailable) }, nil))
        }
        return client.pipeline(commands, routingKey: nil, retryable: false, on: loop).map { ($0, client) }
    }

    /// What failed results say about the master.
    enum MasterFailure: Equatable {
        /// The master is unreachable or demoted, and every command may be sent again elsewhere: it was never sent,
        /// was refused (`READONLY`, `LOADING`, `MASTERDOWN`), or is idempotent.
        case retryable
        /// The master is unreachable, but a command that may already have run is not idempotent: report the error.
        case final
    }

    /// Whether the results show the master unreachable or demoted (nil: they do not), and whether retrying is safe.
    static func masterFailure(in results: [Result<RedisValue, Error>], retryable: Bool) -> MasterFailure? {
        var failed = false
        var safe = true
        for case .failure(let error) in results {
            if let message = (error as? RedisError)?.serverMessage {
                if message.hasPrefix("READONLY") || message.hasPrefix("LOADING") || message.hasPrefix("MASTERDOWN") {
                    failed = true
                }
            } else if isTransportFailure(error) {
                failed = true
                safe = safe && (neverSent(error) || retryable)
            }
        }
        guard failed else { return nil }
        return safe ? .retryable : .final
    }

    /// Asks the sentinels for the master and moves to it if it changed (after `ROLE` confirms it). Concurrent callers
    /// share one discovery; unless `force`, one that started less than ``Configuration/rediscoveryInterval`` after
    /// the previous is skipped. - Returns: whether the master changed. Never fails.
    func discover(force: Bool) -> EventLoopFuture<Bool> {
        let loop = eventLoopGroup.any()
        let (existing, promise) = state.withLockedValue { state -> (EventLoopFuture<Bool>?, EventLoopPromise<Bool>?) in
            if let discovery = state.discovery { return (discovery, nil) }
            if state.isShutdown || (!force && NIODeadline.now() - state.lastDiscovery < configuration.rediscoveryInterval) {
                return (loop.makeSucceededFuture(false), nil)
            }
            let promise = loop.makePromise(of: Bool.self)
            state.discovery = promise.futureResult
            state.lastDiscovery = .now()
            return (nil, promise)
        }
        if let existing { return existing }
        guard let promise else { return loop.makeSucceededFuture(false) }
        askSentinels(sentinelClients[...], loop: loop)
            .flatMap { address -> EventLoopFuture<Bool> in
                guard let address, address != self.masterAddress else { return loop.makeSucceededFuture(false) }
                return self.connect(to: address, loop: loop)
            }
            .whenComplete { result in
                self.state.withLockedValue { $0.discovery = nil }
                promise.succeed((try? result.get()) ?? false)
            }
        return promise.futureResult
    }

    /// The master address according to the first sentinel that knows it.
    private func askSentinels(_ clients: ArraySlice<RedisClient>, loop: EventLoop) -> EventLoopFuture<RedisNodeAddress?> {
        guard let client = clients.first else { return loop.makeSucceededFuture(nil) }
        return client.send(RedisCommand("SENTINEL", "get-master-addr-by-name", configuration.masterName), on: loop)
            .map { reply -> RedisNodeAddress? in
                guard let parts = reply.array, parts.count == 2, let host = parts[0].string, let port = parts[1].int else {
                    return nil
                }
                return RedisNodeAddress(host: host, port: Int(port))
            }
            .recover { _ in nil }
            .flatMap { address in
                if let address { return loop.makeSucceededFuture(address) }
                return self.askSentinels(clients.dropFirst(), loop: loop)
            }
    }

    /// Connects to `address`, checks `ROLE`, and makes it the master. - Returns: whether it became the master.
    private func connect(to address: RedisNodeAddress, loop: EventLoop) -> EventLoopFuture<Bool> {
        var nodeConfiguration = configuration.node
        nodeConfiguration.host = address.host
        nodeConfiguration.port = address.port
        let node = nodeConfiguration
        let client = RedisClient(configuration: node, eventLoopGroup: eventLoopGroup, logger: logger)
        client.start()
        return client.send(RedisCommand("ROLE"), on: loop)
            .map { $0.array?.first?.string == "master" }
            .recover { _ in false }
            .flatMap { isMaster in
                guard isMaster else {
                    self.logger.warning("Redis node named by the sentinels is not a master (yet)", metadata: ["node": "\(address)"])
                    return loop.makeFutureWithTask { await client.shutdown(); return false }
                }
                let listener = self.invalidations.map {
                    RedisInvalidationListener(
                        configuration: node, prefix: $0.prefix, clientName: $0.clientName,
                        heartbeatInterval: $0.heartbeatInterval, eventLoop: self.eventLoopGroup.next(),
                        logger: self.logger, onEvent: $0.onEvent)
                }
                let replaced = self.state.withLockedValue { state -> (RedisClient?, RedisInvalidationListener?, RedisClient?)? in
                    guard !state.isShutdown else { return nil }
                    // The replica read from belonged to the old master (it may even be the new master): search again.
                    let old = (state.master?.client, state.listener, state.replica?.client)
                    if state.master != nil { state.switches += 1 }
                    state.master = (address, client)
                    state.listener = listener
                    state.replica = nil
                    return old
                }
                guard let replaced else {
                    return loop.makeFutureWithTask { await client.shutdown(); return false }
                }
                self.logger.info("Redis master", metadata: ["master": "\(address)"])
                // The old invalidation connection closes first (flushing the cache), then the new one opens.
                return loop.makeFutureWithTask {
                    await replaced.1?.shutdown()
                    listener?.start()
                    await replaced.0?.shutdown()
                    await replaced.2?.shutdown()
                    _ = self.discoverReplica()
                    return true
                }
            }
    }

    // MARK: Replica bookkeeping (see RedisSentinelClient+Replicas.swift)

    var currentReplica: RedisClient? { state.withLockedValue { $0.replica?.client } }

    var anyEventLoop: EventLoop { eventLoopGroup.any() }

    var sentinelClientsForReplicas: [RedisClient] { sentinelClients }

    /// Marks a replica search as started; false if one is in use, under way, or the client is shut down.
    func beginReplicaSearch() -> Bool {
        state.withLockedValue { state in
            guard state.replica == nil, !state.searchingReplica, !state.isShutdown, state.master != nil else { return false }
            state.searchingReplica = true
            return true
        }
    }

    /// Connects to the replica found (if any, and if it is not the master) and makes it the one read from.
    func finishReplicaSearch(_ address: RedisNodeAddress?) {
        var node = configuration.node
        let client = address.map { address -> RedisClient in
            node.host = address.host
            node.port = address.port
            return RedisClient(configuration: node, eventLoopGroup: eventLoopGroup, logger: logger)
        }
        let accepted = state.withLockedValue { state -> Bool in
            state.searchingReplica = false
            guard let address, let client, !state.isShutdown, state.replica == nil, state.master?.address != address
            else { return false }
            state.replica = (address, client)
            return true
        }
        if accepted {
            client?.start()
            logger.info("reading sessions from Redis replica", metadata: ["replica": "\(address.map { "\($0)" } ?? "")"])
        }
    }

    /// Stops reading from `client` after it failed; the next read searches again.
    func dropReplica(_ client: RedisClient) {
        let dropped = state.withLockedValue { state -> Bool in
            guard state.replica?.client === client else { return false }
            state.replica = nil
            return true
        }
        if dropped {
            Task { await client.shutdown() }
        }
    }
}
