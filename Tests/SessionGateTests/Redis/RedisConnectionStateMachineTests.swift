import NIOCore
import Testing

@testable import SessionGateRedis

/// Drives the pure state machine with strings for connections and integers for requests: no sockets, no clocks.
@Suite("RedisConnectionStateMachine")
struct RedisConnectionStateMachineTests {
    typealias Machine = RedisConnectionStateMachine<String, Int>

    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func deadline(_ milliseconds: Int64) -> NIODeadline {
        t0 + .milliseconds(milliseconds)
    }

    func entries(_ items: (Int, Int64)...) -> CircularBuffer<Machine.Entry> {
        CircularBuffer(items.map { Machine.Entry(request: $0.0, deadline: deadline($0.1)) })
    }

    /// A machine that has connected as "c1" without a handshake.
    func readyMachine() -> Machine {
        var machine = Machine(handshakeCommandCount: 0)
        _ = machine.start()
        _ = machine.connected("c1", handshakeDeadline: deadline(500))
        return machine
    }

    @Test func connectThenReadyThenFIFOReplies() {
        var machine = Machine(handshakeCommandCount: 0)
        #expect(machine.start() == .connect)
        #expect(machine.start() == .none)
        #expect(machine.connected("c1", handshakeDeadline: deadline(500)) == .becameReady("c1", writing: []))
        #expect(machine.isReady)
        #expect(machine.send(1, deadline: deadline(100)) == .write(1, to: "c1"))
        #expect(machine.send(2, deadline: deadline(110)) == .write(2, to: "c1"))
        #expect(machine.routingCost == 2)
        #expect(machine.received(.integer(10)) == .succeed(1, .integer(10)))
        #expect(machine.received(.error("ERR x")) == .succeed(2, .error("ERR x")))
        #expect(machine.nextDeadline == nil)
    }

    @Test func commandsWhileConnectingAreQueuedThenWrittenInOrder() {
        var machine = Machine(handshakeCommandCount: 0)
        _ = machine.start()
        #expect(machine.send(1, deadline: deadline(100)) == .none)
        #expect(machine.send(2, deadline: deadline(200)) == .none)
        #expect(machine.nextDeadline == deadline(100))
        #expect(machine.connected("c1", handshakeDeadline: deadline(500)) == .becameReady("c1", writing: entries((1, 100), (2, 200))))
        #expect(machine.received(.simpleString("OK")) == .succeed(1, .simpleString("OK")))
    }

    @Test func handshakeRunsBeforeQueuedCommands() {
        var machine = Machine(handshakeCommandCount: 2)
        _ = machine.start()
        #expect(machine.send(1, deadline: deadline(100)) == .none)
        #expect(machine.connected("c1", handshakeDeadline: deadline(50)) == .writeHandshake("c1"))
        #expect(machine.send(2, deadline: deadline(200)) == .none)
        #expect(machine.nextDeadline == deadline(50))
        #expect(machine.received(.simpleString("OK")) == .none)
        #expect(!machine.isReady)
        #expect(machine.received(.simpleString("OK")) == .becameReady("c1", writing: entries((1, 100), (2, 200))))
        #expect(machine.isReady)
    }

    @Test func handshakeErrorClosesFailsQueuedAndBacksOff() {
        var machine = Machine(handshakeCommandCount: 1)
        _ = machine.start()
        _ = machine.send(1, deadline: deadline(100))
        _ = machine.connected("c1", handshakeDeadline: deadline(500))
        #expect(
            machine.received(.error("WRONGPASS invalid username-password pair"))
                == .close(
                    "c1", timedOut: [], failing: entries((1, 100)), error: .connectionUnavailable,
                    reason: .server("WRONGPASS invalid username-password pair")))
        #expect(machine.send(2, deadline: deadline(100)) == .fail(2, .connectionUnavailable))
        #expect(machine.closed() == .failAndReconnect(failing: [], error: .connectionClosed, attempt: 1))
        #expect(machine.backoffElapsed() == .connect)
        _ = machine.connected("c2", handshakeDeadline: deadline(500))
        _ = machine.received(.error("WRONGPASS again"))
        #expect(machine.closed() == .failAndReconnect(failing: [], error: .connectionClosed, attempt: 2))
    }

    @Test func handshakeTimeoutClosesTheConnection() {
        var machine = Machine(handshakeCommandCount: 1)
        _ = machine.start()
        _ = machine.send(1, deadline: deadline(100))
        _ = machine.connected("c1", handshakeDeadline: deadline(300))
        _ = machine.send(2, deadline: deadline(400))
        #expect(machine.deadlineReached(now: deadline(100)) == .failExpired(entries((1, 100))))
        #expect(machine.nextDeadline == deadline(300))
        #expect(
            machine.deadlineReached(now: deadline(300))
                == .close("c1", timedOut: [], failing: entries((2, 400)), error: .connectionUnavailable, reason: .timeout))
    }

    @Test func failedConnectFailsQueuedAndEscalatesBackoff() {
        var machine = Machine(handshakeCommandCount: 0)
        _ = machine.start()
        _ = machine.send(1, deadline: deadline(100))
        #expect(machine.connectFailed() == .failAndReconnect(failing: entries((1, 100)), error: .connectionUnavailable, attempt: 1))
        #expect(machine.backoffElapsed() == .connect)
        #expect(machine.connectFailed() == .failAndReconnect(failing: [], error: .connectionUnavailable, attempt: 2))
        #expect(machine.backoffElapsed() == .connect)
        #expect(machine.connected("c1", handshakeDeadline: deadline(500)) == .becameReady("c1", writing: []))
        #expect(machine.closed() == .failAndReconnect(failing: [], error: .connectionClosed, attempt: 1))
    }

    @Test func commandWhileInBackoffFailsAtOnce() {
        var machine = Machine(handshakeCommandCount: 0)
        _ = machine.start()
        _ = machine.connectFailed()
        #expect(machine.send(1, deadline: deadline(100)) == .fail(1, .connectionUnavailable))
        #expect(machine.routingCost == Int.max)
        #expect(machine.nextDeadline == nil)
    }

    @Test func commandBeforeStartFailsAtOnce() {
        var machine = Machine(handshakeCommandCount: 0)
        #expect(machine.send(1, deadline: deadline(100)) == .fail(1, .connectionUnavailable))
    }

    @Test func dropFailsInFlightAndBacksOff() {
        var machine = readyMachine()
        _ = machine.send(1, deadline: deadline(100))
        _ = machine.send(2, deadline: deadline(200))
        #expect(machine.closed() == .failAndReconnect(failing: entries((1, 100), (2, 200)), error: .connectionClosed, attempt: 1))
        #expect(machine.send(3, deadline: deadline(300)) == .fail(3, .connectionUnavailable))
        #expect(machine.backoffElapsed() == .connect)
        #expect(machine.send(4, deadline: deadline(400)) == .none)
        #expect(machine.connected("c2", handshakeDeadline: deadline(500)) == .becameReady("c2", writing: entries((4, 400))))
    }

    @Test func timeoutFailsOldestClosesAndFailsTheRest() {
        var machine = readyMachine()
        _ = machine.send(1, deadline: deadline(100))
        _ = machine.send(2, deadline: deadline(150))
        #expect(machine.nextDeadline == deadline(100))
        #expect(machine.deadlineReached(now: deadline(99)) == .none)
        #expect(
            machine.deadlineReached(now: deadline(100))
                == .close("c1", timedOut: entries((1, 100)), failing: entries((2, 150)), error: .connectionClosed, reason: .timeout))
        #expect(machine.received(.simpleString("late")) == .none)
        #expect(machine.send(3, deadline: deadline(300)) == .fail(3, .connectionUnavailable))
        #expect(machine.closed() == .failAndReconnect(failing: [], error: .connectionClosed, attempt: 1))
        #expect(machine.backoffElapsed() == .connect)
    }

    @Test func answeredCommandsDoNotTimeOut() {
        var machine = readyMachine()
        _ = machine.send(1, deadline: deadline(100))
        _ = machine.send(2, deadline: deadline(200))
        _ = machine.received(.integer(1))
        #expect(machine.deadlineReached(now: deadline(100)) == .none)
        #expect(machine.nextDeadline == deadline(200))
    }

    @Test func queuedCommandsTimeOutWhileConnecting() {
        var machine = Machine(handshakeCommandCount: 0)
        _ = machine.start()
        _ = machine.send(1, deadline: deadline(100))
        _ = machine.send(2, deadline: deadline(100))
        _ = machine.send(3, deadline: deadline(200))
        #expect(machine.deadlineReached(now: deadline(150)) == .failExpired(entries((1, 100), (2, 100))))
        #expect(machine.connected("c1", handshakeDeadline: deadline(500)) == .becameReady("c1", writing: entries((3, 200))))
    }

    @Test func invalidDataClosesAndFailsInFlightWithTheProtocolError() {
        var machine = readyMachine()
        _ = machine.send(1, deadline: deadline(100))
        let error = RedisError.protocolError("bad byte")
        #expect(machine.receivedInvalidData(error) == .close("c1", timedOut: [], failing: entries((1, 100)), error: error, reason: error))
        #expect(machine.receivedInvalidData(error) == .none)
    }

    @Test func repliesAfterGivingUpOnTheConnectionAreIgnored() {
        var machine = Machine(handshakeCommandCount: 2)
        _ = machine.start()
        _ = machine.connected("c1", handshakeDeadline: deadline(500))
        _ = machine.received(.error("WRONGPASS"))
        _ = machine.closed()
        // SELECT's error was in the same read as AUTH's; it arrives after the connection was written off.
        #expect(machine.received(.error("NOAUTH")) == .none)
        #expect(machine.receivedInvalidData(.protocolError("x")) == .none)
        _ = machine.backoffElapsed()
        #expect(machine.received(.integer(1)) == .none)
    }

    @Test func unsolicitedReplyClosesTheConnection() {
        var machine = readyMachine()
        guard case .close("c1", [], [], .connectionClosed, let reason) = machine.received(.integer(1)) else {
            Issue.record("expected .close")
            return
        }
        #expect(reason.description.contains("no command in flight"))
    }

    @Test func shutdownFailsEverythingAndIsIdempotent() {
        var machine = readyMachine()
        _ = machine.send(1, deadline: deadline(100))
        #expect(machine.shutdown() == .shutdown("c1", failing: entries((1, 100))))
        #expect(machine.shutdown() == .none)
        #expect(machine.send(2, deadline: deadline(100)) == .fail(2, .connectionUnavailable))
        #expect(machine.closed() == .none)
        #expect(machine.received(.integer(1)) == .none)
        #expect(machine.start() == .none)
    }

    @Test func shutdownWhileConnectingClosesTheLateConnection() {
        var machine = Machine(handshakeCommandCount: 0)
        _ = machine.start()
        _ = machine.send(1, deadline: deadline(100))
        #expect(machine.shutdown() == .shutdown(nil, failing: entries((1, 100))))
        #expect(machine.connected("late", handshakeDeadline: deadline(500)) == .shutdown("late", failing: []))
        #expect(machine.connectFailed() == .none)
    }

    @Test func shutdownDuringBackoffStopsReconnecting() {
        var machine = Machine(handshakeCommandCount: 0)
        _ = machine.start()
        _ = machine.connectFailed()
        #expect(machine.shutdown() == .shutdown(nil, failing: []))
        #expect(machine.backoffElapsed() == .none)
    }

    @Test func routingPrefersReadyThenConnectingThenDown() {
        var ready = readyMachine()
        _ = ready.send(1, deadline: deadline(100))
        var connecting = Machine(handshakeCommandCount: 0)
        _ = connecting.start()
        var down = Machine(handshakeCommandCount: 0)
        _ = down.start()
        _ = down.connectFailed()
        #expect(ready.routingCost < connecting.routingCost)
        #expect(connecting.routingCost < down.routingCost)
    }
}
