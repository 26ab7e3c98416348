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
        return routes.first { path.hasPrefix($0.path) }
    }
}
