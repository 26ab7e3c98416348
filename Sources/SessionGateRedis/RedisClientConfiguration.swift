import NIOCore

/// Where and how ``RedisClient`` connects. A plain value: validate it where it is built, not here.
public struct RedisClientConfiguration: Sendable {
    /// Host name or IP address of the Redis server. Resolved on each connect attempt.
    public var host: String
    /// TCP port of the Redis server, usually 6379.
    public var port: Int
    /// ACL user name (Redis 6+). When set together with ``password`` the client sends `AUTH username password`.
    /// Default: `nil`.
    public var username: String?
    /// Password. When set the client sends `AUTH [username] password` before any other command. Default: `nil`.
    public var password: String?
    /// Logical database. When not 0 the client sends `SELECT database` after `AUTH`. Default: 0.
    public var database: Int
    /// Number of long-lived pipelined connections, spread over the event loops (at least 1). Default: 2.
    public var connections: Int
    /// How long one TCP connect attempt may take before it counts as failed. Default: 500 ms.
    public var connectTimeout: TimeAmount
    /// How long a command may wait for its reply, counted from `send` (so time spent queued while connecting
    /// counts). On expiry the command fails with ``RedisError/timeout`` and the connection is recycled, because
    /// replies after a lost one would be matched to the wrong commands. Default: 500 ms.
    public var commandTimeout: TimeAmount
    /// Delay before the first reconnect after a drop or failed connect; doubled per further failure. Default: 50 ms.
    public var reconnectBackoffInitial: TimeAmount
    /// Upper bound of the reconnect delay. Default: 2 s.
    public var reconnectBackoffMax: TimeAmount

    /// Creates a configuration with the documented defaults for everything not passed.
    /// - Parameters:
    ///   - host: Host name or IP address of the Redis server.
    ///   - port: TCP port of the Redis server.
    ///   - connections: Number of pipelined connections (values below 1 are treated as 1).
    ///   - connectTimeout: Timeout of one connect attempt.
    ///   - commandTimeout: Timeout of one command, from send to reply.
    public init(
        host: String,
        port: Int,
        connections: Int = 2,
        connectTimeout: TimeAmount = .milliseconds(500),
        commandTimeout: TimeAmount = .milliseconds(500)
    ) {
        self.host = host
        self.port = port
        self.username = nil
        self.password = nil
        self.database = 0
        self.connections = connections
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectBackoffInitial = .milliseconds(50)
        self.reconnectBackoffMax = .seconds(2)
    }

    /// The commands pipelined before any user command on a fresh connection: `AUTH` then `SELECT`, as needed.
    var handshakeCommands: [RedisCommand] {
        var commands: [RedisCommand] = []
        if let password {
            if let username {
                commands.append(RedisCommand("AUTH", username, password))
            } else {
                commands.append(RedisCommand("AUTH", password))
            }
        }
        if database != 0 {
            commands.append(RedisCommand("SELECT", String(database)))
        }
        return commands
    }

    /// The reconnect delay policy derived from the two backoff fields.
    var backoff: RedisBackoff {
        RedisBackoff(initial: reconnectBackoffInitial, maximum: reconnectBackoffMax)
    }
}
