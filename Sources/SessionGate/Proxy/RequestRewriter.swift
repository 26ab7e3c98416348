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
        var requestID: String
        var identity: SessionIdentity?
    }

    func upstreamHead(for client: HTTPRequestHead, context: Context) -> HTTPRequestHead {
        // Options named by `Connection` are rare: collect them only when the header is there.
        var connectionOptions: [Substring] = []
        for (name, value) in client.headers where name.utf8.count == 10 && name.equalsHeaderName("connection") {
            HTTPHeaderRules.appendConnectionOptions(of: value, to: &connectionOptions)
        }
        var wasChunked = false
        var hasContentLength = false
        var host: String?
        var forwardedFor: String?
        // Collected as pairs and wrapped once: `HTTPHeaders.add` re-checks every name for ASCII, and every name here
        // is a token already (parsed by the decoder, or from validated configuration).
        var headers: [(String, String)] = []
        headers.reserveCapacity(client.headers.count + 8)
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
                if let kept = withoutSessionCookie(value) { headers.append((name, kept)) }
            case .host:
                headers.append((name, value))
            case .contentLength:
                hasContentLength = true
                headers.append((name, value))
            case nil:
                headers.append((name, value))
            }
        }
        if wasChunked && !hasContentLength {
            headers.append(("Transfer-Encoding", "chunked"))
        }
        headers.append(("X-Forwarded-For", forwardedFor.map { $0 + ", " + context.peerAddress } ?? context.peerAddress))
        headers.append(("X-Real-IP", context.clientAddress))
        headers.append(("X-Forwarded-Proto", "http"))
        if let host { headers.append(("X-Forwarded-Host", host)) }
        headers.append(("X-Request-ID", context.requestID))
        if let user = context.identity {
            headers.append((identity.userIDHeader, user.userID))
            headers.append((identity.userNameHeader, user.userName))
            headers.append((identity.rolesHeader, user.roles.joined(separator: ",")))
        }
        var head = HTTPRequestHead(version: .http1_1, method: client.method, uri: client.uri)
        head.headers = HTTPHeaders(headers)
        return head
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

    /// The response head the client receives: the upstream's, less hop-by-hop headers; framing is left to the encoder.
    static func clientResponseHead(from upstream: HTTPResponseHead, keepAlive: Bool, clientVersion: HTTPVersion) -> HTTPResponseHead {
        var connectionOptions: [Substring] = []
        for (name, value) in upstream.headers where name.utf8.count == 10 && name.equalsHeaderName("connection") {
            HTTPHeaderRules.appendConnectionOptions(of: value, to: &connectionOptions)
        }
        var headers: [(String, String)] = []  // wrapped once, as in `upstreamHead`
        headers.reserveCapacity(upstream.headers.count + 1)
        for (name, value) in upstream.headers {
            if HTTPHeaderRules.hopByHopTable.action(for: name) != nil { continue }
            if !connectionOptions.isEmpty, connectionOptions.contains(where: { $0.equalsHeaderNameIgnoringCase(name) }) {
                continue
            }
            headers.append((name, value))
        }
        if !keepAlive {
            headers.append(("Connection", "close"))
        } else if clientVersion.minor == 0 {
            headers.append(("Connection", "keep-alive"))
        }
        return HTTPResponseHead(version: clientVersion, status: upstream.status, headers: HTTPHeaders(headers))
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
