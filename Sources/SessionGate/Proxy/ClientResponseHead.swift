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
        let keepChunkedHeader = head.framing == .chunked && plan.framing == .passThrough
        head.raw.withUnsafeReadableBytes { bytes in
            var lines = HeadLines(bytes)
            guard let statusLine = lines.next() else { return }
            // "HTTP/1.x" is 8 bytes; the status code and reason follow as received.
            out.writeStaticString(clientMinorVersion >= 1 ? "HTTP/1.1" : "HTTP/1.0")
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[statusLine.lowerBound + 8..<statusLine.upperBound]))
            out.writeStaticString("\r\n")
            let options = head.hasConnectionOptions ? connectionOptions(bytes) : []
            while let line = lines.next() {
                guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")) else { continue }
                let name = UnsafeRawBufferPointer(rebasing: bytes[line.lowerBound..<colon])
                if let rule = responseHeaders.action(for: name) {
                    switch rule {
                    case .hopByHop: continue
                    case .transferEncoding where !keepChunkedHeader: continue
                    case .contentLength where head.framing == .chunked: continue
                    case .transferEncoding, .contentLength: break
                    }
                }
                if !options.isEmpty, options.contains(where: { HeaderNameTable<Void>.equalsIgnoringCase($0, name) }) {
                    continue
                }
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[line]))
                out.writeStaticString("\r\n")
            }
        }
        if plan.framing == .rechunk { out.writeStaticString("Transfer-Encoding: chunked\r\n") }
        if head.isInformational {
            // An interim response says nothing about the connection.
        } else if !plan.keepAlive {
            out.writeStaticString("Connection: close\r\n")
        } else if clientMinorVersion == 0 {
            out.writeStaticString("Connection: keep-alive\r\n")
        }
        out.writeStaticString("\r\n")
    }

    private enum Rule { case hopByHop, transferEncoding, contentLength }

    private static let responseHeaders: HeaderNameTable<Rule> = HeaderNameTable(
        [("transfer-encoding", .transferEncoding), ("content-length", .contentLength)]
            + HTTPHeaderRules.hopByHop.sorted().map { ($0, .hopByHop) })

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
