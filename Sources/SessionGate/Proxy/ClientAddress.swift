import NIOCore

/// Resolves the client's address, believing `X-Forwarded-For` only from trusted proxies.
///
/// Walking the chain from the right, each hop whose address is a trusted proxy vouches for the one before it; the
/// first untrusted address is the client. A peer that is not trusted is the client, whatever it claims.
struct ClientAddressResolver: Sendable {
    let trustedProxies: [CIDR]

    func clientAddress(peer: String, forwardedFor: [String]) -> String {
        guard !trustedProxies.isEmpty, isTrusted(peer) else { return peer }
        return clientAddress(trustedPeer: peer) { visit in
            for var value in forwardedFor.reversed() {
                guard value.withUTF8({ visit(UnsafeRawBufferPointer($0)) }) else { return }
            }
        }
    }

    /// ``clientAddress(peer:forwardedFor:)`` on the request's own bytes, for a peer already found trusted (the proxy
    /// checks its peer once per connection): only the address chosen becomes a string.
    func clientAddress(trustedPeer peer: String, in head: RequestHead) -> String {
        clientAddress(trustedPeer: peer) { visit in
            head.forEachValue(lowercaseName: Self.forwardedFor, fromLast: true, visit)
        }
    }

    private static let forwardedFor = Array("x-forwarded-for".utf8)

    /// The walk: `valuesFromLast` hands over the `X-Forwarded-For` values, last first, while `visit` returns true.
    /// Each value's hops are read from the right (split on commas, empty pieces skipped, trimmed of spaces and tabs);
    /// each address stands for the client until one is not a trusted proxy, and anything that is not an address
    /// stops the walk.
    private func clientAddress(
        trustedPeer peer: String, valuesFromLast: (_ visit: (UnsafeRawBufferPointer) -> Bool) -> Void
    ) -> String {
        var client: String?
        valuesFromLast { value in
            var end = value.count
            while end > 0 {
                var start = end
                while start > 0, value[start - 1] != UInt8(ascii: ",") { start -= 1 }
                let piece = start..<end
                end = start - 1
                guard !piece.isEmpty else { continue }
                let hop = UnsafeRawBufferPointer(rebasing: value[ByteScan.trimmed(piece, in: value)])
                guard let address = CIDR.parseAddress(bytes: hop) else { return false }
                client = String(decoding: hop, as: UTF8.self)
                guard trustedProxies.contains(where: { $0.contains(address) }) else { return false }
            }
            return true
        }
        return client ?? peer
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
