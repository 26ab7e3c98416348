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

    /// Creates a session with a fresh random token, recording the device, within the user's session limit, in one
    /// atomic step (see SessionStore+Lifecycle.swift for the lifecycle operations).
    /// - Throws: ``SessionLimitReached`` when `limit` says reject and the user is at it.
    func create(_ session: NewSession, device: SessionDevice, limit: SessionLimit?) async throws -> CreatedSession

    /// Ends one session and removes it from its user's index. - Returns: whether it existed.
    func destroy(_ token: SessionToken, userID: String) async throws -> Bool

    /// Ends every session of `userID` except `kept`. - Returns: how many were ended.
    func destroyOthers(userID: String, except kept: SessionToken) async throws -> Int

    /// The user's live sessions, oldest first (expired index entries are pruned on the way).
    func list(userID: String) async throws -> [SessionSummary]

    /// Ends the session with `handle` if it belongs to `userID`. - Returns: whether one was ended.
    func revoke(handle: String, userID: String) async throws -> Bool

    /// Counts one login attempt against each counter (before the password is checked, so concurrent attempts on
    /// any instance count). - Returns: milliseconds until a retry is allowed when any counter is over its limit.
    func countLoginAttempt(_ counters: [LoginCounter]) async throws -> Int64?

    /// After a successful login: forgets `resetting` and takes this attempt back from `refunding`.
    func loginSucceeded(resetting: String, refunding: String) async throws

    /// Ends every session of a user. - Returns: how many were ended.
    func revokeAll(userID: String) async throws -> Int

    /// As ``validate(_:on:)``, without a future (the proxy's hot path). A near-cache hit is returned as
    /// ``SessionLookup/known(_:)`` and `makeCallback` is never called, so nothing is allocated. Otherwise the answer
    /// is ``SessionLookup/pending`` and the callback `makeCallback` builds gets the result once, on `eventLoop`,
    /// possibly before this returns.
    func validate(
        _ token: SessionToken, on eventLoop: EventLoop, makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup

    /// ``validate(_:on:makeCallback:)`` for a client connection that keeps `memo` from one request to the next: a
    /// store does not hash a token again that the connection presented last time, to find a cached session by its
    /// fingerprint (``CachingSessionStore``) or to make its Redis key (``RedisSessionStore``).
    func validate(
        _ token: SessionToken, memo: SessionLookupMemo, on eventLoop: EventLoop,
        makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup
}

/// Called once with a session check's answer: the identity, nil for no session, or
/// ``SessionStoreError/unavailable(_:)``.
public typealias SessionLookupCallback = @Sendable (Result<SessionIdentity?, any Error>) -> Void

/// A session check's answer: known now (from memory), or coming to the callback.
public enum SessionLookup: Sendable {
    /// The identity, or nil for no session.
    case known(SessionIdentity?)
    case pending
}

extension SessionStore {
    /// Stores without a near-cache or a callback path of their own go through ``validate(_:on:)``'s future.
    public func validate(
        _ token: SessionToken, on eventLoop: EventLoop, makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        validate(token, on: eventLoop).hop(to: eventLoop).whenComplete(makeCallback())
        return .pending
    }

    /// Stores that hash nothing per request ignore the memo.
    public func validate(
        _ token: SessionToken, memo: SessionLookupMemo, on eventLoop: EventLoop,
        makeCallback: () -> SessionLookupCallback
    ) -> SessionLookup {
        validate(token, on: eventLoop, makeCallback: makeCallback)
    }
}
