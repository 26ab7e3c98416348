import NIOCore
import Testing

@testable import SessionGateRedis

/// The invalidation connection's handshake and messages, driven with strings for connections.
@Suite("RedisInvalidationStateMachine")
struct RedisInvalidationStateMachineTests {
    typealias Machine = RedisInvalidationStateMachine<String>

    func bulk(_ text: String) -> RedisValue { .bulkString(ByteBuffer(string: text)) }

    func subscribed() -> Machine {
        var machine = Machine(preambleReplies: 1)
        _ = machine.start()
        _ = machine.connected("c1")
        _ = machine.received(.simpleString("OK"))
        _ = machine.received(.integer(7))
        _ = machine.received(.simpleString("OK"))
        _ = machine.received(.array([bulk("subscribe"), bulk("__redis__:invalidate"), .integer(1)]))
        return machine
    }

    @Test func handshakeTracksWithItsOwnIDThenSubscribes() {
        var machine = Machine(preambleReplies: 2)
        #expect(machine.start() == .connect)
        #expect(machine.connected("c1") == .writePreamble("c1"))
        #expect(machine.received(.simpleString("OK")) == .none)
        #expect(machine.received(.simpleString("OK")) == .none)
        #expect(machine.received(.integer(7)) == .writeSubscribe("c1", clientID: 7))
        #expect(machine.received(.simpleString("OK")) == .none)
        #expect(!machine.isSubscribed)
        #expect(machine.received(.array([bulk("subscribe"), bulk("__redis__:invalidate"), .integer(1)])) == .activate)
        #expect(machine.isSubscribed)
    }

    @Test func aFailedTrackingCommandClosesWithoutEverActivating() {
        var machine = Machine(preambleReplies: 1)
        _ = machine.start()
        _ = machine.connected("c1")
        _ = machine.received(.simpleString("OK"))
        _ = machine.received(.integer(7))
        #expect(machine.received(.error("ERR bad")) == .close("c1", reason: "ERR bad", deactivate: false))
        #expect(machine.closed() == .reconnect(attempt: 1, deactivate: false))
        #expect(machine.backoffElapsed() == .connect)
    }

    @Test func messagesBecomeInvalidations() {
        var machine = subscribed()
        let keys = RedisValue.array([bulk("sg:a"), bulk("sg:b")])
        #expect(machine.received(.array([bulk("message"), bulk("__redis__:invalidate"), keys])) == .invalidate(["sg:a", "sg:b"]))
        #expect(machine.received(.array([bulk("message"), bulk("__redis__:invalidate"), .null])) == .invalidateAll)
        #expect(machine.received(.array([bulk("pong"), bulk("")])) == .none)
    }

    @Test func losingTheSubscriptionDeactivatesAtOnce() {
        var machine = subscribed()
        #expect(machine.closed() == .reconnect(attempt: 1, deactivate: true))
        #expect(!machine.isSubscribed)
        #expect(machine.received(.array([bulk("message"), bulk("__redis__:invalidate"), .null])) == .none)
    }

    @Test func invalidDataWhileSubscribedDeactivates() {
        var machine = subscribed()
        #expect(machine.receivedInvalidData(.protocolError("x")) == .close("c1", reason: RedisError.protocolError("x").description, deactivate: true))
    }

    @Test func shutdownDeactivatesOnlyWhenActive() {
        var active = subscribed()
        #expect(active.shutdown() == .shutdown("c1", deactivate: true))
        var idle = Machine(preambleReplies: 1)
        #expect(idle.shutdown() == .shutdown(nil, deactivate: false))
        #expect(idle.start() == .none)
    }

    @Test func aStalledHandshakeIsClosed() {
        var machine = Machine(preambleReplies: 1)
        _ = machine.start()
        _ = machine.connected("c1")
        #expect(machine.handshakeTimedOut() == .close("c1", reason: "handshake timed out", deactivate: false))
    }

    @Test func aHeartbeatWithoutAnyAnswerClosesAndDeactivates() {
        var machine = subscribed()
        #expect(machine.heartbeat() == .writePing("c1"))
        #expect(machine.received(.array([bulk("pong"), bulk("")])) == .none)
        #expect(machine.heartbeat() == .writePing("c1"), "answered: ping again")
        #expect(machine.heartbeat() == .close("c1", reason: "no reply to PING", deactivate: true))
        #expect(!machine.isSubscribed)
        #expect(machine.heartbeat() == .none)
    }
}
