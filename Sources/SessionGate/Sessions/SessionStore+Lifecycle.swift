/// The device a session was created from, recorded with it for the session list.
public struct SessionDevice: Sendable, Equatable {
    /// The client address (resolved through `trusted_proxies`).
    public var clientAddress: String
    public var userAgent: String

    public init(clientAddress: String, userAgent: String) {
        self.clientAddress = clientAddress
        self.userAgent = userAgent
    }

    /// For sessions made outside a request (`sessiongate session create`).
    public static let unknown = SessionDevice(clientAddress: "", userAgent: "")
}

/// `max_sessions_per_user` and `on_limit`.
public struct SessionLimit: Sendable, Equatable {
    public var maxSessions: Int
    public var action: SessionLimitAction

    public init(maxSessions: Int, action: SessionLimitAction) {
        self.maxSessions = maxSessions
        self.action = action
    }
}

/// A login refused because the user has `max_sessions_per_user` live sessions and `on_limit = "reject"`.
public struct SessionLimitReached: Error, Sendable, Equatable {}

/// One session as its owner sees it in the session list: never the token.
public struct SessionSummary: Sendable, Equatable {
    /// Opaque: the SHA-256 of the token (hex), which is also its Redis key suffix. Cannot be turned back into the token.
    public var handle: String
    /// Milliseconds since the epoch.
    public var createdAt: Int64
    /// The last validation that wrote to the store: exact with the plain Redis and memory stores, within
    /// `refresh_interval` with the near-cache.
    public var lastSeenAt: Int64
    /// The current sliding expiry.
    public var expiresAt: Int64
    public var clientAddress: String
    public var userAgent: String
}

/// A failed-login counter: `key` (without the store's prefix), the failures allowed in `windowMs`.
public struct LoginCounter: Sendable, Equatable {
    public var key: String
    public var limit: Int
    public var windowMs: Int64

    public init(key: String, limit: Int, windowMs: Int64) {
        self.key = key
        self.limit = limit
        self.windowMs = windowMs
    }
}

extension SessionStore {
    /// Creates a session with no device information and no limit (the command line's `session create`).
    public func create(_ session: NewSession) async throws -> CreatedSession {
        try await create(session, device: .unknown, limit: nil)
    }
}
