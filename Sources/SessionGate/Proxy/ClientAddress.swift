import NIOCore

/// Resolves the client's address, believing `X-Forwarded-For` only from trusted proxies.
///
/// Walking the chain from the right, each hop whose address is a trusted proxy vouches for the one before it; the
/// first untrusted address is the client. A peer that is not trusted is the client, whatever it claims.
struct ClientAddressResolver: Sendable {
    let trustedProxies: [CIDR]

    func clientAddress(peer: String, forwardedFor: [String]) -> String {
        guard !trustedProxies.isEmpty, isTrusted(peer) else { return peer }
        return clientAddress(trustedPeer: peer, forwardedFor: forwardedFor)
    }

    /// ``clientAddress(peer:forwardedFor:)`` for a peer already found trusted (the proxy checks its peer once per
    /// connection).
    func clientAddress(trustedPeer peer: String, forwardedFor: [String]) -> String {
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces() }
        var client = peer
        for hop in hops.reversed() {
            guard CIDR.parseAddress(hop) != nil else { break }
            client = hop
            if !isTrusted(hop) { break }
        }
        return client
    }

    func isTrusted(_ address: String) -> Bool {
        guard !trustedProxies.isEmpty, let bytes = CIDR.parseAddress(address) else { return false }
        return trustedProxies.contains { $0.contains(bytes) }
    }
}

extension SocketAddress {
    /// The address without the port, as forwarded in `X-Forwarded-For`.
    var addressText: String { ipAddress ?? "unknown" }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
