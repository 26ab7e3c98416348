/// A request's ID: the client's well-formed `X-Request-ID`, or this process's prefix and a per-loop counter.
///
/// Generated IDs are written into the upstream head as bytes and become a `String` only when something asks for
/// one (a log line, an answer of the proxy's own), so a proxied request builds no string for it.
struct RequestID: ExpressibleByStringLiteral {
    /// The client's ID, when it sent a well-formed one.
    let client: String?
    let prefix: String
    let number: UInt64

    init(client: String) {
        self.client = client
        self.prefix = ""
        self.number = 0
    }

    init(prefix: String, number: UInt64) {
        self.client = nil
        self.prefix = prefix
        self.number = number
    }

    init(stringLiteral value: String) { self.init(client: value) }

    var text: String { client ?? prefix + String(number, radix: 16) }

    /// An upper bound on the bytes ``write(into:)`` writes.
    var maxLength: Int { client?.utf8.count ?? prefix.utf8.count + 16 }

    func write(into writer: inout RawWriter) {
        if let client {
            writer.append(client)
            return
        }
        writer.append(prefix)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { digits in
            var value = number
            var start = 16
            repeat {
                start -= 1
                let digit = UInt8(truncatingIfNeeded: value & 0xf)
                digits[start] = digit < 10 ? digit + UInt8(ascii: "0") : digit - 10 + UInt8(ascii: "a")
                value >>= 4
            } while value != 0
            writer.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: digits[start..<16])))
        }
    }
}
