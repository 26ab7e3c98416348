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

    @inline(__always)
    mutating func writeHeaderLine(_ name: String, _ value: String) {
        writeString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }

    /// The line that starts a chunk of `size` bytes.
    mutating func writeChunkHeader(size: Int) {
        writeString(String(size, radix: 16))
        writeStaticString("\r\n")
    }

    /// The last chunk and trailers, ending a chunked body.
    mutating func writeLastChunk(trailers: HTTPHeaders?) {
        writeStaticString("0\r\n")
        for (name, value) in trailers ?? [:] { writeHeaderLine(name, value) }
        writeStaticString("\r\n")
    }
}
