import NIOCore

/// One Redis command, RESP-encoded once when it is constructed.
///
/// Encoding at construction means the bytes are produced on the caller's thread, exactly once, into a single
/// right-sized `ByteBuffer`; the connection then only copies a reference into the channel, and a retry (for
/// example `EVAL` after `NOSCRIPT`) never re-encodes. Commands are sent as RESP arrays of bulk strings, which is
/// what Redis expects from clients, so arguments may contain any bytes (spaces, CR/LF, binary).
public struct RedisCommand: Sendable {
    /// The first argument uppercased, e.g. `"GET"`: for logs and metrics, never for routing. Uppercased only when
    /// asked for: commands are built on the hot path, names are read on the rare error path.
    public var name: String { spelledName.uppercased() }

    /// The first argument as the caller spelled it.
    private let spelledName: String

    /// The complete RESP encoding: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
    let encoded: ByteBuffer

    /// Creates a command from its arguments, the command name first.
    /// - Parameter arguments: For example `["SET", "key", "value", "PX", "1000"]`; must not be empty.
    public init(_ arguments: [String]) {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        self.spelledName = arguments[0]
        var capacity = Self.headerLength(arguments.count)
        for argument in arguments {
            capacity += Self.headerLength(argument.utf8.count) + argument.utf8.count + 2
        }
        // Written through one raw pointer: `ByteBuffer`'s per-call checks cost more than the bytes themselves.
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { out in
            var at = Self.writeHeader(UInt8(ascii: "*"), arguments.count, into: out, at: 0)
            for var argument in arguments {
                let start = at
                at = argument.withUTF8 { bytes in
                    var end = Self.writeHeader(UInt8(ascii: "$"), bytes.count, into: out, at: start)
                    UnsafeMutableRawBufferPointer(rebasing: out[end..<(end + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(bytes))
                    end += bytes.count
                    out[end] = UInt8(ascii: "\r")
                    out[end + 1] = UInt8(ascii: "\n")
                    return end + 2
                }
            }
            return at
        }
        self.encoded = buffer
    }

    /// Creates a command from its arguments, the command name first: `RedisCommand("GET", key)`.
    /// - Parameter arguments: Must not be empty.
    public init(_ arguments: String...) {
        self.init(arguments)
    }

    /// Creates a command whose arguments after the name are raw bytes, for binary values.
    /// - Parameters:
    ///   - name: The command name, e.g. `"SET"`.
    ///   - arguments: The remaining arguments, written verbatim.
    public init(_ name: String, bytes arguments: [ByteBuffer]) {
        self.spelledName = name
        var capacity = Self.headerLength(arguments.count + 1) + Self.headerLength(name.utf8.count) + name.utf8.count + 2
        for argument in arguments {
            capacity += Self.headerLength(argument.readableBytes) + argument.readableBytes + 2
        }
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        Self.writeHeader(UInt8(ascii: "*"), arguments.count + 1, into: &buffer)
        Self.writeHeader(UInt8(ascii: "$"), name.utf8.count, into: &buffer)
        buffer.writeString(name)
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            Self.writeHeader(UInt8(ascii: "$"), argument.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(argument)
            buffer.writeStaticString("\r\n")
        }
        self.encoded = buffer
    }

    /// Bytes taken by `<prefix><count>\r\n`.
    private static func headerLength(_ count: Int) -> Int {
        var digits = 1
        var rest = count / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return 1 + digits + 2
    }

    /// Writes `<prefix><count>\r\n` at `at` in `out`. - Returns: the index after it.
    private static func writeHeader(_ prefix: UInt8, _ count: Int, into out: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        var at = at
        out[at] = prefix
        at += 1
        var divisor = 1
        while divisor <= count / 10 {
            divisor *= 10
        }
        var rest = count
        while divisor > 0 {
            out[at] = UInt8(ascii: "0") + UInt8(rest / divisor)
            at += 1
            rest %= divisor
            divisor /= 10
        }
        out[at] = UInt8(ascii: "\r")
        out[at + 1] = UInt8(ascii: "\n")
        return at + 2
    }

    /// Writes `<prefix><count>\r\n` without going through `String`, which would allocate per argument.
    private static func writeHeader(_ prefix: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(prefix)
        var divisor = 1
        while divisor <= count / 10 {
            divisor *= 10
        }
        var rest = count
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
        buffer.writeStaticString("\r\n")
    }
}

extension RedisCommand: CustomStringConvertible {
    /// The command name only: arguments may hold secrets (AUTH) or session data and must not reach logs.
    public var description: String {
        name
    }
}
