/// A route ready for matching: its upstream resolved to an index at config load.
struct CompiledRoute: Sendable {
    let path: String
    let upstreamIndex: Int
    let auth: RouteAuth
    let roles: [String]

    /// Stands in for the route of a request the proxy answers before routing (400, 404).
    static let none = CompiledRoute(path: "", upstreamIndex: -1, auth: .public, roles: [])
}

/// Longest-prefix routing, built once at config load.
///
/// Routes are kept longest path first, so the first prefix that matches is the longest.
struct RouteTable: Sendable {
    private let routes: [CompiledRoute]

    init(routes: [RouteConfiguration], upstreams: [UpstreamConfiguration]) {
        self.routes = routes.compactMap { route in
            guard let index = upstreams.firstIndex(where: { $0.name == route.upstream }) else { return nil }
            return CompiledRoute(path: route.path, upstreamIndex: index, auth: route.auth, roles: route.roles)
        }.sorted { $0.path.utf8.count > $1.path.utf8.count }
    }

    /// The route for a request target (path and query); the query is ignored.
    func match(_ uri: String) -> CompiledRoute? {
        let path = uri.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") })
            .map { uri[..<$0] } ?? Substring(uri)
        return routes.first { path.utf8.starts(withBytesOf: $0.path) }
    }
}

extension Substring.UTF8View {
    /// `hasPrefix` on bytes: `String.hasPrefix` compares by `Character` through generic code, several times slower
    /// for the ASCII paths routes are made of. (Route paths are compared as written, byte for byte, as nginx does.)
    func starts(withBytesOf prefix: String) -> Bool {
        let prefixBytes = prefix.utf8
        guard count >= prefixBytes.count else { return false }
        let fast = withContiguousStorageIfAvailable { bytes in
            prefixBytes.withContiguousStorageIfAvailable { start in
                for index in 0..<start.count where bytes[index] != start[index] { return false }
                return true
            }
        }
        if let fast, let result = fast { return result }
        return starts(with: prefixBytes)
    }
}
