// Reading a response head's lines in place, for ``UpstreamResponseParser`` and ``ClientResponseHead``.

/// What one pass over a response head's bytes finds, checking each line as it goes.
struct HeadSummary {
    var status = 0
    var minorVersion = 1
    var contentLength: Int?
    /// nil without `Transfer-Encoding`; true with `Transfer-Encoding: chunked`, the only coding accepted.
    var chunked: Bool?
    var keepAlive = true
    var hasConnectionOptions = false
    /// The header lines a copy for the client may drop, so that copy need not read the lines again.
    var lineSkips = ResponseLineSkips()
    /// Where the header lines start: just after the status line's line ending.
    var headerStart = 0

    init(parsing bytes: UnsafeRawBufferPointer) throws {
        var lines = HeadLines(bytes)
        guard let statusLine = lines.next() else { throw UpstreamResponseParser.ParseError.malformedHead("empty") }
        try parseStatusLine(bytes, statusLine)
        headerStart = Self.lineEnd(bytes, statusLine, lineSkips: &lineSkips)
        keepAlive = minorVersion == 1
        var sawKeepAlive = false
        var sawClose = false
        while let line = lines.next() {
            guard let header = try HeaderLine(bytes, line) else { break }
            let lineEnd = Self.lineEnd(bytes, line, lineSkips: &lineSkips)
            let lineRange = line.lowerBound..<lineEnd
            switch header.nameLength {
            case 14 where header.nameEquals(bytes, "content-length"):
                lineSkips.append(lineRange, .contentLength)
                let length = try Self.contentLength(bytes, header)
                if let earlier = contentLength, earlier != length {
                    throw UpstreamResponseParser.ParseError.malformedHead("conflicting Content-Length values")
                }
                contentLength = length
            case 17 where header.nameEquals(bytes, "transfer-encoding"):
                // Only `chunked`, once, as nginx accepts: another coding would reach the client undone (the proxy
                // does not decode it), and `chunked` twice is not a valid message.
                var elements = 0
                var allChunked = true
                header.forEachListElement(bytes) { element in
                    elements += 1
                    allChunked = allChunked && HeaderLine.equalsIgnoringCase(bytes, element, "chunked")
                }
                guard elements > 0, allChunked, chunked == nil, elements == 1 else {
                    throw UpstreamResponseParser.ParseError.malformedHead("unsupported Transfer-Encoding")
                }
                chunked = true
                lineSkips.append(lineRange, .transferEncoding)
            case 10 where header.nameEquals(bytes, "connection"):
                header.readConnectionOptions(
                    bytes, close: &sawClose, keepAlive: &sawKeepAlive, others: &hasConnectionOptions)
                lineSkips.append(lineRange, .hopByHop)
            default:
                // The other hop-by-hop names, from the table both ways of copying share; most lines (`Date`,
                // `Content-Type`, ...) have a length no name there has, and skip the look-up.
                if ResponseLineSkips.mayName(length: header.nameLength),
                    let kind = ResponseLineSkips.kinds.action(for: UnsafeRawBufferPointer(rebasing: bytes[header.name]))
                {
                    lineSkips.append(lineRange, kind)
                }
            }
        }
        // The blank line is the head's last bytes: a bare LF there must be rewritten too.
        if bytes.count < 2 || bytes[bytes.count - 2] != UInt8(ascii: "\r") { lineSkips.noteBareLF() }
        if sawClose { keepAlive = false } else if sawKeepAlive { keepAlive = true }
    }

    /// Where the line that holds `content` ends, line ending included; notes a bare LF, which a copy must rewrite.
    private static func lineEnd(
        _ bytes: UnsafeRawBufferPointer, _ content: Range<Int>, lineSkips: inout ResponseLineSkips
    ) -> Int {
        if content.upperBound < bytes.count && bytes[content.upperBound] == UInt8(ascii: "\r") {
            return content.upperBound + 2
        }
        lineSkips.noteBareLF()
        return content.upperBound + 1
    }

    /// `HTTP/1.x SP 3DIGIT SP reason`.
    private mutating func parseStatusLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws {
        guard line.count >= 12, ByteScan.hasPrefix(bytes, at: line.lowerBound, "HTTP/1.") else {
            throw UpstreamResponseParser.ParseError.malformedHead("not an HTTP/1.x status line")
        }
        let minor = bytes[line.lowerBound + 7]
        guard minor == UInt8(ascii: "0") || minor == UInt8(ascii: "1"), bytes[line.lowerBound + 8] == UInt8(ascii: " ")
        else { throw UpstreamResponseParser.ParseError.malformedHead("unsupported HTTP version") }
        minorVersion = Int(minor - UInt8(ascii: "0"))
        var code = 0
        for i in line.lowerBound + 9..<line.lowerBound + 12 {
            let digit = bytes[i] &- UInt8(ascii: "0")
            guard digit < 10 else { throw UpstreamResponseParser.ParseError.malformedHead("invalid status code") }
            code = code * 10 + Int(digit)
        }
        guard code >= 100, line.count == 12 || bytes[line.lowerBound + 12] == UInt8(ascii: " ") else {
            throw UpstreamResponseParser.ParseError.malformedHead("invalid status code")
        }
        for i in line.lowerBound + 12..<line.upperBound where !HeaderLine.isFieldValueByte(bytes[i]) {
            throw UpstreamResponseParser.ParseError.malformedHead("control character in the reason phrase")
        }
        status = code
    }

    private static func contentLength(_ bytes: UnsafeRawBufferPointer, _ header: HeaderLine) throws -> Int {
        guard !header.value.isEmpty, header.value.count <= 18 else {
            throw UpstreamResponseParser.ParseError.malformedHead("invalid Content-Length")
        }
        var length = 0
        for i in header.value {
            let digit = bytes[i] &- UInt8(ascii: "0")
            guard digit < 10 else { throw UpstreamResponseParser.ParseError.malformedHead("invalid Content-Length") }
            length = length * 10 + Int(digit)
        }
        return length
    }
}

/// The header lines of a response head that a copy for the client may drop (hop-by-hop and framing headers), in
/// order, each with its line ending: found while ``HeadSummary`` checks the head, so ``ClientResponseHead`` can copy
/// the lines between them in a few runs instead of reading every line again. Holds the usual few inline; a head with
/// more, or with any line (the blank one included) ending in a bare LF, is marked ``isUsable`` false and copied line
/// by line.
struct ResponseLineSkips {
    enum Kind: UInt8 { case hopByHop, transferEncoding, contentLength }

    /// The names of the lines a client's copy may drop, by kind: the framing headers, then every hop-by-hop name
    /// (``HTTPHeaderRules/hopByHop``). Both ways of copying a head classify lines with this one table.
    static let kinds = HeaderNameTable(names)

    private static let names: [(String, Kind)] =
        [("transfer-encoding", .transferEncoding), ("content-length", .contentLength)]
        + HTTPHeaderRules.hopByHop.sorted().map { ($0, .hopByHop) }

    /// Bit n is set when a name in ``kinds`` is n bytes long, so most lines (`Date`, `Content-Type`, ...) skip the
    /// look-up.
    private static let nameLengths: UInt64 = names.reduce(0) { $0 | 1 << UInt64($1.0.utf8.count) }

    /// Whether a header name of `length` bytes can be one of ``kinds``.
    static func mayName(length: Int) -> Bool { length < 64 && nameLengths >> UInt64(length) & 1 == 1 }

    struct Entry {
        var lines: Range<Int>
        var kind: Kind
    }

    static let capacity = 4
    private(set) var count = 0
    /// False when the runs cannot be copied as they are: too many lines to drop, or a bare LF to rewrite.
    private(set) var isUsable = true
    /// Start and end of each entry's lines (heads are at most 64 KiB), kept small: the head this travels in is copied
    /// on its way from the parser to the proxy. A tuple, not a `SIMD8<UInt32>`, whose 32-byte alignment would pass to
    /// every object holding a head and make its allocation an aligned one.
    private var bounds: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Each entry's kind, two bits apiece.
    private var kinds: UInt8 = 0

    mutating func append(_ lines: Range<Int>, _ kind: Kind) {
        guard count < Self.capacity else {
            isUsable = false
            return
        }
        let index = 2 * count
        withUnsafeMutableBytes(of: &bounds) { bounds in
            bounds.storeBytes(of: UInt32(truncatingIfNeeded: lines.lowerBound), toByteOffset: 4 * index, as: UInt32.self)
            bounds.storeBytes(of: UInt32(truncatingIfNeeded: lines.upperBound), toByteOffset: 4 * index + 4, as: UInt32.self)
        }
        kinds |= kind.rawValue << (2 * count)
        count += 1
    }

    mutating func noteBareLF() { isUsable = false }

    subscript(index: Int) -> Entry {
        withUnsafeBytes(of: bounds) { bounds in
            Entry(
                lines: Int(bounds.load(fromByteOffset: 8 * index, as: UInt32.self))
                    ..< Int(bounds.load(fromByteOffset: 8 * index + 4, as: UInt32.self)),
                kind: Kind(rawValue: (kinds >> (2 * index)) & 0b11)!)
        }
    }
}

/// The lines of a head, each without its line ending; stops at the blank line.
struct HeadLines: IteratorProtocol {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func next() -> Range<Int>? {
        guard position < bytes.count else { return nil }
        let end = ByteScan.index(of: UInt8(ascii: "\n"), in: bytes, from: position) ?? bytes.count
        let start = position
        position = end + 1
        let contentEnd = end > start && bytes[end - 1] == UInt8(ascii: "\r") ? end - 1 : end
        return contentEnd == start ? nil : start..<contentEnd
    }
}

/// One `name: value` line of a head, checked: the name a token, the value free of control characters, no
/// obsolete line folding.
struct HeaderLine {
    let line: Range<Int>
    let nameLength: Int
    /// The value without surrounding spaces and tabs.
    let value: Range<Int>

    /// nil for the blank line that ends the head.
    init?(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) throws {
        guard !line.isEmpty else { return nil }
        guard let (colon, allToken) = ByteScan.colonAfterToken(bytes, line), allToken, colon > line.lowerBound else {
            throw Self.nameProblem(bytes, line)
        }
        var start = colon + 1
        var end = line.upperBound
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard ByteScan.allFieldValueBytes(bytes, start..<end) else {
            throw UpstreamResponseParser.ParseError.malformedHead("control character in a header value")
        }
        self.line = line
        self.nameLength = colon - line.lowerBound
        self.value = start..<end
    }

    /// What is wrong with the name of a line that has no colon, an empty name or a byte that is not a `tchar` before
    /// its colon: the first problem, read byte by byte (the rare path).
    private static func nameProblem(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Error {
        var index = line.lowerBound
        while index < line.upperBound, bytes[index] != UInt8(ascii: ":") {
            guard ByteScan.isTokenByte(bytes[index]) else {
                return UpstreamResponseParser.ParseError.malformedHead(
                    index == line.lowerBound ? "obsolete line folding" : "invalid header name")
            }
            index += 1
        }
        return UpstreamResponseParser.ParseError.malformedHead("header line without a name and colon")
    }

    var name: Range<Int> { line.lowerBound..<line.lowerBound + nameLength }

    /// Compares the name with a lowercase ASCII name of the same length.
    @inline(__always)
    func nameEquals(_ bytes: UnsafeRawBufferPointer, _ lowercaseName: StaticString) -> Bool {
        Self.equalsIgnoringCase(bytes, name, lowercaseName)
    }

    /// Calls `body` with each non-empty element of the comma-separated value, trimmed.
    func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ body: (Range<Int>) -> Void) {
        var start = value.lowerBound
        while start <= value.upperBound {
            var end = start
            while end < value.upperBound, bytes[end] != UInt8(ascii: ",") { end += 1 }
            var a = start
            var b = end
            while a < b, bytes[a] == 0x20 || bytes[a] == 0x09 { a += 1 }
            while b > a, bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09 { b -= 1 }
            if a < b { body(a..<b) }
            start = end + 1
        }
    }

    /// Reads a `Connection` value: sets `close` or `keepAlive` when it lists those, `others` when it names more
    /// (headers that are hop-by-hop for this message).
    func readConnectionOptions(
        _ bytes: UnsafeRawBufferPointer, close: inout Bool, keepAlive: inout Bool, others: inout Bool
    ) {
        forEachListElement(bytes) { element in
            if Self.equalsIgnoringCase(bytes, element, "close") {
                close = true
            } else if Self.equalsIgnoringCase(bytes, element, "keep-alive") {
                keepAlive = true
            } else {
                others = true
            }
        }
    }

    /// Always inlined: the name's length is then a constant where it is called, and the call (most of the cost for a
    /// short name) is gone.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        guard range.count == lowercase.utf8CodeUnitCount else { return false }
        guard let base = bytes.baseAddress, !range.isEmpty else { return true }
        return ByteScan.equalsLowercase(base + range.lowerBound, lowercase.utf8Start, count: range.count)
    }

    /// Visible ASCII, space, tab and obs-text (RFC 9110 §5.5); no other control characters.
    static func isFieldValueByte(_ b: UInt8) -> Bool {
        b >= 0x20 ? b != 0x7f : b == 0x09
    }
}
