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
    private let cookieName: String

    init(identity: IdentityConfiguration, session: SessionConfiguration) {
        self.identity = identity
        self.cookieName = session.cookieName
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

    /// The request head for the upstream, as bytes, and whether its body goes in chunks.
    struct UpstreamHead {
        var bytes: ByteBuffer
        /// The client's body came chunked without a length: it is sent upstream chunked again (NIO's decoder has
        /// removed the client's framing).
        var chunkedBody: Bool
    }

    func upstreamHead(for client: HTTPRequestHead, context: Context, allocator: ByteBufferAllocator) -> UpstreamHead {
        // Options named by `Connection` are rare: collect them only when the header is there.
        var connectionOptions: [Substring] = []
        for (name, value) in client.headers where name.utf8.count == 10 && name.equalsHeaderName("connection") {
            HTTPHeaderRules.appendConnectionOptions(of: value, to: &connectionOptions)
        }
        var wasChunked = false
        var hasContentLength = false
        var host: String?
        var forwardedFor: String?
        var out = allocator.buffer(capacity: 1024)
        let method = client.method.rawValue
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: method.utf8.count + client.uri.utf8.count + 11) { memory in
            var writer = RawWriter(memory)
            writer.append(method)
            writer.append(" ")
            writer.append(client.uri)
            writer.append(" HTTP/1.1\r\n")
            return writer.count
        }
        for (name, value) in client.headers {
            let action = requestHeaders.action(for: name)
            // These two read the client's headers as sent, whether or not the header itself is forwarded.
            if action == .transferEncoding { wasChunked = wasChunked || Self.isChunked(value) }
            if action == .host, host == nil { host = value }
            if !connectionOptions.isEmpty, connectionOptions.contains(where: { $0.equalsHeaderNameIgnoringCase(name) }) {
                continue
            }
            switch action {
            case .drop, .connection, .transferEncoding:
                continue
            case .forwardedFor:
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
            case .cookie:
                if let kept = withoutSessionCookie(value) { out.writeHeaderLine(name, kept) }
            case .contentLength:
                hasContentLength = true
                out.writeHeaderLine(name, value)
            case .host, nil:
                out.writeHeaderLine(name, value)
            }
        }
        let chunkedBody = wasChunked && !hasContentLength
        writeProxyHeaders(into: &out, chunkedBody: chunkedBody, forwardedFor: forwardedFor, host: host, context: context)
        return UpstreamHead(bytes: out, chunkedBody: chunkedBody)
    }

    /// The headers the proxy adds (framing, forwarding, request ID, identity) and the blank line, in one capacity
    /// check.
    private func writeProxyHeaders(
        into out: inout ByteBuffer, chunkedBody: Bool, forwardedFor: String?, host: String?, context: Context
    ) {
        var length = 160 + (forwardedFor?.utf8.count ?? 0) + context.peerAddress.utf8.count
            + context.clientAddress.utf8.count + (host?.utf8.count ?? 0) + context.requestID.maxLength
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

    /// True when a `Transfer-Encoding` value lists `chunked`.
    static func isChunked(_ value: String) -> Bool {
        value.utf8.split(separator: UInt8(ascii: ",")).contains { Substring($0).equalsTrimmedToken("chunked") }
    }

    /// A `Cookie` header value without the session cookie, or nil if nothing else was in it.
    private func withoutSessionCookie(_ value: String) -> String? {
        guard value.contains(cookieName) else { return value }
        let kept = value.split(separator: ";").filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1).first.map { $0.trimmingSpaces() } ?? ""
            return name != cookieName
        }.map { $0.trimmingSpaces() }
        return kept.isEmpty ? nil : kept.joined(separator: "; ")
    }

    /// A well-formed client request ID is kept (1 to 128 of `A-Z a-z 0-9 - _ . :`); anything else is replaced.
    static func isWellFormedRequestID(_ value: String) -> Bool {
        let utf8 = value.utf8
        return (1...128).contains(utf8.count) && utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
                || b == 0x2e || b == 0x3a
        }
    }
}
