/// Who a valid session belongs to, as forwarded to upstreams.
public struct SessionIdentity: Sendable, Hashable {
    public var userID: String
    public var userName: String
    public var roles: [String]
    /// When the session will expire if unused (milliseconds since the epoch): the sliding expiry, never later than
    /// ``absoluteExpiresAt``.
    public var expiresAt: Int64
    /// When the session ends however active it is (milliseconds since the epoch).
    public var absoluteExpiresAt: Int64

    public init(userID: String, userName: String, roles: [String], expiresAt: Int64, absoluteExpiresAt: Int64) {
        self.userID = userID
        self.userName = userName
        self.roles = roles
        self.expiresAt = expiresAt
        self.absoluteExpiresAt = absoluteExpiresAt
    }

    /// True when every role in `required` is held.
    public func hasRoles(_ required: [String]) -> Bool { required.allSatisfy(roles.contains) }

    /// True when a value may be sent as an HTTP header value as it is: no control characters (CR and LF above all)
    /// and no DEL. ``NewSession`` refuses anything else, and values read back from a store are checked again, so the
    /// upstream connection's encoder need not validate every header of every request.
    static func isHeaderSafe(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in bytes.allSatisfy { $0 >= 0x20 && $0 != 0x7f } }
    }
}

/// What to create a session for.
public struct NewSession: Sendable {
    public var userID: String
    public var userName: String
    public var roles: [String]

    /// - Throws: ``SessionStoreError/invalidInput(_:)`` when a value could not travel safely in an HTTP header.
    public init(userID: String, userName: String, roles: [String]) throws {
        guard !userID.isEmpty else { throw SessionStoreError.invalidInput("the user ID is empty") }
        for (what, value) in [("user ID", userID), ("user name", userName)] + roles.map({ ("role", $0) }) {
            guard SessionIdentity.isHeaderSafe(value) else {
                throw SessionStoreError.invalidInput("the \(what) \(value.debugDescription) holds control characters")
            }
        }
        for role in roles where role.isEmpty || role.contains(",") || role.contains(" ") {
            throw SessionStoreError.invalidInput("the role \(role.debugDescription) is empty or holds a comma or space")
        }
        self.userID = userID
        self.userName = userName
        self.roles = roles
    }
}

/// A session just created: the token is shown once, to its owner, and never stored.
public struct CreatedSession: Sendable {
    public var token: SessionToken
    public var identity: SessionIdentity
}

/// Why a store could not answer.
public enum SessionStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store cannot be reached: fail closed (503).
    case unavailable(String)
    /// The request to create something was malformed.
    case invalidInput(String)
    /// The store does not support this operation from here (e.g. the memory store from another process).
    case unsupported(String)

    public var description: String {
        switch self {
        case .unavailable(let why): return "session store unavailable: \(why)"
        case .invalidInput(let why): return "invalid input: \(why)"
        case .unsupported(let why): return why
        }
    }
}
