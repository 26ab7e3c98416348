/// Follows the framing of a chunked body (RFC 9112 §7.1) byte by byte, to find where it ends and, for a client
/// that cannot take chunks, which bytes are data.
///
/// It never copies: ``scan(_:dechunk:)`` says how many leading bytes to pass on or to drop, and the caller slices.
struct ChunkedBodyFramer {
    private enum Phase {
        case size(digits: Int, value: Int)
        /// `;name=value` after the size, or spaces before it ends: skipped.
        case sizeExtension(length: Int)
        case sizeLF(value: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerLF
        case finalLF
        case complete
    }

    private var phase = Phase.size(digits: 0, value: 0)
    private var trailerBytes = 0

    init() {}

    var isComplete: Bool {
        if case .complete = phase { return true }
        return false
    }

    /// Scans from the start of `bytes`. Passing the framing on (`dechunk == false`), everything up to the body's end
    /// is passed. Dechunking, data bytes are passed and framing bytes skipped; exactly one of the two counts is
    /// non-zero while bytes remain and the body is not complete.
    mutating func scan(_ bytes: UnsafeRawBufferPointer, dechunk: Bool) throws -> (pass: Int, skip: Int) {
        var i = 0
        while i < bytes.count {
            switch phase {
            case .data(let remaining):
                let count = min(remaining, bytes.count - i)
                if dechunk && i > 0 { return (0, i) }  // framing first, then the data on the next call
                i += count
                phase = remaining == count ? .dataCR : .data(remaining: remaining - count)
                if dechunk { return (i, 0) }
            case .complete:
                return dechunk ? (0, i) : (i, 0)
            default:
                try step(bytes[i])
                i += 1
            }
        }
        return dechunk ? (0, i) : (i, 0)
    }

    /// One framing byte.
    private mutating func step(_ byte: UInt8) throws {
        switch phase {
        case .size(let digits, let value):
            if let digit = Self.hexValue(byte) {
                guard digits < 15 else { throw UpstreamResponseParser.ParseError.malformedChunk }
                phase = .size(digits: digits + 1, value: value << 4 | digit)
            } else if digits > 0 && byte == UInt8(ascii: "\r") {
                phase = .sizeLF(value: value)
            } else if digits > 0 && (byte == UInt8(ascii: ";") || byte == 0x20 || byte == 0x09) {
                phase = .sizeExtension(length: 1)
                pendingSize = value
            } else {
                throw UpstreamResponseParser.ParseError.malformedChunk
            }
        case .sizeExtension(let length):
            if byte == UInt8(ascii: "\r") {
                phase = .sizeLF(value: pendingSize)
            } else {
                guard length < 4096, HeaderLine.isFieldValueByte(byte) else {
                    throw UpstreamResponseParser.ParseError.malformedChunk
                }
                phase = .sizeExtension(length: length + 1)
            }
        case .sizeLF(let value):
            guard byte == UInt8(ascii: "\n") else { throw UpstreamResponseParser.ParseError.malformedChunk }
            phase = value == 0 ? .trailerLineStart : .data(remaining: value)
        case .dataCR:
            guard byte == UInt8(ascii: "\r") else { throw UpstreamResponseParser.ParseError.malformedChunk }
            phase = .dataLF
        case .dataLF:
            guard byte == UInt8(ascii: "\n") else { throw UpstreamResponseParser.ParseError.malformedChunk }
            phase = .size(digits: 0, value: 0)
        case .trailerLineStart:
            phase = byte == UInt8(ascii: "\r") ? .finalLF : .trailerLine
            if byte != UInt8(ascii: "\r") { try countTrailer(byte) }
        case .trailerLine:
            if byte == UInt8(ascii: "\r") { phase = .trailerLF } else { try countTrailer(byte) }
        case .trailerLF:
            guard byte == UInt8(ascii: "\n") else { throw UpstreamResponseParser.ParseError.malformedChunk }
            phase = .trailerLineStart
        case .finalLF:
            guard byte == UInt8(ascii: "\n") else { throw UpstreamResponseParser.ParseError.malformedChunk }
            phase = .complete
        case .data, .complete:
            preconditionFailure("data and the end are handled by scan(_:dechunk:)")
        }
    }

    /// The size read before an extension, kept until the line ends.
    private var pendingSize = 0

    private mutating func countTrailer(_ byte: UInt8) throws {
        trailerBytes += 1
        guard trailerBytes <= UpstreamResponseParser.maxHeadBytes, HeaderLine.isFieldValueByte(byte) else {
            throw UpstreamResponseParser.ParseError.malformedChunk
        }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }
}
