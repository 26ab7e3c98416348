import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP/1.1 client over ONE TCP connection, so tests can see keep-alive and connection closes.
///
/// Requests on one client are sent in call order and answered in order (concurrent calls are pipelined; an upload
/// holds back later requests until its body is sent). Every call is bounded by a timeout; when it expires the call
/// throws `TestHTTPClientError.timedOut` and the connection is closed, since its state is then unknown. When the
/// server closes the connection, pending calls throw `TestHTTPClientError.connectionClosed` and `isOpen` is false.
///
/// A `Host: 127.0.0.1:<port>` header is added first unless the caller passes one, and a `Content-Length` unless the
/// caller passes `Content-Length` or `Transfer-Encoding`; other headers and the request target are sent exactly as
/// given, in order, without validation (so tests can send what a proxy must reject).
final class TestHTTPClient: Sendable {
    /// The timeout for calls that do not pass one.
    static let defaultTimeout: Duration = .seconds(10)

    /// The server port this client is connected to.
    let port: Int
    private let channel: any Channel
    private let uploaded: NIOLockedValueBox<Int>

    private init(port: Int, channel: any Channel, uploaded: NIOLockedValueBox<Int>) {
        self.port = port
        self.channel = channel
        self.uploaded = uploaded
    }

    /// Opens a connection to `127.0.0.1:port`.
    ///
    /// - Parameters:
    ///   - port: The server's port on `127.0.0.1`.
    ///   - timeout: How long the TCP connect may take.
    /// - Throws: If the connection cannot be established in time.
    static func connect(port: Int, timeout: Duration = defaultTimeout) async throws -> TestHTTPClient {
        let uploaded = NIOLockedValueBox(0)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No outbound validation: tests send request targets a proxy must reject, such as `/a\..\b`.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(uploaded: uploaded))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return TestHTTPClient(port: port, channel: channel, uploaded: uploaded)
    }

    /// Opens a connection, sends one request, closes the connection and returns the response.
    static func get(
        port: Int,
        uri: String,
        headers: [(String, String)] = [],
        timeout: Duration = defaultTimeout
    ) async throws -> TestResponse {
        let client = try await connect(port: port, timeout: timeout)
        do {
            let response = try await client.request("GET", uri, headers: headers, timeout: timeout)
            await client.close()
            return response
        } catch {
            await client.close()
            throw error
        }
    }

    /// Whether the connection is still open (false after either side closed it).
    var isOpen: Bool { channel.isActive }

    /// How many body bytes `upload` has handed to the connection, over all uploads on this client.
    ///
    /// Chunks are written only while the connection is writable, so while the server (or a proxy) does not read,
    /// this stops growing: tests use it to check that backpressure reaches the client.
    var uploadBytesWritten: Int { uploaded.withLockedValue { $0 } }

    /// Closes the connection. Safe to call more than once.
    func close() async {
        try? await channel.close()
    }

    /// Waits until the connection is closed (by either side).
    ///
    /// - Throws: `TestHTTPClientError.timedOut` if it is still open after `timeout`.
    func waitUntilClosed(timeout: Duration = defaultTimeout) async throws {
        let closed = channel.eventLoop.makePromise(of: Void.self)
        channel.closeFuture.cascade(to: closed)
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            closed.fail(TestHTTPClientError.timedOut(operation: "waiting for the server to close", after: timeout))
        }
        defer { timer.cancel() }
        try await closed.futureResult.get()
    }

    /// Sends one request and returns the whole response.
    ///
    /// - Parameters:
    ///   - method: The request method, for example `GET` or `POST`.
    ///   - uri: The request target, for example `/path?query`.
    ///   - headers: Request headers, sent in this order after `Host`.
    ///   - body: The request body, sent with a `Content-Length`.
    ///   - timeout: The bound on the whole exchange.
    /// - Throws: `TestHTTPClientError` on timeout or when the server closes the connection first.
    func request(
        _ method: String = "GET",
        _ uri: String,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil,
        timeout: Duration = defaultTimeout
    ) async throws -> TestResponse {
        let head = requestHead(method, uri, headers: headers, contentLength: body?.readableBytes)
        return try await send(head, body: body.map { .buffer($0) } ?? .none, reading: .keep, timeout: timeout)
    }

    /// Sends a `GET` (or, with a body, a `POST`) to `uri`; see `request(_:_:headers:body:timeout:)`.
    func request(
        _ uri: String,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil,
        timeout: Duration = defaultTimeout
    ) async throws -> TestResponse {
        try await request(body == nil ? "GET" : "POST", uri, headers: headers, body: body, timeout: timeout)
    }

    /// Sends a request whose body is `totalBytes` of `TestBodyPattern`, generated chunk by chunk while the
    /// connection is writable, so the body is never held in memory.
    ///
    /// - Parameters:
    ///   - uri: The request target, for example `/upload`.
    ///   - totalBytes: The body size, sent as `Content-Length`.
    ///   - chunkSize: The size of each body write.
    ///   - method: The request method.
    ///   - headers: Extra request headers.
    ///   - timeout: The bound on the whole exchange.
    /// - Returns: The response, with its body.
    /// - Throws: `TestHTTPClientError` on timeout or when the server closes the connection first.
    func upload(
        _ uri: String,
        totalBytes: Int,
        chunkSize: Int = 64 * 1024,
        method: String = "POST",
        headers: [(String, String)] = [],
        timeout: Duration = defaultTimeout
    ) async throws -> TestResponse {
        precondition(totalBytes >= 0 && chunkSize > 0, "upload needs totalBytes >= 0 and chunkSize > 0")
        let head = requestHead(method, uri, headers: headers, contentLength: totalBytes)
        return try await send(
            head,
            body: .generated(total: totalBytes, chunkSize: chunkSize),
            reading: .keep,
            timeout: timeout
        )
    }

    /// Sends a request and counts the response body's bytes without keeping them.
    ///
    /// - Parameters:
    ///   - uri: The request target, for example `/download?bytes=1000`.
    ///   - headers: Request headers.
    ///   - verifyPattern: Also check that a 200 body is `TestBodyPattern`, throwing `.bodyMismatch` if not.
    ///   - timeout: The bound on the whole exchange.
    /// - Returns: The status code and the number of body bytes received.
    /// - Throws: `TestHTTPClientError` on timeout, close, or (with `verifyPattern`) a body mismatch.
    func download(
        _ uri: String,
        headers: [(String, String)] = [],
        verifyPattern: Bool = false,
        timeout: Duration = defaultTimeout
    ) async throws -> (status: Int, bytes: Int) {
        let head = requestHead("GET", uri, headers: headers, contentLength: nil)
        let response = try await send(head, body: .none, reading: .count(verifyPattern: verifyPattern), timeout: timeout)
        return (response.status, response.bodyByteCount)
    }

    private func requestHead(
        _ method: String,
        _ uri: String,
        headers: [(String, String)],
        contentLength: Int?
    ) -> HTTPRequestHead {
        var fields = HTTPHeaders()
        if !headers.contains(where: { $0.0.lowercased() == "host" }) {
            fields.add(name: "Host", value: "127.0.0.1:\(port)")
        }
        fields.add(contentsOf: headers)
        let method = HTTPMethod(rawValue: method)
        let framed = fields.contains(name: "content-length") || fields.contains(name: "transfer-encoding")
        if !framed {
            if let contentLength {
                fields.add(name: "Content-Length", value: String(contentLength))
            } else if ![.GET, .HEAD, .DELETE, .OPTIONS, .TRACE, .CONNECT].contains(method) {
                fields.add(name: "Content-Length", value: "0")
            }
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: fields)
    }

    private func send(
        _ head: HTTPRequestHead,
        body: Command.Body,
        reading: Command.Reading,
        timeout: Duration
    ) async throws -> TestResponse {
        let response = channel.eventLoop.makePromise(of: TestResponse.self)
        let operation = "\(head.method.rawValue) \(head.uri)"
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [channel] in
            response.fail(TestHTTPClientError.timedOut(operation: operation, after: timeout))
            channel.close(promise: nil)
        }
        response.futureResult.whenComplete { _ in timer.cancel() }
        let command = Command(head: head, body: body, reading: reading, response: response)
        channel.writeAndFlush(command).whenFailure { error in
            response.fail(error is ChannelError ? TestHTTPClientError.connectionClosed(operation: operation) : error)
        }
        return try await response.futureResult.get()
    }
}
