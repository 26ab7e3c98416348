import NIOCore

extension TestUpstream {
    /// What the upstream does with a request, chosen by its path (and query for parameters).
    enum Route: Equatable {
        /// 200 with a JSON echo of the request.
        case echo
        /// The echo, after a delay scheduled on the event loop.
        case slow(milliseconds: Int64)
        /// Close the connection without answering.
        case drop
        /// Echo on a connection's first request; on a later one, close without answering, as a server does that
        /// timed out a kept-alive connection just as a request arrived on it.
        case stale
        /// 200 with `bytes` bytes of `TestBodyPattern`.
        case download(bytes: Int)
        /// Count the body, answer `{"body_bytes": N, "pattern_ok": Bool}`.
        case upload

        /// The route for a request target such as `/slow?ms=200`, chosen by the path's LAST segment, so
        /// `/app/slow?ms=200` behind a proxy route `/app/` works the same. Missing or malformed numbers count as 0.
        init(uri: String) {
            let (path, query) = Self.split(uri)
            switch path.split(separator: "/").last {
            case "slow": self = .slow(milliseconds: Int64(query["ms"] ?? "") ?? 0)
            case "drop": self = .drop
            case "stale": self = .stale
            case "download": self = .download(bytes: max(0, Int(query["bytes"] ?? "") ?? 0))
            case "upload": self = .upload
            default: self = .echo
            }
        }

        private static func split(_ uri: String) -> (path: Substring, query: [Substring: Substring]) {
            guard let mark = uri.firstIndex(of: "?") else { return (uri[...], [:]) }
            var query: [Substring: Substring] = [:]
            for item in uri[uri.index(after: mark)...].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[pair[0]] = pair.count > 1 ? pair[1] : ""
            }
            return (uri[..<mark], query)
        }
    }
}
