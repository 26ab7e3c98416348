/// Why a Redis command did not produce a value.
///
/// A struct wrapping a private enum (the `NIOHTTPObjectAggregatorError` pattern) so that cases can be added
/// without breaking callers who `switch`. Compare with `==` against the static members, or use
/// ``isServerError`` / ``serverMessage`` for replies from Redis itself.
///
/// The proxy maps everything except a server error to "Redis cannot answer" (503, fail closed): these errors say
/// nothing about the session, only that the store is unreachable.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Hashable {
        case connectionUnavailable
        case connectionClosed
        case timeout
        case server(String)
        case protocolError(String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The connection is not usable right now: not started, in reconnect backoff, the connect attempt failed, or
    /// the client was shut down. Returned at once, so callers can fail fast instead of piling up.
    public static let connectionUnavailable = RedisError(.connectionUnavailable)

    /// The connection closed while the command was in flight; it may or may not have been executed.
    public static let connectionClosed = RedisError(.connectionClosed)

    /// No reply arrived within ``RedisClientConfiguration/commandTimeout``; it may or may not have been executed.
    public static let timeout = RedisError(.timeout)

    /// Redis answered with an error reply, for example `ERR ...`, `NOSCRIPT ...`, `WRONGPASS ...`.
    /// - Parameter message: The error text as Redis sent it, prefix included.
    public static func server(_ message: String) -> RedisError {
        RedisError(.server(message))
    }

    /// The bytes from the server were not valid RESP (as judged by hiredis's reader); the connection is closed.
    /// - Parameter message: hiredis's description of the problem.
    public static func protocolError(_ message: String) -> RedisError {
        RedisError(.protocolError(message))
    }

    /// Whether Redis itself rejected the command (as opposed to a transport problem).
    public var isServerError: Bool {
        serverMessage != nil
    }

    /// The error reply's text when ``isServerError``, otherwise `nil`.
    public var serverMessage: String? {
        if case .server(let message) = base {
            return message
        }
        return nil
    }

    public var description: String {
        switch base {
        case .connectionUnavailable:
            return "Redis connection unavailable"
        case .connectionClosed:
            return "Redis connection closed with the command in flight"
        case .timeout:
            return "Redis command timed out"
        case .server(let message):
            return "Redis error reply: \(message)"
        case .protocolError(let message):
            return "Redis protocol error: \(message)"
        }
    }
}
