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

    /// ``clientAddress(trustedPeer:forwardedFor:)`` on the request's own bytes: the hops of its `X-Forwarded-For`
    /// headers are walked from the right in place, and only the address chosen becomes a string. Hops are read as
    /// there: split on commas (empty pieces skipped), trimmed of spaces and tabs.
    func clientAddress(trustedPeer peer: String, in head: RequestHead) -> String {
        var client: String?
        head.forEachValue(lowercaseName: Self.forwardedFor, fromLast: true) { value in
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

    private static let forwardedFor = Array("x-forwarded-for".utf8)

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
