import NIOCore
import NIOEmbedded
import Testing

@testable import SessionGate

/// The upstream request heads' buffers are reused from one request to the next: reuse must save the allocation and
/// never let a new head overwrite bytes something still holds.
@Suite("LoopResources head buffers")
struct LoopResourcesTests {
    private func resources() -> LoopResources {
        LoopResources(eventLoop: EmbeddedEventLoop(), upstreams: [], requestIDPrefix: "t-", loopIndex: 0)
    }

    private func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withUnsafeReadableBytes { UnsafeRawPointer($0.baseAddress) }
    }

    @Test func aRecycledBufferServesTheNextHeadEmptyWithTheSameMemory() {
        let loop = resources()
        var first = loop.takeHeadBuffer(capacity: 600, allocator: ByteBufferAllocator())
        first.writeString("GET /a HTTP/1.1\r\n\r\n")
        let memory = address(first)
        loop.recycleHeadBuffer(first)
        first = ByteBuffer()  // the exchange let go of it
        var second = loop.takeHeadBuffer(capacity: 600, allocator: ByteBufferAllocator())
        #expect(second.readableBytes == 0)
        #expect(second.writableBytes >= 600)
        second.writeString("G")
        #expect(address(second) == memory, "no new allocation")
    }

    @Test func aBufferStillHeldElsewhereIsNeverOverwritten() {
        let loop = resources()
        var first = loop.takeHeadBuffer(capacity: 600, allocator: ByteBufferAllocator())
        first.writeString("GET /first HTTP/1.1\r\n\r\n")
        loop.recycleHeadBuffer(first)
        // `first` is still held, as by a write not yet on the wire.
        var second = loop.takeHeadBuffer(capacity: 600, allocator: ByteBufferAllocator())
        second.writeString("POST /second HTTP/1.1\r\n\r\n")
        #expect(String(buffer: first) == "GET /first HTTP/1.1\r\n\r\n")
        #expect(String(buffer: second) == "POST /second HTTP/1.1\r\n\r\n")
    }

    @Test func largeBuffersAndBuffersBeyondTheLimitAreLetGo() {
        let loop = resources()
        let allocator = ByteBufferAllocator()
        loop.recycleHeadBuffer(allocator.buffer(capacity: LoopResources.maxSpareHeadCapacity * 2))
        let afterLarge = loop.takeHeadBuffer(capacity: 16, allocator: allocator)
        #expect(afterLarge.capacity < LoopResources.maxSpareHeadCapacity * 2, "a large buffer is not kept")

        for _ in 0..<(LoopResources.maxSpareHeadBuffers + 10) { loop.recycleHeadBuffer(allocator.buffer(capacity: 1000)) }
        var taken = 0
        while loop.takeHeadBuffer(capacity: 16, allocator: allocator).capacity >= 1000 {
            taken += 1
            if taken > LoopResources.maxSpareHeadBuffers + 10 { break }
        }
        #expect(taken == LoopResources.maxSpareHeadBuffers)
    }
}
