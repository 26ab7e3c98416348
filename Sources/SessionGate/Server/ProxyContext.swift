import Logging
import NIOCore

/// Everything a request needs that is built once at start-up and shared by all connections.
struct ProxyContext: Sendable {
    let routes: RouteTable
    let upstreams: [Upstream]
    let rewriter: RequestRewriter
    let extractor: SessionExtractor
    let clientAddresses: ClientAddressResolver
    let store: SessionStore
    /// The `[auth]` endpoints and the CSRF rule; nil when `[auth]` is not configured.
    let auth: AuthService?
    /// `Set-Cookie` value that deletes the session cookie, built once.
    let clearCookie: String
    /// Random per process, so request IDs are unique across instances.
    let requestIDPrefix: String
    let logger: Logger

    init(configuration: ProxyConfiguration, upstreams: [Upstream], store: SessionStore, logger: Logger) {
        self.routes = RouteTable(routes: configuration.routes, upstreams: configuration.upstreams)
        self.upstreams = upstreams
        self.rewriter = RequestRewriter(identity: configuration.identity, session: configuration.session)
        self.extractor = SessionExtractor(
            cookieName: configuration.session.cookieName, headerName: configuration.session.headerName)
        self.clientAddresses = ClientAddressResolver(trustedProxies: configuration.server.trustedProxies)
        self.store = store
        self.auth = configuration.auth.map {
            AuthService(configuration: $0, session: configuration.session, store: store, logger: logger)
        }
        self.clearCookie = SessionCookie.clearing(configuration.session)
        self.requestIDPrefix = Crypto.hex(Crypto.randomBytes(6))
        self.logger = logger
    }
}

/// What each event loop owns: its upstream pool and a request counter. Touched only on that loop.
final class LoopResources {
    let pool: UpstreamPool
    private var requestCounter: UInt64 = 0
    private let prefix: String
    /// Where a whole response for a client is put together (see `ProxyHandler.receivedWhole`), reused from one
    /// response to the next: once its write has gone, nothing else refers to it and clearing it keeps its memory, so
    /// the usual response needs no allocation. Should anything still refer to it, clearing it allocates anew
    /// (copy-on-write), so sharing it can never mix two responses.
    var responseBuffer = ByteBuffer()
    /// Buffers of upstream request heads whose exchanges are over, for the next heads: a request usually needs no
    /// allocation for its head. A head stays with its exchange until the response came (it is sent again if a reused
    /// upstream connection turns out closed), so several are in use at once; a few hundred small ones are kept, at
    /// most, and large ones are let go. Should a write still refer to one, clearing it allocates anew
    /// (copy-on-write), so reuse can never mix two heads.
    private var spareHeadBuffers: [ByteBuffer] = []
    static let maxSpareHeadBuffers = 256
    static let maxSpareHeadCapacity = 4096

    init(eventLoop: EventLoop, upstreams: [Upstream], requestIDPrefix: String, loopIndex: Int) {
        self.pool = UpstreamPool(eventLoop: eventLoop, upstreams: upstreams)
        self.prefix = "\(requestIDPrefix)\(loopIndex)-"
    }

    /// An empty buffer with room for `capacity` bytes: a spare one when there is one.
    func takeHeadBuffer(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard var buffer = spareHeadBuffers.popLast() else { return allocator.buffer(capacity: capacity) }
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    /// Keeps `buffer` for a later head, unless enough are kept already or it is large.
    func recycleHeadBuffer(_ buffer: ByteBuffer) {
        guard spareHeadBuffers.count < Self.maxSpareHeadBuffers, buffer.capacity <= Self.maxSpareHeadCapacity else { return }
        spareHeadBuffers.append(buffer)
    }

    /// A request ID unique in this process (and, through the random prefix, across processes).
    func nextRequestID() -> RequestID {
        requestCounter &+= 1
        return RequestID(prefix: prefix, number: requestCounter)
    }
}

@available(*, unavailable)
extension LoopResources: Sendable {}
