import NIOHTTP1

/// Builds the request head the upstream receives from the one the client sent.
///
/// Removes what must never pass (hop-by-hop headers and those named in `Connection`, any client copy of an identity
/// header, the session token in cookie or header, client-set `X-Forwarded-Proto`/`-Host`), then adds what the
/// upstream is owed: identity headers, `X-Forwarded-For` (appended), `-Proto`, `-Host`, `X-Real-IP` (the client as
/// resolved through trusted proxies) and `X-Request-ID`.
/// It does not touch the body or decide routing.
struct RequestRewriter: Sendable {
    /// Lowercased names of identity headers, stripped from every client request.
    private let identityHeaders: Set<String>
    private let identity: IdentityConfiguration
    private let sessionHeader: String
    private let cookieName: String

    init(identity: IdentityConfiguration, session: SessionConfiguration) {
        self.identity = identity
        self.identityHeaders = Set(identity.allHeaders.map { $0.lowercased() })
        self.sessionHeader = session.headerName.lowercased()
        self.cookieName = session.cookieName
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
        let connectionOptions = Set(
            client.headers[canonicalForm: "connection"].map { $0.lowercased() }
        )
        let wasChunked = client.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        var forwardedFor: [String] = []
        var headers = HTTPHeaders()
        headers.reserveCapacity(client.headers.count + 8)
        for (name, value) in client.headers {
            let lower = name.lowercased()
            if HTTPHeaderRules.hopByHop.contains(lower) || connectionOptions.contains(lower)
                || identityHeaders.contains(lower) || lower == sessionHeader
            {
                continue
            }
            switch lower {
            case "x-forwarded-for":
                forwardedFor.append(value)
            case "x-forwarded-proto", "x-forwarded-host", "x-request-id", "x-real-ip":
                continue
            case "cookie":
                if let kept = withoutSessionCookie(value) { headers.add(name: name, value: kept) }
            default:
                headers.add(name: name, value: value)
            }
        }
        if wasChunked && !headers.contains(name: "content-length") {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        }
        forwardedFor.append(context.peerAddress)
        headers.add(name: "X-Forwarded-For", value: forwardedFor.joined(separator: ", "))
        headers.add(name: "X-Real-IP", value: context.clientAddress)
        headers.add(name: "X-Forwarded-Proto", value: "http")
        if let host = client.headers.first(name: "host") { headers.add(name: "X-Forwarded-Host", value: host) }
        headers.add(name: "X-Request-ID", value: context.requestID)
        if let user = context.identity {
            headers.add(name: identity.userIDHeader, value: user.userID)
            headers.add(name: identity.userNameHeader, value: user.userName)
            headers.add(name: identity.rolesHeader, value: user.roles.joined(separator: ","))
        }
        var head = HTTPRequestHead(version: .http1_1, method: client.method, uri: client.uri)
        head.headers = headers
        return head
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
        let connectionOptions = Set(upstream.headers[canonicalForm: "connection"].map { $0.lowercased() })
        var headers = HTTPHeaders()
        headers.reserveCapacity(upstream.headers.count + 1)
        for (name, value) in upstream.headers {
            let lower = name.lowercased()
            if HTTPHeaderRules.hopByHop.contains(lower) || connectionOptions.contains(lower) { continue }
            headers.add(name: name, value: value)
        }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if clientVersion.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        return HTTPResponseHead(version: clientVersion, status: upstream.status, headers: headers)
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
