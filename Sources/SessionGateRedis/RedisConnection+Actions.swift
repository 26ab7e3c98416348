import Logging
import NIOCore

/// Performing the state machine's actions: sockets, timers, promises and logs.
extension RedisConnection {
    /// Feeds one event to the state machine, performs its action, then re-arms the deadline timer.
    ///
    /// The action is performed after the state machine's mutation has finished, so promise callbacks that send
    /// again (re-entrancy) see a consistent state.
    func handle(_ event: (inout StateMachine) -> StateMachine.Action) {
        let action = event(&loopState.value.machine)
        run(action)
        armTimer()
    }

    private func run(_ action: StateMachine.Action) {
        switch action {
        case .none:
            break
        case .connect:
            connect()
        case .writeHandshake(let handler):
            for command in handshake {
                handler.write(command)
            }
        case .write(let pending, let handler):
            handler.write(pending.command)
        case .becameReady(let handler, let queued):
            for entry in queued {
                handler.write(entry.request.command)
            }
            becameReady()
        case .succeed(let pending, let value):
            if case .error(let message) = value {
                pending.reply.fail(RedisError.server(message))
            } else {
                pending.reply.succeed(value)
            }
        case .fail(let pending, let error):
            pending.reply.fail(error)
        case .failExpired(let entries):
            fail(entries, with: .timeout)
        case .close(let handler, let timedOut, let failing, let error, let reason):
            report("closing connection to \(configuration.host):\(configuration.port): \(reason)")
            handler.close()
            fail(timedOut, with: .timeout)
            fail(failing, with: error)
        case .failAndReconnect(let failing, let error, let attempt):
            let delay = configuration.backoff.delay(attempt: attempt, jitter: Double.random(in: 0...1))
            loopState.value.reconnectTask = eventLoop.assumeIsolated().scheduleTask(in: delay) {
                self.loopState.value.reconnectTask = nil
                self.handle { $0.backoffElapsed() }
            }
            fail(failing, with: error)
        case .shutdown(let handler, let failing):
            handler?.close()
            loopState.value.timer?.task.cancel()
            loopState.value.timer = nil
            loopState.value.reconnectTask?.cancel()
            loopState.value.reconnectTask = nil
            fail(failing, with: .connectionClosed)
            resolveReadyWaiters(false)
        }
    }

    private func connect() {
        let future = RedisChannelHandler.connect(owner: self, on: eventLoop, configuration: configuration)
        loopState.value.connectFuture = future
        // Success is reported by the handler's `channelActive`; only a failure is reported from here.
        future.assumeIsolated().whenComplete { result in
            self.loopState.value.connectFuture = nil
            if case .failure(let error) = result {
                self.report("cannot connect to \(self.configuration.host):\(self.configuration.port): \(error)")
                self.handle { $0.connectFailed() }
            }
        }
    }

    private func becameReady() {
        if loopState.value.problems.recovered() {
            logger.info("Redis connection restored", metadata: ["redis.address": "\(configuration.host):\(configuration.port)"])
        } else {
            logger.debug("Redis connection ready", metadata: ["redis.address": "\(configuration.host):\(configuration.port)"])
        }
        resolveReadyWaiters(true)
    }

    private func resolveReadyWaiters(_ ready: Bool) {
        let waiters = loopState.value.readyWaiters
        loopState.value.readyWaiters = []
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.promise.succeed(ready)
        }
    }

    private func fail(_ entries: CircularBuffer<StateMachine.Entry>, with error: RedisError) {
        for entry in entries {
            entry.request.reply.fail(error)
        }
    }

    /// Logs a problem once per outage: a server that stays down is logged when it goes down, not on every retry,
    /// even when its retries fail in alternating ways (see ``RedisProblemLog``).
    func report(_ problem: String) {
        guard loopState.value.problems.shouldReport(problem) else {
            return
        }
        logger.warning("\(problem)")
    }

    /// Keeps one timer armed for the earliest deadline. A timer left over for a command that was since answered
    /// simply fires, finds nothing overdue and re-arms for the next one; that is cheaper than cancelling per reply.
    private func armTimer() {
        guard let next = Self.deadlineToArm(&loopState.value) else {
            return
        }
        let task = eventLoop.assumeIsolated().scheduleTask(deadline: next) {
            self.loopState.value.timer = nil
            self.handle { $0.deadlineReached(now: .now()) }
        }
        loopState.value.timer = (next, task)
    }

    /// The deadline a new timer must be armed for, nil when the armed one comes soon enough; cancels a timer that
    /// would fire too late. `inout` because it runs twice per command: reading `loopState.value` would copy the
    /// whole state (retaining everything it holds) each time.
    private static func deadlineToArm(_ state: inout LoopState) -> NIODeadline? {
        guard let next = state.machine.nextDeadline else {
            return nil
        }
        // Only the deadline is read: binding the whole tuple would copy (and retain) its scheduled task every time.
        if let armed = state.timer?.deadline {
            if armed <= next {
                return nil
            }
            state.timer?.task.cancel()
            state.timer = nil
        }
        return next
    }
}
