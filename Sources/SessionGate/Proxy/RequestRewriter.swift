import NIOCore
import NIOHTTP1

/// Builds the request head the upstream receives from the one the client sent.
///
/// Removes what must never pass (hop-by-hop headers and those named in `Connection`, any client copy of an identity
/// header, the session token in cookie or header, client-set `X-Forwarded-Proto`/`-Host`), then adds what the
/// upstream is owed: identity headers, `X-Forwarded-For` (appended), `-Proto`, `-Host`, `X-Real-IP` (the client as
/// resolved through trusted proxies) and `X-Request-ID`.
/// It does not touch the body or decide routing.
struct RequestRewriter: Sendable {
    /// What happens to a client request header, by name; decided by ``HeaderNameTable`` without allocating.
    enum RequestHeaderAction: Sendable {
        /// Hop-by-hop, a client copy of an identity header, the session header, or a header the proxy sets itself.
        case drop
        /// `Connection`: dropped, and the options it names are dropped too.
        case connection
        /// `Transfer-Encoding`: dropped; re-added as `chunked` when the body was chunked and has no `Content-Length`.
        case transferEncoding
        case forwardedFor
        case cookie
        case host
        case contentLength
    }

    private let requestHeaders: HeaderNameTable<RequestHeaderAction>
    private let identity: IdentityConfiguration
    /// The session cookie's name, whose pairs never reach the upstream.
    private let cookieName: [UInt8]

    init(identity: IdentityConfiguration, session: SessionConfiguration) {
        self.identity = identity
        self.cookieName = Array(session.cookieName.utf8)
        // First entry wins, in the precedence the rules had when they were written as one `if`: hop-by-hop, identity,
        // session header, then the headers the proxy sets or edits.
        var entries: [(String, RequestHeaderAction)] = [("connection", .connection), ("transfer-encoding", .transferEncoding)]
        entries += HTTPHeaderRules.hopByHop.sorted().map { ($0, .drop) }
        entries += identity.allHeaders.map { ($0.lowercased(), .drop) }
        entries.append((session.headerName.lowercased(), .drop))
        entries += [
            ("x-forwarded-for", .forwardedFor), ("x-forwarded-proto", .drop), ("x-forwarded-host", .drop),
            ("x-request-id", .drop), ("x-real-ip", .drop), ("cookie", .cookie), ("host", .host),
            ("content-length", .contentLength),
        ]
        self.requestHeaders = HeaderNameTable(entries)
    }

    /// What the proxy knows about the request beyond its head.
    struct Context {
        /// The TCP peer, appended to `X-Forwarded-For`.
        var peerAddress: String
        /// The client as resolved through trusted proxies (``ClientAddressResolver``), sent as `X-Real-IP`.
        var clientAddress: String
        var requestID: RequestID
        var identity: SessionIdentity?
    }

    /// The request head for the upstream, as bytes. A chunked client body keeps its framing (see
    /// ``ClientRequestParser``), so the head says `Transfer-Encoding: chunked` again (the client's own header is
    /// hop-by-hop and dropped).
    struct UpstreamHead {
        var bytes: ByteBuffer
    }

    /// Room for the kept lines of `client` and the proxy's own headers, so the head's buffer is not reallocated
    /// while it is written.
    static func headCapacity(for client: RequestHead) -> Int { client.raw.readableBytes + 512 }

    /// Copies the request line and every kept header line from the client's bytes, then adds the proxy's headers,
    /// after what `out` holds (the caller passes it empty, usually a buffer reused from an earlier request).
    /// Strings are made only for the values that are edited (`Cookie` holding the session, `X-Forwarded-For`).
    func upstreamHead(for client: RequestHead, context: Context, into out: inout ByteBuffer) {
        client.raw.withUnsafeReadableBytes { bytes in
            // Options named by `Connection` are rare: collect them only when the parser saw some.
            let connectionOptions = client.hasConnectionOptions ? Self.connectionOptions(client, bytes) : []
            var host: Range<Int>?
            var forwardedFor: String?
            out.reserveCapacity(minimumWritableBytes: Self.headCapacity(for: client))
            Self.writeLine(client.methodRange, " ", client.targetRange, " HTTP/1.1\r\n", from: bytes, into: &out)
            for field in client.fields {
                let name = UnsafeRawBufferPointer(rebasing: bytes[field.name])
                let action = requestHeaders.action(for: name)
                // Read as sent, whether or not the header itself is forwarded.
                if action == .host, host == nil { host = field.value }
                if !connectionOptions.isEmpty,
                    connectionOptions.contains(where: { HeaderNameTable<Void>.equalsIgnoringCase($0, name) })
                {
                    continue
                }
                switch action {
                case .drop, .connection, .transferEncoding:
                    continue
                case .forwardedFor:
                    let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
                    forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
                case .cookie:
                    writeCookieLine(field, from: bytes, into: &out)
                case .contentLength, .host, nil:
                    Self.writeLine(field.name, ": ", field.value, "\r\n", from: bytes, into: &out)
                }
            }
            writeProxyHeaders(
                into: &out, chunkedBody: client.chunked, forwardedFor: forwardedFor,
                host: host.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }, context: context)
        }
    }

    /// A line of the upstream's head from two parts of the client's bytes: `method SP target` with the version, or
    /// `name: value` CRLF (the value's surrounding spaces dropped).
    private static func writeLine(
        _ first: Range<Int>, _ separator: StaticString, _ second: Range<Int>, _ end: StaticString,
        from bytes: UnsafeRawBufferPointer, into out: inout ByteBuffer
    ) {
        out.writeWithUnsafeMutableBytes(
            minimumWritableBytes: first.count + second.count + separator.utf8CodeUnitCount + end.utf8CodeUnitCount
        ) { memory in
            var writer = RawWriter(memory)
            writer.append(UnsafeRawBufferPointer(rebasing: bytes[first]))
            writer.append(separator)
            writer.append(UnsafeRawBufferPointer(rebasing: bytes[second]))
            writer.append(end)
            return writer.count
        }
    }

    /// The lowercase names of the headers the client's `Connection` lists (beyond `close` and `keep-alive`).
    private static func connectionOptions(_ client: RequestHead, _ bytes: UnsafeRawBufferPointer) -> [[UInt8]] {
        var options: [[UInt8]] = []
        for field in client.fields where field.nameLength == 10 && field.nameEquals(bytes, "connection") {
            field.forEachListElement(bytes) { element in
                guard !HeaderLine.equalsIgnoringCase(bytes, element, "keep-alive"),
                    !HeaderLine.equalsIgnoringCase(bytes, element, "close")
                else { return }
                options.append(bytes[element].map { $0.asciiLowercased })
            }
        }
        return options
    }

    /// The headers the proxy adds (framing, forwarding, request ID, identity) and the blank line, in one capacity
    /// check.
    /// `host` is the client's `Host` value, in the request's bytes.
    private func writeProxyHeaders(
        into out: inout ByteBuffer, chunkedBody: Bool, forwardedFor: String?, host: UnsafeRawBufferPointer?,
        context: Context
    ) {
        var length = 160 + (forwardedFor?.utf8.count ?? 0) + context.peerAddress.utf8.count
            + context.clientAddress.utf8.count + (host?.count ?? 0) + context.requestID.maxLength
        if let user = context.identity {
            length += identity.userIDHeader.utf8.count + identity.userNameHeader.utf8.count + identity.rolesHeader.utf8.count
                + user.userID.utf8.count + user.userName.utf8.count + 12
            for role in user.roles { length += role.utf8.count + 1 }
        }
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { memory in
            var writer = RawWriter(memory)
            if chunkedBody { writer.append("Transfer-Encoding: chunked\r\n") }
            writer.append("X-Forwarded-For: ")
            if let forwardedFor {
                writer.append(forwardedFor)
                writer.append(", ")
            }
            writer.append(context.peerAddress)
            writer.append("\r\nX-Real-IP: ")
            writer.append(context.clientAddress)
            writer.append("\r\nX-Forwarded-Proto: http\r\n")
            if let host {
                writer.append("X-Forwarded-Host: ")
                writer.append(host)
                writer.append("\r\n")
            }
            writer.append("X-Request-ID: ")
            context.requestID.write(into: &writer)
            writer.append("\r\n")
            if let user = context.identity {
                writer.append(identity.userIDHeader)
                writer.append(": ")
                writer.append(user.userID)
                writer.append("\r\n")
                writer.append(identity.userNameHeader)
                writer.append(": ")
                writer.append(user.userName)
                writer.append("\r\n")
                writer.append(identity.rolesHeader)
                writer.append(": ")
                for (index, role) in user.roles.enumerated() {
                    if index > 0 { writer.append(",") }
                    writer.append(role)
                }
                writer.append("\r\n")
            }
            writer.append("\r\n")
            return writer.count
        }
    }

    /// A `Cookie` line as sent, or without the session cookie's pairs (``CookieHeader/removing(named:from:_:)``);
    /// no line when nothing else was in it.
    private func writeCookieLine(_ field: HeaderLine, from bytes: UnsafeRawBufferPointer, into out: inout ByteBuffer) {
        let value = UnsafeRawBufferPointer(rebasing: bytes[field.value])
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: field.nameLength + value.count + 4) { memory in
            var writer = RawWriter(memory)
            writer.append(UnsafeRawBufferPointer(rebasing: bytes[field.name]))
            writer.append(": ")
            let start = writer.count
            let removed = cookieName.withUnsafeBytes { name in
                CookieHeader.removing(named: name, from: value) { writer.append(UnsafeRawBufferPointer(rebasing: value[$0])) }
            }
            if !removed { writer.append(value) }
            // Nothing left of the header: no line at all.
            guard writer.count > start else { return 0 }
            writer.append("\r\n")
            return writer.count
        }
    }

    /// A well-formed client request ID is kept (1 to 128 of `A-Z a-z 0-9 - _ . :`); anything else is replaced.
    static func isWellFormedRequestID(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { isWellFormedRequestID(UnsafeRawBufferPointer($0)) }
    }

    /// ``isWellFormedRequestID(_:)`` on the request's bytes, before any string is made of them.
    static func isWellFormedRequestID(_ bytes: UnsafeRawBufferPointer) -> Bool {
        (1...128).contains(bytes.count) && bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
                || b == 0x2e || b == 0x3a
        }
    }
}
