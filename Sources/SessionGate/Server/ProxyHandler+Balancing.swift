import NIOCore

/// Which server an attempt goes to, and what happens when an attempt fails.
///
/// Each exchange holds at most one in-flight slot on one server at a time (`exchange.server`), taken by
/// ``serverForAttempt(_:upstream:sameServer:)`` and given back exactly once by ``releaseServer(_:_:)`` with what it
/// says about the server's health. A failed attempt goes to the next server (one not yet tried) while `retries`
/// allows and the request can be sent again: always when nothing was sent (connect failed), and after it may have
/// reached the server only for an idempotent request without a body (``Exchange/canBeSentAgain``).
extension ProxyHandler {
    /// The request's balancing key, per the upstream's `hash_key` (`ip_hash`: the client address); nil when the
    /// request lacks it (no session, no such cookie or header), which makes the balancer use round robin.
    func balanceKey(for exchange: Exchange, identity: SessionIdentity?, clientAddress: String) -> UInt64? {
        switch proxy.upstreams[exchange.route.upstreamIndex].hashKey {
        case nil:
            return nil
        case .ip?:
            return StableHash.hash(clientAddress)
        case .session?:
            // Only a hash of the token is used, and only for routing; the token itself is never forwarded.
            guard case .token(let token, _) = exchange.presented else { return nil }
            return token.withBytes(StableHash.hash(bytes:))
        case .user?:
            return identity.map { StableHash.hash($0.userID) }
        case .cookie(let name)?:
            return exchange.head.hasCookie ? Self.cookieHash(named: name, in: exchange.head) : nil
        case .header(let name)?:
            // The value's bytes are hashed in place: the same value as its text's.
            return exchange.head.withFirstValue(named: name) {
                StableHash.hash(bytes: $0.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    /// The hash of the first cookie named `name` (as ``CookieHeader`` reads the `Cookie` headers), from the
    /// request's bytes.
    private static func cookieHash(named name: String, in head: RequestHead) -> UInt64? {
        var name = name
        return name.withUTF8 { name in
            CookieHeader.withFirstValue(named: UnsafeRawBufferPointer(name), in: head) {
                StableHash.hash(bytes: $0.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    /// The server for the next attempt, holding an in-flight slot on it; `sameServer` keeps the one already held.
    /// Answers the client itself (and returns nil) when no server is left.
    func serverForAttempt(_ exchange: Exchange, upstream: Upstream, sameServer: Bool) -> UpstreamServer? {
        if sameServer, let held = exchange.server { return held }
        guard let index = upstream.balancer.pick(key: exchange.balanceKey, excluding: exchange.tried) else {
            // Every server is down (nginx: "no live upstreams") or every one was tried.
            answer(exchange, with: exchange.lastFailure ?? .badGateway("no upstream server is available"))
            return nil
        }
        exchange.tried.insert(index)
        let server = upstream.servers[index]
        exchange.server = server
        return server
    }

    /// An attempt failed: the server is charged with a failure, then the request goes to the next server if
    /// `mayRetry` and `retries` allow, else the client gets `response`.
    func attemptFailed(_ exchange: Exchange, upstream: Upstream, mayRetry: Bool, _ response: ErrorResponse) {
        releaseServer(exchange, .failure)
        exchange.lastFailure = response
        guard mayRetry, exchange.tried.count <= upstream.retries else {
            answer(exchange, with: response)
            return
        }
        // Body bytes still buffered were never sent and go with the next attempt; a request whose body already went
        // out is not retried (`canBeSentAgain`), so nothing has to be rebuilt here.
        connectUpstream(exchange, fresh: false)
    }

    /// Gives back the exchange's in-flight slot, if it holds one, telling the balancer how the attempt went.
    func releaseServer(_ exchange: Exchange, _ outcome: UpstreamBalancer.Outcome) {
        guard let server = exchange.server else { return }
        exchange.server = nil
        proxy.upstreams[exchange.route.upstreamIndex].balancer.finish(server.index, outcome: outcome)
    }
}
