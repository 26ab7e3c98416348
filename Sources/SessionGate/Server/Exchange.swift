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

    let head: RequestHead
    let route: CompiledRoute
    let presented: PresentedSession
    let id: RequestID
    /// The request ID as text, built on first use (logs, the proxy's own answers).
    lazy var requestID: String = id.text
    /// Whether the client connection may serve another request after this one.
    var keepAlive: Bool
    /// True when the request carries a body (`Content-Length` > 0 or chunked).
    let hasBody: Bool
    let expectsContinue: Bool
    /// The head sent upstream, once the request is allowed through.
    var upstreamHead: RequestRewriter.UpstreamHead?
    /// Request body bytes read before an upstream connection was ready (bounded: reads are held meanwhile); the end
    /// of the request is ``requestComplete``.
    var bufferedBody: [ByteBuffer] = []
    var requestComplete = false
    var response: ResponseProgress = .awaitingHead
    /// How the response body is framed for the client, decided when its head arrives.
    var responseFraming: ClientResponsePlan.BodyFraming = .passThrough
    /// When the upstream must have answered with a head; nil once it has (or the exchange ended). The handler's one
    /// response timer (``ProxyHandler/armResponseTimer(_:)``) checks it.
    var responseDeadline: NIODeadline?
    /// Set once the request was replayed on a fresh connection after a stale keep-alive connection failed.
    var replayed = false
    /// Balancing (see `ProxyHandler+Balancing.swift`): the request's hash for `ip_hash`/`consistent_hash`, the server
    /// holding an in-flight slot for it, the servers tried so far and the answer the last failed attempt would give.
    var balanceKey: UInt64?
    var server: UpstreamServer?
    var tried = ServerSet()
    var lastFailure: ErrorResponse?

    init(head: RequestHead, route: CompiledRoute, presented: PresentedSession, requestID: RequestID) {
        self.head = head
        self.route = route
        self.presented = presented
        self.id = requestID
        // Read by the parser in its one pass over the head.
        self.keepAlive = head.keepAlive
        self.hasBody = head.hasBody
        self.expectsContinue = head.expectsContinue
    }

    /// A request that may be sent again when a reused upstream connection turned out to be closed before answering:
    /// no body to resend, and a method whose repetition is harmless (RFC 9110 §9.2.2).
    var isReplayable: Bool { !replayed && canBeSentAgain }

    /// A request that may go to another server after one lost it before answering: complete, without a body, and
    /// idempotent (GET, HEAD, OPTIONS, PUT, DELETE, TRACE; RFC 9110 §9.2.2). Never a POST.
    var canBeSentAgain: Bool {
        guard requestComplete, !hasBody else { return false }
        switch head.method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: return true
        default: return false
        }
    }
}

@available(*, unavailable)
extension Exchange: Sendable {}
