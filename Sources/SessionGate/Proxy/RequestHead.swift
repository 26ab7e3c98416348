import NIOCore
import NIOHTTP1

/// A client's request head as received: its bytes, and where each part of them is.
///
/// ``ClientRequestParser`` checks the head once and records the facts the proxy acts on (framing, keep-alive,
/// `Expect`); header values are read from the bytes in place and become strings only when something asks for one.
/// ``RequestRewriter`` copies the lines it keeps straight from ``raw``. The rare paths that want NIO's types (the
/// `[auth]` endpoints, the origin check) build them with ``headers``.
///
/// A class, immutable: a head is handed from the parser's event to the handler to its ``Exchange``, and each hand-over
/// of a struct this size would retain and release its buffer, target and field list one by one.
final class RequestHead: Sendable {
    /// The whole head, from the request line up to and including the blank line.
    let raw: ByteBuffer
    let method: HTTPMethod
    /// HTTP/1.0 or HTTP/1.1.
    let version: HTTPVersion
    /// The method and the target, as offsets into ``raw``.
    let methodRange: Range<Int>
    let targetRange: Range<Int>
    /// Every header line, in order, checked.
    let fields: [HeaderLine]
    /// `Content-Length`, when given (never together with a chunked body: the parser refuses that).
    let contentLength: Int?
    /// `Transfer-Encoding: chunked`.
    let chunked: Bool
    /// Whether the client lets the connection serve another request (its version and `Connection`).
    let keepAlive: Bool
    /// `Expect: 100-continue`.
    let expectsContinue: Bool
    /// `Connection` names headers besides `close` and `keep-alive`: those are hop-by-hop too.
    let hasConnectionOptions: Bool
    /// A `Cookie` header is present (its values are read only then).
    let hasCookie: Bool
    /// An `X-Request-ID` header is present (its value is read only then).
    let hasRequestID: Bool

    init(
        raw: ByteBuffer, method: HTTPMethod, version: HTTPVersion, methodRange: Range<Int>,
        targetRange: Range<Int>, fields: [HeaderLine], contentLength: Int?, chunked: Bool, keepAlive: Bool,
        expectsContinue: Bool, hasConnectionOptions: Bool, hasCookie: Bool, hasRequestID: Bool
    ) {
        self.raw = raw
        self.method = method
        self.version = version
        self.methodRange = methodRange
        self.targetRange = targetRange
        self.fields = fields
        self.contentLength = contentLength
        self.chunked = chunked
        self.keepAlive = keepAlive
        self.expectsContinue = expectsContinue
        self.hasConnectionOptions = hasConnectionOptions
        self.hasCookie = hasCookie
        self.hasRequestID = hasRequestID
    }

    /// The request target, exactly as sent (ASCII: the parser refuses other bytes). Made on each use: the request
    /// path reads the target's bytes in place (``withTarget(_:)``), and most requests never need it as a string.
    var uri: String { withTarget { String(decoding: $0, as: UTF8.self) } }

    /// `body` applied to the request target's bytes, in place.
    func withTarget<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try raw.withUnsafeReadableBytes { bytes in
            try UnsafeRawBufferPointer(rebasing: bytes[targetRange]).withMemoryRebound(to: UInt8.self, body)
        }
    }

    /// True when a body follows the head.
    var hasBody: Bool { chunked || (contentLength ?? 0) > 0 }

    /// The first value of the header `name` (ASCII case ignored), or nil. Allocates only when found.
    func firstValue(named name: String) -> String? {
        var found: String?
        forEachValue(named: name) { value in
            found = String(decoding: value, as: UTF8.self)
            return false
        }
        return found
    }

    /// `body` applied to the bytes of the first value of the header named by `name`, lowercase bytes made once (at
    /// config load), or nil when there is none: reads a value without making a string of it.
    func withFirstValue<Result>(lowercaseName name: [UInt8], _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        var result: Result?
        name.withUnsafeBytes { name in
            forEachValue(lowercaseName: name) { value in
                result = body(value)
                return false
            }
        }
        return result
    }

    /// `body` applied to the bytes of the first value of the header `name` (ASCII case ignored), or nil when there is
    /// none: reads a value without making a string of it.
    func withFirstValue<Result>(named name: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        var result: Result?
        forEachValue(named: name) { value in
            result = body(value)
            return false
        }
        return result
    }

    /// Every value of the header `name` (ASCII case ignored), in order; empty (and unallocated) when there is none.
    func values(named name: String) -> [String] {
        var values: [String] = []
        forEachValue(named: name) { value in
            values.append(String(decoding: value, as: UTF8.self))
            return true
        }
        return values
    }

    /// NIO's form of the headers, built on demand for the paths that are not per-request hot.
    var headers: HTTPHeaders {
        raw.withUnsafeReadableBytes { bytes in
            var headers = HTTPHeaders()
            headers.reserveCapacity(fields.count)
            for field in fields {
                headers.add(
                    name: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.name]), as: UTF8.self),
                    value: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self))
            }
            return headers
        }
    }

    /// Calls `body` with the value of each field named `name` (any case), in order, while it returns true. The name
    /// is lowercased on the stack: nothing is allocated for the search itself.
    private func forEachValue(named name: String, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var name = name
        name.withUTF8 { name in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: name.count) { lowercase in
                for index in 0..<name.count { lowercase[index] = name[index].asciiLowercased }
                forEachValue(lowercaseName: UnsafeRawBufferPointer(lowercase), body)
            }
        }
    }

    /// Where the first value of the header with this lowercase name (made once) is in ``raw``'s readable bytes.
    func firstValueRange(lowercaseName name: [UInt8]) -> Range<Int>? {
        var found: Range<Int>?
        name.withUnsafeBytes { name in
            forEachField(lowercaseName: name, fromLast: false) { field, _ in
                found = field.value
                return false
            }
        }
        return found
    }

    /// The same scan for a lowercase name made once (at config load or as a constant); `fromLast` visits the fields
    /// last first (as `X-Forwarded-For` is read).
    func forEachValue(lowercaseName name: [UInt8], fromLast: Bool = false, _ body: (UnsafeRawBufferPointer) -> Bool) {
        name.withUnsafeBytes { name in
            forEachField(lowercaseName: name, fromLast: fromLast) { field, bytes in
                body(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
            }
        }
    }

    /// The one scan behind every look-up: each field whose name equals the lowercase `name` (ASCII case ignored),
    /// compared eight bytes at a time.
    func forEachValue(lowercaseName name: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) {
        forEachField(lowercaseName: name, fromLast: false) { field, bytes in
            body(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
        }
    }

    /// Each field whose name equals the lowercase `name` (ASCII case ignored), in order or last first, with the
    /// head's bytes, while `body` returns true.
    @inline(__always)
    private func forEachField(
        lowercaseName name: UnsafeRawBufferPointer, fromLast: Bool, _ body: (HeaderLine, UnsafeRawBufferPointer) -> Bool
    ) {
        raw.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var index = fromLast ? fields.count - 1 : 0
            while index >= 0, index < fields.count {
                let field = fields[index]
                index += fromLast ? -1 : 1
                guard field.nameLength == name.count,
                    name.isEmpty || ByteScan.equalsLowercase(base + field.line.lowerBound, name.baseAddress!, count: name.count)
                else { continue }
                guard body(field, bytes) else { return }
            }
        }
    }
}
