import NIOCore

/// Finds a head (request or response) at the front of the bytes read, keeping the start of one that did not arrive
/// in one read until the rest does. Shared by ``ClientRequestParser`` and ``UpstreamResponseParser``.
struct HeadCollector {
    /// The start of a head that did not arrive in one read.
    private var partial: ByteBuffer?
    let maxBytes: Int

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    /// True while part of a head is held.
    var holdsPartialHead: Bool { partial != nil }

    /// The head at the front of `buffer` (joined with what earlier reads left), consumed from it; nil when the head
    /// is not complete yet (its bytes are then kept here). Throws `tooLarge` when the head passes ``maxBytes``.
    mutating func take(_ buffer: inout ByteBuffer, tooLarge: @autoclosure () -> Error) throws -> ByteBuffer? {
        if var joined = partial {
            // Rare: the head spans reads. Rescan from just before the new bytes, where its blank line may start.
            partial = nil  // the only reference left, so appending does not copy
            let from = max(0, joined.readableBytes - 3)
            joined.writeBuffer(&buffer)
            guard let length = Self.headLength(joined, from: from) else {
                guard joined.readableBytes <= maxBytes else { throw tooLarge() }
                partial = joined
                return nil
            }
            guard length <= maxBytes else { throw tooLarge() }
            let head = joined.readSlice(length: length)!
            // Bytes past the head belong to what follows: hand them back.
            buffer = joined
            return head
        }
        guard let length = Self.headLength(buffer, from: 0) else {
            guard buffer.readableBytes <= maxBytes else { throw tooLarge() }
            if buffer.readableBytes > 0 { partial = buffer }
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return nil
        }
        guard length <= maxBytes else { throw tooLarge() }
        return buffer.readSlice(length: length)!
    }

    /// The length of the head at the start of `buffer` (through its blank line), or nil if it is not all there.
    private static func headLength(_ buffer: ByteBuffer, from start: Int) -> Int? {
        buffer.withUnsafeReadableBytes { bytes in
            var lineStart = start
            while let lineFeed = ByteScan.index(of: UInt8(ascii: "\n"), in: bytes, from: lineStart) {
                // A line ends here; the head ends if the next line is empty ("\r\n" or a bare "\n").
                if lineFeed + 1 < bytes.count, bytes[lineFeed + 1] == UInt8(ascii: "\n") { return lineFeed + 2 }
                if lineFeed + 2 < bytes.count, bytes[lineFeed + 1] == UInt8(ascii: "\r"),
                    bytes[lineFeed + 2] == UInt8(ascii: "\n")
                {
                    return lineFeed + 3
                }
                lineStart = lineFeed + 1
            }
            return nil
        }
    }
}

extension ByteBuffer {
    /// The next part of a body of known length: up to `remaining` bytes as a slice, and how many are left after it;
    /// nil when nothing has been read yet.
    mutating func readBodySlice(remaining: Int) -> (slice: ByteBuffer, left: Int)? {
        guard readableBytes > 0 else { return nil }
        let count = Swift.min(remaining, readableBytes)
        return (readSlice(length: count)!, remaining - count)
    }
}
