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

    /// Adds one request per key to a batch, delivers `result` for the batch's keys, and returns what each request
    /// received, in the order added.
    static func deliver(
        _ result: Result<RedisValue, any Error>, forRequestsOf keys: [String]
    ) -> [Result<SessionIdentity?, any Error>] {
        let received = NIOLockedValueBox<[Int: Result<SessionIdentity?, any Error>]>([:])
        var batch = ValidationBatch()
        for (index, key) in keys.enumerated() {
            batch.add(key) { result in received.withLockedValue { $0[index] = result } }
        }
        let taken = batch.take()
        ValidationBatch.deliver(result, keyCount: taken.keys.count, to: taken.waiting)
        return received.withLockedValue { received in keys.indices.compactMap { received[$0] } }
    }

    @Test func eachRequestGetsTheEntryAtItsPosition() throws {
        let results = Self.deliver(
            .success(.array([Self.session("a"), .null, Self.session("c")])), forRequestsOf: ["ka", "kb", "kc"])
        #expect(results.count == 3)
        #expect(try results[0].get()?.userID == "a")
        #expect(try results[0].get()?.roles == ["r1", "r2"])
        #expect(try results[1].get() == nil)
        #expect(try results[2].get()?.userID == "c")
    }

    @Test func requestsOfOneSessionShareItsEntryAndEachGetsItsAnswer() throws {
        var batch = ValidationBatch()
        for key in ["ka", "kb", "ka", "kc", "kb", "ka"] { batch.add(key) { _ in } }
        let taken = batch.take()
        #expect(taken.keys == ["ka", "kb", "kc"], "each session is checked once, in the order first asked for")
        #expect(taken.waiting.map(\.position) == [0, 1, 0, 2, 1, 0])

        let results = Self.deliver(
            .success(.array([Self.session("a"), .null, Self.session("c")])),
            forRequestsOf: ["ka", "kb", "ka", "kc", "kb", "ka"])
        #expect(results.count == 6)
        #expect(try results.map { try $0.get()?.userID } == ["a", nil, "a", "c", nil, "a"])
    }

    @Test func aReplyOfTheWrongShapeOrAFailureFailsEveryRequest() {
        let shapes: [Result<RedisValue, any Error>] = [
            .success(.array([Self.session("a")])),  // one entry for two keys
            .success(.array([Self.session("a"), .null, .null])),  // three entries for two keys
            .success(.null),
            .failure(RedisError.timeout),
        ]
        for shape in shapes {
            let results = Self.deliver(shape, forRequestsOf: ["ka", "kb", "ka"])
            #expect(results.count == 3)
            for result in results {
                #expect(throws: SessionStoreError.self) { try result.get() }
            }
        }
    }

    @Test func aBatchIsTakenWholeAndIsFullAtMaxKeysDistinctSessions() {
        var batch = ValidationBatch()
        #expect(batch.isEmpty)
        for _ in 0..<200 { batch.add("same") { _ in } }
        #expect(!batch.isFull, "repeats of one session do not fill a batch")
        for index in 1..<ValidationBatch.maxKeys {
            #expect(!batch.isFull)
            batch.add("k\(index)") { _ in }
        }
        #expect(batch.isFull)
        let taken = batch.take()
        #expect(taken.keys.count == ValidationBatch.maxKeys && taken.waiting.count == 200 + ValidationBatch.maxKeys - 1)
        #expect(taken.keys.first == "same" && taken.keys.last == "k\(ValidationBatch.maxKeys - 1)")
        #expect(batch.isEmpty && !batch.isFull)
    }
}
