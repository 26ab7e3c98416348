import NIOCore
import NIOHTTP1

/// HTTP/1.1 written straight into buffers: the proxy's own responses, request heads for upstreams, chunk framing.
/// Names and values written here were parsed (so validated) from a client or upstream, come from validated
/// configuration, or are the proxy's own.
extension ByteBuffer {
    /// A response head the proxy composed itself (its errors, the `[auth]` endpoints, `100 Continue`).
    mutating func writeResponseHead(_ head: HTTPResponseHead) {
        writeStaticString(head.version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        writeString(String(head.status.code))
        writeStaticString(" ")
        writeString(head.status.reasonPhrase)
        writeStaticString("\r\n")
        for (name, value) in head.headers { writeHeaderLine(name, value) }
        writeStaticString("\r\n")
    }

    /// The line that starts a chunk of `size` bytes.
    mutating func writeChunkHeader(size: Int) {
        writeString(String(size, radix: 16))
        writeStaticString("\r\n")
    }

}

/// Appends bytes to memory reserved in advance (inside `ByteBuffer.writeWithUnsafeMutableBytes`), so a head costs
/// one capacity check instead of one per piece. The caller reserves enough: nothing here checks.
struct RawWriter {
    private let base: UnsafeMutableRawPointer
    private(set) var count = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.base = buffer.baseAddress! }

    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Native strings (all the proxy writes) are copied from their storage as they are, without the copy of the
    /// string value (a retain and a release) that `withUTF8` needs.
    @inline(__always)
    mutating func append(_ text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if done == nil {
            var text = text
            text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
        }
    }
}

extension ByteBuffer {
    /// `name: value\r\n` in one capacity check.
    @inline(__always)
    mutating func writeHeaderLine(_ name: String, _ value: String) {
        let length = name.utf8.count + value.utf8.count + 4
        writeWithUnsafeMutableBytes(minimumWritableBytes: length) { memory in
            var writer = RawWriter(memory)
            writer.append(name)
            writer.append(": ")
            writer.append(value)
            writer.append("\r\n")
            return writer.count
        }
    }
}
