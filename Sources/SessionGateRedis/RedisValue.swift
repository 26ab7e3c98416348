import NIOCore

/// One decoded Redis reply.
///
/// Replies are plain values so they can cross event loops and be compared in tests. Bulk strings stay as
/// `ByteBuffer` because Redis values are bytes, not text: callers that store binary data (serialized sessions,
/// for example) must not pay for, or be broken by, a UTF-8 round trip. The accessors below cover the common cases.
///
/// A Redis *error* reply to a command sent with ``RedisClient/send(_:on:)`` fails the future with
/// ``RedisError/server(_:)`` instead of arriving as ``error(_:)``; `.error` only appears nested inside arrays
/// (for example in `EXEC` or script results), where a single element may be an error.
public enum RedisValue: Sendable, Hashable {
    /// A null bulk string (`$-1`) or null array (`*-1`), e.g. `GET` on a missing key.
    case null
    /// A simple string (`+OK`).
    case simpleString(String)
    /// An error reply (`-ERR ...`), including its prefix such as `ERR` or `NOSCRIPT`.
    case error(String)
    /// An integer reply (`:42`).
    case integer(Int64)
    /// A bulk string (`$3\r\nfoo`), kept as bytes.
    case bulkString(ByteBuffer)
    /// An array reply (`*2 ...`); elements may themselves be arrays.
    case array([RedisValue])

    /// The value as text: a simple string, or a bulk string decoded as UTF-8 (invalid sequences are repaired).
    ///
    /// `nil` for every other case, including `.null`, so `GET` on a missing key reads naturally as `nil`.
    public var string: String? {
        switch self {
        case .simpleString(let string):
            return string
        case .bulkString(let buffer):
            return String(buffer: buffer)
        case .null, .error, .integer, .array:
            return nil
        }
    }

    /// The value as an integer: an integer reply, or a simple/bulk string holding a decimal integer.
    ///
    /// Redis returns counters read with `GET` as bulk strings, so both forms are accepted.
    public var int: Int64? {
        switch self {
        case .integer(let value):
            return value
        case .simpleString(let string):
            return Int64(string)
        case .bulkString(let buffer):
            return buffer.withUnsafeReadableBytes(Self.parseInt64)
        case .null, .error, .array:
            return nil
        }
    }

    /// A decimal integer as `Int64(String)` reads it (optional sign, digits only, no overflow), parsed on the bytes
    /// without building a `String`.
    static func parseInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var index = bytes.startIndex
        guard index < bytes.endIndex else { return nil }
        var negative = false
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
            guard index < bytes.endIndex else { return nil }
        }
        var value: Int64 = 0
        while index < bytes.endIndex {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            // Accumulate negatively so that Int64.min parses too.
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }

    /// The elements of an array reply; `nil` for every other case, including a null array.
    public var array: [RedisValue]? {
        if case .array(let elements) = self {
            return elements
        }
        return nil
    }

    /// Whether this is a null bulk string or null array.
    public var isNull: Bool {
        if case .null = self {
            return true
        }
        return false
    }
}

extension RedisValue: CustomStringConvertible {
    /// A short, log-friendly rendering; bulk strings are shown as text when valid UTF-8.
    public var description: String {
        switch self {
        case .null:
            return "(nil)"
        case .simpleString(let string):
            return string
        case .error(let message):
            return "(error) \(message)"
        case .integer(let value):
            return "(integer) \(value)"
        case .bulkString(let buffer):
            return "\"\(String(buffer: buffer))\""
        case .array(let elements):
            return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
