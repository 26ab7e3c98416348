import NIOCore

/// The deterministic bytes that streamed test bodies carry: byte `i` of a body is `UInt8(i % 251)`.
///
/// `TestUpstream`'s `/download` sends them and checks `/upload` bodies against them; `TestHTTPClient.upload`
/// sends them and `TestHTTPClient.download(verifyPattern: true)` checks them. Chunks are zero-copy slices of
/// one precomputed buffer, so a body of any size is produced and checked without materialising it, and a
/// proxy that drops, duplicates or reorders bytes is caught (251 is prime, so no 64 KiB chunk lines up with it).
enum TestBodyPattern {
    /// The largest slice handed out without copying: one 64 KiB chunk.
    static let maxSliceLength = 64 * 1024

    /// `maxSliceLength + 251` bytes of the pattern, so any offset modulo 251 starts a full-length slice.
    private static let buffer = ByteBuffer(bytes: (0..<(maxSliceLength + 251)).map { UInt8($0 % 251) })

    /// The pattern bytes `offset ..< offset + length` of a body.
    ///
    /// Up to `maxSliceLength` bytes this is a slice of a shared buffer (no copy); longer ranges are copied
    /// into a new buffer.
    static func bytes(at offset: Int, length: Int) -> ByteBuffer {
        precondition(offset >= 0 && length >= 0, "negative pattern range \(offset), \(length)")
        if length <= maxSliceLength {
            return buffer.getSlice(at: offset % 251, length: length)!
        }
        var result = ByteBuffer()
        result.reserveCapacity(length)
        var written = 0
        while written < length {
            var piece = bytes(at: offset + written, length: min(maxSliceLength, length - written))
            written += piece.readableBytes
            result.writeBuffer(&piece)
        }
        return result
    }

    /// Whether `chunk`'s readable bytes equal the pattern starting at body offset `offset` (a `memcmp` per 64 KiB).
    static func matches(_ chunk: ByteBuffer, at offset: Int) -> Bool {
        var checked = 0
        while checked < chunk.readableBytes {
            let length = min(maxSliceLength, chunk.readableBytes - checked)
            guard let piece = chunk.getSlice(at: chunk.readerIndex + checked, length: length),
                piece == bytes(at: offset + checked, length: length)
            else { return false }
            checked += length
        }
        return true
    }
}
