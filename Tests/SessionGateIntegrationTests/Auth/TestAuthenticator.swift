import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP server playing a team's user service for `authenticator = ...`: `POST /check` with
/// `{"username","password"}` answers 200 `{"user_id","username","roles"}` for known credentials, else 401.
final class TestAuthenticator: Sendable {
    let port: Int
    private let channel: any Channel
    private let calls: NIOLockedValueBox<Int>

    static let users: [String: (password: String, id: String, roles: [String])] = [
        "carol": ("s3cret", "c-100", ["user", "editor"]),
    ]

    static func start() async throws -> TestAuthenticator {
        let calls = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(calls: calls))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestAuthenticator(port: channel.localAddress?.port ?? 0, channel: channel, calls: calls)
    }

    private init(port: Int, channel: any Channel, calls: NIOLockedValueBox<Int>) {
        self.port = port
        self.channel = channel
        self.calls = calls
    }

    /// How many credential checks it answered.
    var callCount: Int { calls.withLockedValue { $0 } }

    func stop() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        private let calls: NIOLockedValueBox<Int>
        private var body: [UInt8] = []
        private var head: HTTPRequestHead?

        init(calls: NIOLockedValueBox<Int>) { self.calls = calls }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                calls.withLockedValue { $0 += 1 }
                let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
                let name = object?["username"] as? String ?? ""
                var status = HTTPResponseStatus.unauthorized
                var answer: [String: Any] = ["error": "invalid credentials"]
                if head?.method == .POST, head?.uri == "/check", let user = TestAuthenticator.users[name],
                    user.password == object?["password"] as? String
                {
                    status = .ok
                    answer = ["user_id": user.id, "username": name, "roles": user.roles]
                }
                let data = (try? JSONSerialization.data(withJSONObject: answer)) ?? Data()
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: String(data.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
