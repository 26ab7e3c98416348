import Foundation

/// A `Cookie` header value read on its bytes: the session cookie is found, and taken out of what the upstream gets,
/// without making a string. Browsers send the session this way on every request, so this is the hot path.
///
/// Pairs are separated by `;` and also by `,` (as NIO's `canonicalForm` read them, and as some gateways join two
/// `Cookie` headers): finding and removing split alike, so a token that is found is always removed. A pair's name
/// and value are trimmed of spaces and tabs; a value in double quotes is unquoted. Names compare byte for byte
/// (cookie names are case-sensitive).
enum CookieHeader {
    /// `body` with the value of the first cookie named `name` across `head`'s `Cookie` headers; nil when none has it.
    @inline(__always)
    static func withFirstValue<Result>(
        named name: UnsafeRawBufferPointer, in head: RequestHead, _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result? {
        var result: Result?
        head.forEachValue(lowercaseName: headerName) { header in
            guard let value = value(named: name, in: header) else { return true }
            result = body(UnsafeRawBufferPointer(rebasing: header[value]))
            return false
        }
        return result
    }

    private static let headerName = Array("cookie".utf8)

    /// The value of the first pair named `name`, trimmed and unquoted; nil when no pair has that name.
    static func value(named name: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        var pairs = Pairs(bytes)
        while let pair = pairs.next() {
            guard let equals = isNamed(name, pair, in: bytes) else { continue }
            var value = ByteScan.trimmed(equals + 1..<pair.upperBound, in: bytes)
            if value.count >= 2, bytes[value.lowerBound] == UInt8(ascii: "\""),
                bytes[value.upperBound - 1] == UInt8(ascii: "\"")
            {
                value = value.lowerBound + 1..<value.upperBound - 1
            }
            return value
        }
        return nil
    }

    /// Takes every pair named `name` out of `bytes`: calls `body` with the runs of `bytes` that make the value left,
    /// in order (the pairs kept, as sent, each with the separator and spaces that followed it in the original when
    /// another kept pair comes after it). Returns false, calling nothing, when no pair has that name; true and no
    /// call when nothing else is left.
    static func removing(
        named name: UnsafeRawBufferPointer, from bytes: UnsafeRawBufferPointer, _ body: (Range<Int>) -> Void
    ) -> Bool {
        var pairs = Pairs(bytes)
        var found = false
        while !found, let pair = pairs.next() { found = isNamed(name, pair, in: bytes) != nil }
        guard found else { return false }
        // A kept pair is written once the next pair (of any kind) shows where the gap after it ends.
        var pending: Range<Int>?
        var gapEnd: Int?
        pairs = Pairs(bytes)
        while let pair = pairs.next() {
            let content = ByteScan.trimmed(pair, in: bytes)
            if pending != nil, gapEnd == nil { gapEnd = content.lowerBound }
            guard isNamed(name, pair, in: bytes) == nil, !content.isEmpty else { continue }
            if let kept = pending, let end = gapEnd {
                body(kept)
                body(kept.upperBound..<end)
            }
            pending = content
            gapEnd = nil
        }
        if let kept = pending { body(kept) }
        return true
    }

    /// Where `=` is in `pair` when the pair's trimmed name is `name`; nil otherwise.
    private static func isNamed(_ name: UnsafeRawBufferPointer, _ pair: Range<Int>, in bytes: UnsafeRawBufferPointer)
        -> Int?
    {
        guard let equals = bytes[pair].firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let found = ByteScan.trimmed(pair.lowerBound..<equals, in: bytes)
        guard found.count == name.count else { return nil }
        guard name.isEmpty || memcmp(bytes.baseAddress! + found.lowerBound, name.baseAddress!, name.count) == 0
        else { return nil }
        return equals
    }

    /// The pairs of a value, in order, each without its separator (empty ones included).
    private struct Pairs: IteratorProtocol {
        private let bytes: UnsafeRawBufferPointer
        private var position = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func next() -> Range<Int>? {
            guard position < bytes.count else { return nil }
            var end = position
            while end < bytes.count, bytes[end] != UInt8(ascii: ";"), bytes[end] != UInt8(ascii: ",") { end += 1 }
            defer { position = end + 1 }
            return position..<end
        }
    }
}
