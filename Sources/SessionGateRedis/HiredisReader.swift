import CHiredis
import NIOCore

/// Incremental RESP parser: hiredis's `redisReader`, fed with whatever bytes arrive, yielding ``RedisValue``s.
///
/// hiredis does the parsing because it is small, battle-tested and fast; this wrapper only owns the C reader's
/// lifetime and converts each finished `redisReply` tree into Swift values, freeing the tree at once. Bytes may be
/// fed in any split (a reply can span reads, a read can hold many replies): the reader buffers partial replies.
///
/// One reader per connection. Not thread-safe and not `Sendable`: it lives inside the channel handler, on its
/// event loop. After ``next()`` throws, the stream is unrecoverable and the connection must be closed.
/// This is the only file that touches hiredis.
final class HiredisReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private let allocator: ByteBufferAllocator

    /// Creates an empty reader.
    /// - Parameter allocator: Allocator for bulk-string buffers, usually the channel's.
    init(allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        guard let reader = redisReaderCreate() else {
            fatalError("redisReaderCreate failed: out of memory")
        }
        self.reader = reader
        self.allocator = allocator
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Appends received bytes to the reader's buffer. Parsing happens in ``next()``.
    /// - Parameter buffer: The bytes as read from the socket; not consumed.
    /// - Throws: ``RedisError/protocolError(_:)`` if the reader is already in an error state.
    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return REDIS_OK
            }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK {
            throw .protocolError(errorMessage)
        }
    }

    /// Returns the next complete reply, or `nil` if more bytes are needed.
    /// - Throws: ``RedisError/protocolError(_:)`` if the bytes are not valid RESP.
    func next() throws(RedisError) -> RedisValue? {
        var rawReply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &rawReply) == REDIS_OK else {
            throw .protocolError(errorMessage)
        }
        guard let rawReply else {
            return nil
        }
        defer { freeReplyObject(rawReply) }
        return convert(rawReply.assumingMemoryBound(to: redisReply.self))
    }

    /// hiredis's description of its error, from the fixed-size `errstr` field.
    private var errorMessage: String {
        withUnsafeBytes(of: &reader.pointee.errstr) { bytes in
            let text = bytes.prefix { $0 != 0 }
            return text.isEmpty ? "unknown hiredis reader error" : String(decoding: text, as: UTF8.self)
        }
    }

    /// Converts one reply tree; hiredis caps nesting at a few levels, so recursion depth is bounded.
    ///
    /// Every bulk string of the reply is copied into one buffer, then handed out as slices of it: an array reply
    /// (a session's fields) costs one allocation for all its strings instead of one each. The strings are all written
    /// before any slice is taken, so no write ever finds the buffer shared (which would copy it).
    private func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        var strings = allocator.buffer(capacity: Self.stringBytes(in: reply))
        Self.writeStrings(of: reply, into: &strings)
        var offset = 0
        return value(of: reply, strings: strings, offset: &offset)
    }

    /// The total length of the bulk strings in a reply tree.
    private static func stringBytes(in reply: UnsafeMutablePointer<redisReply>) -> Int {
        switch reply.pointee.type {
        case REDIS_REPLY_STRING:
            return reply.pointee.len
        case REDIS_REPLY_ARRAY:
            var total = 0
            for index in 0..<reply.pointee.elements {
                if let element = reply.pointee.element[index] { total += stringBytes(in: element) }
            }
            return total
        default:
            return 0
        }
    }

    /// Copies the bulk strings of a reply tree, depth first, one after another.
    private static func writeStrings(of reply: UnsafeMutablePointer<redisReply>, into strings: inout ByteBuffer) {
        switch reply.pointee.type {
        case REDIS_REPLY_STRING:
            strings.writeBytes(UnsafeRawBufferPointer(start: reply.pointee.str, count: reply.pointee.len))
        case REDIS_REPLY_ARRAY:
            for index in 0..<reply.pointee.elements {
                if let element = reply.pointee.element[index] { writeStrings(of: element, into: &strings) }
            }
        default:
            break
        }
    }

    /// The value of a reply tree, its bulk strings sliced from `strings` in the order ``writeStrings(of:into:)``
    /// wrote them.
    private func value(of reply: UnsafeMutablePointer<redisReply>, strings: ByteBuffer, offset: inout Int) -> RedisValue {
        switch reply.pointee.type {
        case REDIS_REPLY_STRING:
            let length = reply.pointee.len
            defer { offset += length }
            return .bulkString(strings.getSlice(at: strings.readerIndex + offset, length: length)!)
        case REDIS_REPLY_STATUS:
            return .simpleString(text(of: reply))
        case REDIS_REPLY_ERROR:
            return .error(text(of: reply))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.pointee.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(reply.pointee.elements)
            for index in 0..<reply.pointee.elements {
                if let element = reply.pointee.element[index] {
                    elements.append(value(of: element, strings: strings, offset: &offset))
                } else {
                    elements.append(.null)
                }
            }
            return .array(elements)
        default:
            // hiredis 0.14 only produces the six RESP2 types above; a newer library could add RESP3 ones.
            return .error("unsupported hiredis reply type \(reply.pointee.type)")
        }
    }

    private func text(of reply: UnsafeMutablePointer<redisReply>) -> String {
        String(decoding: UnsafeRawBufferPointer(start: reply.pointee.str, count: reply.pointee.len), as: UTF8.self)
    }
}

@available(*, unavailable)
extension HiredisReader: Sendable {}
