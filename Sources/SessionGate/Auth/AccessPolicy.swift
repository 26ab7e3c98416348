/// What to do with a request once its session (if any) is known. Pure: the handler performs the outcome.
enum AccessDecision: Equatable {
    /// Forward, with identity headers when a session was valid.
    case forward(SessionIdentity?)
    /// Refuse with this error; `clearCookie` asks for a `Set-Cookie` that deletes the client's session cookie.
    case refuse(ErrorKind, clearCookie: Bool)

    enum ErrorKind: Equatable {
        case missingSession, malformedSession, unknownSession, missingRole([String]), storeUnavailable
    }
}

/// The route's `auth` and `roles` rules.
enum AccessPolicy {
    /// Whether the store must be asked at all: never for public routes or when no well-formed token was presented.
    static func needsLookup(route: CompiledRoute, presented: PresentedSession) -> SessionToken? {
        guard route.auth != .public, case .token(let token, _) = presented else { return nil }
        return token
    }

    /// The decision for a route when no lookup was made.
    static func decideWithoutLookup(route: CompiledRoute, presented: PresentedSession) -> AccessDecision {
        switch (route.auth, presented) {
        case (.public, _), (.optional, _): return .forward(nil)
        case (.required, .none): return .refuse(.missingSession, clearCookie: false)
        case (.required, .malformed(let fromCookie)): return .refuse(.malformedSession, clearCookie: fromCookie)
        case (.required, .token): preconditionFailure("a presented token on a required route is always looked up")
        }
    }

    /// The decision after the store answered: `identity` nil means unknown or expired.
    static func decide(route: CompiledRoute, presented: PresentedSession, lookup: Result<SessionIdentity?, Error>) -> AccessDecision {
        switch lookup {
        case .failure:
            // Fail closed: without the store nothing is known about the caller, so even an optional route
            // that was shown a token refuses rather than forward it anonymously and surprise the user.
            return .refuse(.storeUnavailable, clearCookie: false)
        case .success(nil):
            if route.auth == .optional { return .forward(nil) }
            return .refuse(.unknownSession, clearCookie: presented.cameFromCookie)
        case .success(let identity?):
            let missing = route.roles.filter { !identity.roles.contains($0) }
            guard missing.isEmpty else { return .refuse(.missingRole(missing), clearCookie: false) }
            return .forward(identity)
        }
    }
}
