import NIOConcurrencyHelpers
import NIOCore
import SessionGateRedis
import Testing

@testable import SessionGate

/// How a batched validation's reply reaches each waiting request (no I/O: the reply is given).
@Suite("ValidationBatch delivery")
struct ValidationBatchDeliveryTests {
    static func session(_ user: String) -> RedisValue {
        .array(["\(user)", "name", "r1,r2", "2000000000000", "1900000000000"].map { .bulkString(ByteBuffer(string: $0)) })
    }

    /// Delivers `result` to `count` callbacks and returns what each received.
    static func deliver(_ result: Result<RedisValue, any Error>, count: Int) -> [Result<SessionIdentity?, any Error>] {
        let received = NIOLockedValueBox<[Int: Result<SessionIdentity?, any Error>]>([:])
        let callbacks: [SessionLookupCallback] = (0..<count).map { index in
            { result in received.withLockedValue { $0[index] = result } }
        }
        ValidationBatch.deliver(result, to: callbacks)
        return received.withLockedValue { received in (0..<count).compactMap { received[$0] } }
    }

    @Test func eachRequestGetsTheEntryAtItsPosition() throws {
        let results = Self.deliver(.success(.array([Self.session("a"), .null, Self.session("c")])), count: 3)
        #expect(results.count == 3)
        #expect(try results[0].get()?.userID == "a")
        #expect(try results[0].get()?.roles == ["r1", "r2"])
        #expect(try results[1].get() == nil)
        #expect(try results[2].get()?.userID == "c")
    }

    @Test func aReplyOfTheWrongShapeOrAFailureFailsEveryRequest() {
        let shapes: [Result<RedisValue, any Error>] = [
            .success(.array([Self.session("a")])),  // one entry for two requests
            .success(.null),
            .failure(RedisError.timeout),
        ]
        for shape in shapes {
            let results = Self.deliver(shape, count: 2)
            #expect(results.count == 2)
            for result in results {
                #expect(throws: SessionStoreError.self) { try result.get() }
            }
        }
    }

    @Test func aBatchIsTakenWholeAndSaysWhenItIsFull() {
        var batch = ValidationBatch()
        #expect(batch.isEmpty)
        for index in 0..<ValidationBatch.maxKeys {
            #expect(!batch.isFull)
            batch.add("k\(index)") { _ in }
        }
        #expect(batch.isFull)
        let taken = batch.take()
        #expect(taken.keys.count == ValidationBatch.maxKeys && taken.callbacks.count == ValidationBatch.maxKeys)
        #expect(taken.keys.first == "k0" && taken.keys.last == "k\(ValidationBatch.maxKeys - 1)")
        #expect(batch.isEmpty && !batch.isFull)
    }
}
