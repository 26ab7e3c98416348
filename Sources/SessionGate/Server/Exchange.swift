import NIOCore
import NIOHTTP1

/// One request/response pair as it passes through a client connection.
final class Exchange {
    /// How far the upstream's response has come.
    enum ResponseProgress {
        case awaitingHead
        case streaming
        case complete
    }

    let head: HTTPRequestHead
    let route: CompiledRoute
    let presented: PresentedSession
    let requestID: String
    /// Whether the client connection may serve another request after this one.
    var keepAlive: Bool
    /// True when the request carries a body (`Content-Length` > 0 or chunked).
    let hasBody: Bool
    let expectsContinue: Bool
    /// The head sent upstream, once the request is allowed through.
    var upstreamHead: HTTPRequestHead?
    /// Request parts read before an upstream connection was ready (bounded: reads are held meanwhile).
    var buffered: [HTTPServerRequestPart] = []
    var requestComplete = false
    var response: ResponseProgress = .awaitingHead
    var responseTimeout: Scheduled<Void>?
    /// Set once the request was replayed on a fresh connection after a stale keep-alive connection failed.
    var replayed = false

    init(head: HTTPRequestHead, route: CompiledRoute, presented: PresentedSession, requestID: String) {
        self.head = head
        self.route = route
        self.presented = presented
        self.requestID = requestID
        self.keepAlive = head.isKeepAlive
        let contentLength = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
        let chunked = head.headers[canonicalForm: "transfer-encoding"].contains { $0.lowercased() == "chunked" }
        self.hasBody = contentLength > 0 || chunked
        self.expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
    }

    /// A request that may be sent again when a reused upstream connection turned out to be closed before answering:
    /// no body to resend, and a method whose repetition is harmless (RFC 9110 §9.2.2).
    var isReplayable: Bool {
        guard !replayed, requestComplete, !hasBody else { return false }
        switch head.method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: return true
        default: return false
        }
    }
}

@available(*, unavailable)
extension Exchange: Sendable {}
