import NIOCore

/// Where sessions live: Redis in production, process memory for development.
///
/// Every store gives the same semantics: a session expires `idle_timeout` after its last use, and never later than
/// `absolute_timeout` after its creation; validation refreshes the sliding expiry in the same step.
public protocol SessionStore: Sendable {
    /// Looks the session up and, if it is valid, moves its sliding expiry, in one round trip.
    /// - Returns: the identity, or nil for an unknown or expired session. Fails with
    ///   ``SessionStoreError/unavailable(_:)`` when the store cannot answer.
    func validate(_ token: SessionToken, on eventLoop: EventLoop) -> EventLoopFuture<SessionIdentity?>

    /// Creates a session with a fresh random token.
    func create(_ session: NewSession) async throws -> CreatedSession

    /// Ends every session of a user. - Returns: how many were ended.
    func revokeAll(userID: String) async throws -> Int
}
