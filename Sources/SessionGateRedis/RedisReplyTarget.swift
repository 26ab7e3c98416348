import NIOCore

/// Called once with a command's reply, on the loop the command was sent from.
public typealias RedisReplyCallback = @Sendable (Result<RedisValue, any Error>) -> Void

/// Whom a command's reply goes to: a promise, or a plain callback.
///
/// The callback exists for the proxy's per-request session check: a future costs an allocation and, because
/// `EventLoopFuture` is generic across a module boundary, runtime metadata look-ups when it is made and freed
/// (about 2k instructions a future in `scripts/callgrind`), on every request.
enum RedisReplyTarget: Sendable {
    case promise(EventLoopPromise<RedisValue>)
    /// Called on the given loop: directly when the reply arrives there, else after a hop.
    case callback(EventLoop, RedisReplyCallback)

    func succeed(_ value: RedisValue) {
        complete(.success(value))
    }

    func fail(_ error: any Error) {
        complete(.failure(error))
    }

    func complete(_ result: Result<RedisValue, any Error>) {
        switch self {
        case .promise(let promise):
            promise.completeWith(result)
        case .callback(let loop, let callback):
            if loop.inEventLoop {
                callback(result)
            } else {
                loop.execute { callback(result) }
            }
        }
    }
}
