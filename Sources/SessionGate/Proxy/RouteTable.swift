/// A route ready for matching: its upstream resolved to an index at config load. A class, built once: each request
/// refers to its route with one retain.
final class CompiledRoute: Sendable {
    let path: String
    let upstreamIndex: Int
    let auth: RouteAuth
    let roles: [String]

    init(path: String, upstreamIndex: Int, auth: RouteAuth, roles: [String]) {
        self.path = path
        self.upstreamIndex = upstreamIndex
        self.auth = auth
        self.roles = roles
    }

    /// Stands in for the route of a request the proxy answers before routing (400, 404).
    static let none = CompiledRoute(path: "", upstreamIndex: -1, auth: .public, roles: [])
}

/// Longest-prefix routing, built once at config load.
///
/// Routes are kept longest path first, so the first prefix that matches is the longest. Their paths are also kept
/// as one run of bytes, so matching a request compares bytes in place, with no string or iterator work per route.
struct RouteTable: Sendable {
    private let routes: [CompiledRoute]
    /// Every route's path, in ``routes`` order, one after another.
    private let pathBytes: [UInt8]
    /// Where each route's path is in ``pathBytes``.
    private let pathRanges: [Range<Int>]

    init(routes: [RouteConfiguration], upstreams: [UpstreamConfiguration]) {
        let compiled = routes.compactMap { route -> CompiledRoute? in
            guard let index = upstreams.firstIndex(where: { $0.name == route.upstream }) else { return nil }
            return CompiledRoute(path: route.path, upstreamIndex: index, auth: route.auth, roles: route.roles)
        }.sorted { $0.path.utf8.count > $1.path.utf8.count }
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        for route in compiled {
            ranges.append(bytes.count..<bytes.count + route.path.utf8.count)
            bytes += route.path.utf8
        }
        self.routes = compiled
        self.pathBytes = bytes
        self.pathRanges = ranges
    }

    /// The route for a request target (path and query); the query is ignored. Paths are compared as written, byte
    /// for byte, as nginx does.
    func match(_ uri: String) -> CompiledRoute? {
        let found = uri.utf8.withContiguousStorageIfAvailable(matchIndex) ?? Array(uri.utf8).withUnsafeBufferPointer(matchIndex)
        return found.map { routes[$0] }
    }

    /// ``match(_:)`` for a target's bytes as received (see ``RequestHead/withTarget(_:)``).
    func match(target: UnsafeBufferPointer<UInt8>) -> CompiledRoute? {
        matchIndex(target).map { routes[$0] }
    }

    private func matchIndex(_ target: UnsafeBufferPointer<UInt8>) -> Int? {
        var pathEnd = 0
        while pathEnd < target.count, target[pathEnd] != UInt8(ascii: "?"), target[pathEnd] != UInt8(ascii: "#") {
            pathEnd += 1
        }
        return pathBytes.withUnsafeBufferPointer { paths in
            for (index, range) in pathRanges.enumerated() where range.count <= pathEnd {
                var equal = true
                for offset in 0..<range.count where target[offset] != paths[range.lowerBound + offset] {
                    equal = false
                    break
                }
                if equal { return index }
            }
            return nil
        }
    }
}
