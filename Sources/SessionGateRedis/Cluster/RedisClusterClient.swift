import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A Redis Cluster client: each request goes to the master of its routing key's slot, over a pipelined
/// ``RedisClient`` per node.
///
/// The slot map (``RedisClusterSlotMap``) comes from `CLUSTER SHARDS` (`CLUSTER SLOTS` on servers without it), asked
/// of any known node, and is refreshed on start, when a `MOVED` names a node not in the map, and when a node cannot be
/// reached. Redirections are followed: `MOVED` updates the map and retries on the new owner, `ASK` sends `ASKING` and
/// the commands to the named node once, leaving the map alone; `TRYAGAIN` (a multi-key script in a slot being
/// migrated: Redis refuses it until the migration finishes) and `CLUSTERDOWN` are retried after a short pause. Each
/// request follows at most ``Configuration/maxRedirections`` `MOVED`s and reconnects and
/// ``Configuration/maxBusyRetries`` `ASK`s and pauses, then fails with the last answer.
///
/// All of one user's keys share one hash tag, so each session script touches one slot and stays atomic.
public final class RedisClusterClient: RedisCommandRouting {
    /// The cluster's entry points and how to connect to each node.
    public struct Configuration: Sendable {
        /// Nodes to ask for the slot map; any subset of the cluster, masters or replicas.
        public var seeds: [RedisNodeAddress]
        /// Credentials, connection count (per node), timeouts; host and port are replaced per node. `database` must
        /// be 0 (Cluster has one database).
        public var node: RedisClientConfiguration
        /// How many redirections and retries one request may follow. Default 5.
        public var maxRedirections = 5
        /// How many `ASK` redirections and `TRYAGAIN`/`CLUSTERDOWN` pauses of ``retryDelay`` one request may take
        /// while a slot migrates. Default 80 (about 1 s of pauses).
        public var maxBusyRetries = 80
        /// The pause before retrying a `TRYAGAIN` or `CLUSTERDOWN`. Default 25 ms.
        public var retryDelay: TimeAmount = .milliseconds(25)

        public init(seeds: [RedisNodeAddress], node: RedisClientConfiguration) {
            self.seeds = seeds
            self.node = node
        }
    }

    /// How many redirections were followed since start (for tests and metrics).
    public struct Redirections: Sendable, Equatable {
        public var moved = 0
        public var ask = 0
        public var busy = 0
    }

    private struct State {
        var map = RedisClusterSlotMap()
        var clients: [RedisNodeAddress: RedisClient] = [:]
        var refresh: EventLoopFuture<Void>?
        var isShutdown = false
        var redirections = Redirections()
    }

    /// Where one attempt goes.
    private enum Target {
        case slot(Int?)
        case ask(RedisNodeAddress)
    }

    /// One request and what it may still spend on retries.
    private struct Request {
        let commands: [RedisCommand]
        let slot: Int?
        let retryable: Bool
        let loop: EventLoop
        let promise: EventLoopPromise<[Result<RedisValue, Error>]>
        var redirections = 0
        var busyRetries = 0
    }

    public let configuration: Configuration
    private let eventLoopGroup: EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    public init(configuration: Configuration, eventLoopGroup: EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Redirections followed so far.
    public var redirections: Redirections { state.withLockedValue { $0.redirections } }

    /// The current slot map (for tests and diagnostics).
    public var slotMap: RedisClusterSlotMap { state.withLockedValue { $0.map } }

    public var invalidationListener: RedisInvalidationListener? { nil }

    /// Begins learning the slot map (and so connecting to the masters); does not wait.
    public func start() {
        _ = refresh()
    }

    public func waitUntilConnected(timeout: TimeAmount) async -> Bool {
        let deadline = NIODeadline.now() + timeout
        while NIODeadline.now() < deadline {
            try? await refresh().get()
            let map = state.withLockedValue { $0.map }
            if map.isComplete {
                for master in map.masters {
                    guard let client = client(for: master),
                        await client.waitUntilConnected(timeout: deadline - NIODeadline.now())
                    else {
                        return false
                    }
                }
                return true
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }

    public func shutdown() async {
        let clients = state.withLockedValue { state in
            state.isShutdown = true
            return Array(state.clients.values)
        }
        for client in clients {
            await client.shutdown()
        }
    }

    public func send(
        _ command: RedisCommand, routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<RedisValue> {
        pipeline([command], routingKey: routingKey, retryable: retryable, on: eventLoop).flatMapThrowing { try $0[0].get() }
    }

    public func pipeline(
        _ commands: [RedisCommand], routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<[Result<RedisValue, Error>]> {
        let loop = eventLoop ?? eventLoopGroup.any()
        let request = Request(
            commands: commands, slot: routingKey.map { RedisClusterSlot.of($0) }, retryable: retryable, loop: loop,
            promise: loop.makePromise())
        attempt(request, target: .slot(request.slot))
        return request.promise.futureResult
    }

    // MARK: Routing

    private func attempt(_ request: Request, target: Target) {
        let address: RedisNodeAddress?
        switch target {
        case .ask(let node): address = node
        case .slot(let slot):
            address = state.withLockedValue { state in
                slot.flatMap { state.map.master(forSlot: $0) } ?? (slot == nil ? state.map.masters.first : nil)
            }
        }
        guard let address, let client = client(for: address) else {
            retryAfterRefresh(request, failure: RedisError.connectionUnavailable)
            return
        }
        var commands = request.commands
        let asking: Bool
        if case .ask = target { asking = true } else { asking = false }
        if asking {
            commands.insert(RedisCommand("ASKING"), at: 0)
        }
        client.pipeline(commands, routingKey: nil, retryable: false, on: request.loop).whenSuccess { results in
            self.handle(asking ? Array(results.dropFirst()) : results, of: request)
        }
    }

    /// Finishes the request, or follows the first redirection or retryable failure among its results.
    private func handle(_ results: [Result<RedisValue, Error>], of request: Request) {
        var request = request
        for result in results {
            guard case .failure(let error) = result else { continue }
            if let message = (error as? RedisError)?.serverMessage {
                if let redirection = RedisClusterRedirection(errorMessage: message) {
                    // ASK comes back on every retry while a slot migrates (ASK, then TRYAGAIN on the target for a
                    // script creating keys): it spends the migration budget, MOVED the redirection budget.
                    let isAsk = redirection.kind == .ask
                    if isAsk ? request.busyRetries < configuration.maxBusyRetries
                        : request.redirections < configuration.maxRedirections
                    {
                        if isAsk { request.busyRetries += 1 } else { request.redirections += 1 }
                        follow(redirection, request: request)
                        return
                    }
                }
                if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN"),
                    request.busyRetries < configuration.maxBusyRetries
                {
                    request.busyRetries += 1
                    state.withLockedValue { $0.redirections.busy += 1 }
                    let retry = request
                    retry.loop.scheduleTask(in: configuration.retryDelay) {
                        if message.hasPrefix("CLUSTERDOWN") { _ = self.refresh() }
                        self.attempt(retry, target: .slot(retry.slot))
                    }
                    return
                }
            } else if Self.isTransportFailure(error), Self.neverSent(error) || request.retryable {
                retryAfterRefresh(request, failure: error)
                return
            }
        }
        request.promise.succeed(results)
    }

    private func follow(_ redirection: RedisClusterRedirection, request: Request) {
        switch redirection.kind {
        case .ask:
            state.withLockedValue { $0.redirections.ask += 1 }
            attempt(request, target: .ask(redirection.address))
        case .moved:
            let action = state.withLockedValue { state in
                state.redirections.moved += 1
                return state.map.moved(slot: redirection.slot, to: redirection.address)
            }
            if case .retryAndRefresh = action {
                _ = refresh()
            }
            guard request.redirections > 2 else {
                attempt(request, target: .slot(request.slot))
                return
            }
            // Nodes disagreeing for a moment (one slot's owner being changed node by node): let them settle.
            request.loop.scheduleTask(in: configuration.retryDelay) {
                self.attempt(request, target: .slot(request.slot))
            }
        }
    }

    /// Refreshes the map, then tries again, within the request's redirection budget; else fails every command.
    private func retryAfterRefresh(_ request: Request, failure: Error) {
        var request = request
        guard request.redirections < configuration.maxRedirections else {
            request.promise.succeed(request.commands.map { _ in .failure(failure) })
            return
        }
        request.redirections += 1
        let retry = request
        refresh().hop(to: retry.loop).whenComplete { _ in
            self.attempt(retry, target: .slot(retry.slot))
        }
    }

    /// The client of a node, created and started on first use; nil after shutdown.
    private func client(for address: RedisNodeAddress) -> RedisClient? {
        let (client, created) = state.withLockedValue { state -> (RedisClient?, Bool) in
            if let client = state.clients[address] { return (client, false) }
            guard !state.isShutdown else { return (nil, false) }
            var node = configuration.node
            node.host = address.host
            node.port = address.port
            let client = RedisClient(configuration: node, eventLoopGroup: eventLoopGroup, logger: logger)
            state.clients[address] = client
            return (client, true)
        }
        if created {
            client?.start()
        }
        return client
    }

    // MARK: Slot map

    /// Asks the known nodes (masters first, then seeds) for the slot map, one at a time until one answers; concurrent
    /// callers share one refresh. Never fails: on failure the map stays as it was.
    func refresh() -> EventLoopFuture<Void> {
        let loop = eventLoopGroup.any()
        let (existing, promise, candidates) = state.withLockedValue { state -> (EventLoopFuture<Void>?, EventLoopPromise<Void>?, [RedisNodeAddress]) in
            if let refresh = state.refresh { return (refresh, nil, []) }
            let promise = loop.makePromise(of: Void.self)
            state.refresh = promise.futureResult
            var candidates = state.map.masters
            for seed in configuration.seeds where !candidates.contains(seed) { candidates.append(seed) }
            return (nil, promise, candidates)
        }
        if let existing { return existing }
        guard let promise else { return loop.makeSucceededVoidFuture() }
        ask(candidates[...], loop: loop).whenComplete { result in
            self.state.withLockedValue { state in
                if case .success(let map?) = result, !state.isShutdown {
                    if map != state.map {
                        self.logger.debug("Redis Cluster slot map updated", metadata: ["masters": "\(map.masters)"])
                    }
                    state.map = map
                }
                state.refresh = nil
            }
            promise.succeed(())
        }
        return promise.futureResult
    }

    /// The map according to the first of `candidates` that gives one.
    private func ask(_ candidates: ArraySlice<RedisNodeAddress>, loop: EventLoop) -> EventLoopFuture<RedisClusterSlotMap?> {
        guard let address = candidates.first, let client = client(for: address) else {
            return loop.makeSucceededFuture(nil)
        }
        return client.send(RedisCommand("CLUSTER", "SHARDS"), on: loop)
            .map { RedisClusterSlotMap.fromShards($0) }
            .flatMapError { error in
                guard (error as? RedisError)?.isServerError == true else { return loop.makeSucceededFuture(nil) }
                return client.send(RedisCommand("CLUSTER", "SLOTS"), on: loop).map { RedisClusterSlotMap.fromSlots($0) }
                    .recover { _ in nil }
            }
            .flatMap { map in
                if let map, !map.isEmpty { return loop.makeSucceededFuture(map) }
                return self.ask(candidates.dropFirst(), loop: loop)
            }
    }
}
