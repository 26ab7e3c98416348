import Logging
import NIOCore

/// One long-lived, pipelined connection to Redis that reconnects by itself: the I/O shell around
/// ``RedisConnectionStateMachine``.
///
/// It lives on one event loop. Its entry points may be called from any thread and hop there; all mutable state is
/// in a loop-bound box. Each event is fed to the state machine and the returned action is performed (see
/// `RedisConnection+Actions.swift`); the shell adds only what a pure value cannot do: sockets, timers, promises,
/// logging. It is not public: ``RedisClient`` owns and routes between connections.
final class RedisConnection: Sendable, RedisChannelOwner {
    typealias StateMachine = RedisConnectionStateMachine<RedisChannelHandler, Pending>

    /// A command waiting for its reply, and whom to tell.
    struct Pending {
        let command: RedisCommand
        let reply: RedisReplyTarget
    }

    /// Everything mutable; only touched on ``eventLoop``.
    struct LoopState {
        var machine: StateMachine
        /// The one scheduled wake-up for the earliest deadline, see `armTimer()`.
        var timer: (deadline: NIODeadline, task: Scheduled<Void>)?
        var reconnectTask: Scheduled<Void>?
        /// The connect in flight, so `shutdown` can wait for the channel it may still produce.
        var connectFuture: EventLoopFuture<Channel>?
        /// The active channel, so `shutdown` can wait for it to close.
        var channel: Channel?
        var readyWaiters: [(promise: EventLoopPromise<Bool>, timeout: Scheduled<Void>)] = []
        /// The problems logged during the current outage, so each is logged once, not on every retry.
        var problems = RedisProblemLog()
    }

    /// The loop the connection, its channel and its timers live on.
    let eventLoop: EventLoop
    let configuration: RedisClientConfiguration
    let handshake: [RedisCommand]
    let logger: Logger
    let loopState: NIOLoopBoundBox<LoopState>

    /// Creates an idle connection; nothing happens until ``start()``.
    init(configuration: RedisClientConfiguration, eventLoop: EventLoop, logger: Logger) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.handshake = configuration.handshakeCommands
        self.logger = logger
        let machine = StateMachine(handshakeCommandCount: handshake.count)
        self.loopState = .makeBoxSendingValue(LoopState(machine: machine), eventLoop: eventLoop)
    }

    /// Begins connecting; does not wait.
    func start() {
        onLoop { self.handle { $0.start() } }
    }

    /// Sends a command; `reply` gets the reply or a ``RedisError``.
    func send(_ command: RedisCommand, reply: RedisReplyTarget) {
        // Not through `onLoop`: on the loop (every proxied request) that would allocate a closure for nothing.
        if eventLoop.inEventLoop {
            sendOnLoop(command, reply: reply)
        } else {
            eventLoop.execute { self.sendOnLoop(command, reply: reply) }
        }
    }

    private func sendOnLoop(_ command: RedisCommand, reply: RedisReplyTarget) {
        let deadline = NIODeadline.now() + configuration.commandTimeout
        handle { $0.send(Pending(command: command, reply: reply), deadline: deadline) }
    }

    /// How good a target this connection is right now (lower is better). Only call on ``eventLoop``.
    var routingCost: Int {
        Self.routingCost(&loopState.value)
    }

    /// `inout` so that routing does not copy the whole loop state (see `deadlineToArm`).
    private static func routingCost(_ state: inout LoopState) -> Int {
        state.machine.routingCost
    }

    /// Succeeds with `true` once the connection is ready, or with `false` at `deadline` or on shutdown.
    func waitUntilReady(deadline: NIODeadline) -> EventLoopFuture<Bool> {
        eventLoop.flatSubmit {
            if self.loopState.value.machine.isReady {
                return self.eventLoop.makeSucceededFuture(true)
            }
            if case .shutdown = self.loopState.value.machine.state {
                return self.eventLoop.makeSucceededFuture(false)
            }
            let promise = self.eventLoop.makePromise(of: Bool.self)
            let timeout = self.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                self.loopState.value.readyWaiters.removeAll { $0.promise.futureResult === promise.futureResult }
                promise.succeed(false)
            }
            self.loopState.value.readyWaiters.append((promise, timeout))
            return promise.futureResult
        }
    }

    /// Closes the connection for good and fails everything pending. Idempotent; completes when the channel (or the
    /// connect attempt in flight) is gone.
    func shutdown() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let channel = self.loopState.value.channel
            let connectFuture = self.loopState.value.connectFuture
            self.handle { $0.shutdown() }
            return RedisChannelHandler.closeFuture(of: channel, connecting: connectFuture, on: self.eventLoop)
        }
    }

    // MARK: Events from the channel handler (on the event loop)

    func channelActive(_ handler: RedisChannelHandler, channel: Channel) {
        loopState.value.channel = channel
        let handshakeDeadline = NIODeadline.now() + configuration.commandTimeout
        handle { $0.connected(handler, handshakeDeadline: handshakeDeadline) }
    }

    func channelInactive() {
        loopState.value.channel = nil
        switch loopState.value.machine.state {
        case .ready, .handshaking:
            report("connection to \(configuration.host):\(configuration.port) closed by the server")
        case .idle, .connecting, .closing, .backoff, .shutdown, .modifying:
            break
        }
        handle { $0.closed() }
    }

    func received(_ value: RedisValue) {
        handle { $0.received(value) }
    }

    func receivedInvalidData(_ error: RedisError) {
        handle { $0.receivedInvalidData(error) }
    }

    /// Runs `body` on the event loop: inline when already there (the common case for the proxy), else hopping.
    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if eventLoop.inEventLoop {
            body()
        } else {
            eventLoop.execute(body)
        }
    }
}
