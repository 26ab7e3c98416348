import NIOCore

/// How the proxy frames a response body for its client, given how the upstream framed it.
struct ClientResponsePlan: Equatable {
    enum BodyFraming: Equatable {
        /// The body's bytes as the upstream sent them, framing included (a length, chunks, or nothing).
        case passThrough
        /// A body that ran until the upstream closed, sent in chunks so the client connection can stay open.
        case rechunk
        /// A chunked body for an HTTP/1.0 client: data only, and the connection closes after it.
        case dechunk
    }

    var keepAlive: Bool
    var framing: BodyFraming

    /// - Parameters:
    ///   - clientKeepAlive: whether the client's request allows another one on its connection.
    init(upstream framing: UpstreamResponseParser.Framing, clientMinorVersion: Int, clientKeepAlive: Bool) {
        switch framing {
        case .none, .length:
            self.init(keepAlive: clientKeepAlive, framing: .passThrough)
        case .chunked:
            self = clientMinorVersion >= 1
                ? Self(keepAlive: clientKeepAlive, framing: .passThrough) : Self(keepAlive: false, framing: .dechunk)
        case .untilClose:
            // An HTTP/1.0 client learns where such a body ends the same way: the connection closes.
            self = clientMinorVersion >= 1
                ? Self(keepAlive: clientKeepAlive, framing: .rechunk) : Self(keepAlive: false, framing: .passThrough)
        }
    }

    init(keepAlive: Bool, framing: BodyFraming) {
        self.keepAlive = keepAlive
        self.framing = framing
    }
}

/// Writes the response head the client receives from the upstream's head, as bytes: the status line in the client's
/// HTTP version, every header line copied as received except hop-by-hop ones (RFC 9110 §7.6.1) and those the
/// upstream's `Connection` names, then the framing and `Connection` headers this hop needs.
enum ClientResponseHead {
    static func write(
        _ head: UpstreamResponseParser.Head, plan: ClientResponsePlan, clientMinorVersion: Int, into out: inout ByteBuffer
    ) {
        if head.lineSkips.isUsable && !head.hasConnectionOptions {
            writeInRuns(head, plan: plan, clientMinorVersion: clientMinorVersion, into: &out)
        } else {
            writeLineByLine(head, plan: plan, clientMinorVersion: clientMinorVersion, into: &out)
        }
    }

    /// The usual head (CRLF line endings, a few hop-by-hop or framing lines, no `Connection` options): the lines
    /// between the ones to drop are copied as they are, found from ``UpstreamResponseParser/Head/lineSkips``
    /// without reading the head again.
    static func writeInRuns(
        _ head: UpstreamResponseParser.Head, plan: ClientResponsePlan, clientMinorVersion: Int, into out: inout ByteBuffer
    ) {
        let keepChunkedHeader = head.framing == .chunked && plan.framing == .passThrough
        let skips = head.lineSkips
        // Only lines are dropped; the status line keeps its length; at most 54 bytes are added after the lines.
        let bound = head.raw.readableBytes + 64
        _ = head.raw.withUnsafeReadableBytes { bytes in
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory in
                var writer = RawWriter(memory)
                // "HTTP/1.x" is 8 bytes; the status code, reason and CRLF follow as received.
                writer.append(clientMinorVersion >= 1 ? "HTTP/1.1" : "HTTP/1.0")
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[8..<head.headerStart]))
                var from = head.headerStart
                for index in 0..<skips.count {
                    let entry = skips[index]
                    guard !isKept(entry.kind, head: head, keepChunkedHeader: keepChunkedHeader) else { continue }
                    writer.append(UnsafeRawBufferPointer(rebasing: bytes[from..<entry.lines.lowerBound]))
                    from = entry.lines.upperBound
                }
                // Up to the blank line, which comes after this hop's own headers.
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[from..<bytes.count - 2]))
                appendHopHeaders(head, plan: plan, clientMinorVersion: clientMinorVersion, to: &writer)
                return writer.count
            }
        }
    }

    /// Any head: every line is read again and copied unless dropped, bare LFs become CRLF, and headers the
    /// `Connection` header names are dropped too.
    static func writeLineByLine(
        _ head: UpstreamResponseParser.Head, plan: ClientResponsePlan, clientMinorVersion: Int, into out: inout ByteBuffer
    ) {
        let keepChunkedHeader = head.framing == .chunked && plan.framing == .passThrough
        // Lines only shrink or gain a CR; the status line keeps its length; at most 54 bytes are added after them.
        let bound = head.raw.readableBytes * 2 + 64
        _ = head.raw.withUnsafeReadableBytes { bytes in
            out.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory in
                var writer = RawWriter(memory)
                var lines = HeadLines(bytes)
                guard let statusLine = lines.next() else { return 0 }
                // "HTTP/1.x" is 8 bytes; the status code and reason follow as received.
                writer.append(clientMinorVersion >= 1 ? "HTTP/1.1" : "HTTP/1.0")
                writer.append(UnsafeRawBufferPointer(rebasing: bytes[statusLine.lowerBound + 8..<statusLine.upperBound]))
                writer.append("\r\n")
                let options = head.hasConnectionOptions ? connectionOptions(bytes) : []
                // Kept lines that end in CRLF are copied in runs: one copy for consecutive lines.
                var run: Range<Int>?
                while let line = lines.next() {
                    if isKept(line, in: bytes, head: head, keepChunkedHeader: keepChunkedHeader, options: options) {
                        let endsInCRLF = line.upperBound + 1 < bytes.count && bytes[line.upperBound] == UInt8(ascii: "\r")
                        if endsInCRLF {
                            run = (run?.lowerBound ?? line.lowerBound)..<line.upperBound + 2
                            continue
                        }
                        flush(&run, bytes, &writer)
                        writer.append(UnsafeRawBufferPointer(rebasing: bytes[line]))
                        writer.append("\r\n")
                    } else {
                        flush(&run, bytes, &writer)
                    }
                }
                flush(&run, bytes, &writer)
                appendHopHeaders(head, plan: plan, clientMinorVersion: clientMinorVersion, to: &writer)
                return writer.count
            }
        }
    }

    /// The framing and `Connection` headers this hop needs, and the blank line.
    private static func appendHopHeaders(
        _ head: UpstreamResponseParser.Head, plan: ClientResponsePlan, clientMinorVersion: Int, to writer: inout RawWriter
    ) {
        if plan.framing == .rechunk { writer.append("Transfer-Encoding: chunked\r\n") }
        if head.isInformational {
            // An interim response says nothing about the connection.
        } else if !plan.keepAlive {
            writer.append("Connection: close\r\n")
        } else if clientMinorVersion == 0 {
            writer.append("Connection: keep-alive\r\n")
        }
        writer.append("\r\n")
    }

    private static func flush(_ run: inout Range<Int>?, _ bytes: UnsafeRawBufferPointer, _ writer: inout RawWriter) {
        guard let lines = run else { return }
        writer.append(UnsafeRawBufferPointer(rebasing: bytes[lines]))
        run = nil
    }

    /// Whether a header line reaches the client.
    private static func isKept(
        _ line: Range<Int>, in bytes: UnsafeRawBufferPointer, head: UpstreamResponseParser.Head, keepChunkedHeader: Bool,
        options: [[UInt8]]
    ) -> Bool {
        guard let colon = ByteScan.index(of: UInt8(ascii: ":"), in: UnsafeRawBufferPointer(rebasing: bytes[..<line.upperBound]), from: line.lowerBound)
        else { return false }
        let name = UnsafeRawBufferPointer(rebasing: bytes[line.lowerBound..<colon])
        guard let kind = ResponseLineSkips.kinds.action(for: name) else {
            return options.isEmpty || !options.contains(where: { HeaderNameTable<Void>.equalsIgnoringCase($0, name) })
        }
        return isKept(kind, head: head, keepChunkedHeader: keepChunkedHeader)
    }

    /// Whether a hop-by-hop or framing header line reaches the client.
    private static func isKept(
        _ kind: ResponseLineSkips.Kind, head: UpstreamResponseParser.Head, keepChunkedHeader: Bool
    ) -> Bool {
        switch kind {
        case .hopByHop:
            return false
        // The framing headers follow the body's framing alone: a `Connection` option naming one cannot remove it.
        case .transferEncoding:
            return keepChunkedHeader
        case .contentLength:
            // A length frames only a body that has one (and states it for HEAD and 304).
            switch head.framing {
            case .length, .none: return true
            case .chunked, .untilClose: return false
            }
        }
    }

    /// The lowercase header names listed by the head's `Connection` headers (other than `close`/`keep-alive`).
    private static func connectionOptions(_ bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        var options: [[UInt8]] = []
        var lines = HeadLines(bytes)
        _ = lines.next()
        while let line = lines.next() {
            guard let header = try? HeaderLine(bytes, line), header.nameEquals(bytes, "connection") else { continue }
            header.forEachListElement(bytes) { element in
                if HeaderLine.equalsIgnoringCase(bytes, element, "close")
                    || HeaderLine.equalsIgnoringCase(bytes, element, "keep-alive") { return }
                options.append(bytes[element].map(\.asciiLowercased))
            }
        }
        return options
    }
}
