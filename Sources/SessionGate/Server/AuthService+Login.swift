import NIOCore
import NIOHTTP1

extension AuthService {
    /// `POST <prefix>/login`: throttle, check the credentials, end any pre-login session, create a new one.
    ///
    /// Wrong password and unknown user give the same 401 body (and take the same time: see ``HtpasswdVerifier``).
    /// Attempts are counted per user name and per client address before the password is checked, so the limit holds
    /// across instances and concurrent attempts; a successful login resets the user's count and takes its attempt
    /// back from the address's.
    func login(_ request: AuthRequest, on eventLoop: EventLoop) async throws -> AuthResponse {
        // Login CSRF: a page on another site must not log the browser into an account of its choosing. Clients
        // that send neither Origin nor Referer (curl, API clients) are not browsers acting for another site.
        let fromBrowserPage = request.headers.contains(name: "origin") || request.headers.contains(name: "referer")
        if fromBrowserPage || request.presented.cameFromCookie, !origins.allows(headers: request.headers) {
            return .error(Self.crossOrigin)
        }
        let credentials: LoginCredentials
        switch LoginCredentials.parse(contentType: request.headers.first(name: "content-type"), body: request.body) {
        case .success(let parsed): credentials = parsed
        case .failure(.malformed(let why)): return .error(.badRequest(why))
        case .failure(.unsupportedMediaType(let type)):
            return .error(ErrorResponse(
                status: .unsupportedMediaType, error: "unsupported_media_type",
                message: "send application/json or application/x-www-form-urlencoded (got \(type ?? "no Content-Type"))"))
        }
        let userCounter = "u:" + Crypto.sha256Hex(credentials.username)
        let addressCounter = "ip:" + request.clientAddress
        let windowMs = configuration.failedLoginWindow.nanoseconds / 1_000_000
        if let waitMs = try await store.countLoginAttempt([
            LoginCounter(key: userCounter, limit: configuration.maxFailedLoginsPerUser, windowMs: windowMs),
            LoginCounter(key: addressCounter, limit: configuration.maxFailedLoginsPerIP, windowMs: windowMs),
        ]) {
            let seconds = max(1, (waitMs + 999) / 1000)
            return .json(
                .tooManyRequests,
                ["error": "too_many_requests", "message": "too many failed logins; try again later", "retry_after": seconds],
                headers: [("Retry-After", String(seconds))])
        }
        let user: VerifiedUser
        do {
            guard let verified = try await verifier.verify(credentials, on: eventLoop) else {
                return .error(.unauthorized("the user name or password is wrong"))
            }
            user = verified
        } catch let error as CredentialBackendUnavailable {
            logger.warning("credential backend unavailable", metadata: ["error": "\(error)"])
            return .error(ErrorResponse(
                status: .serviceUnavailable, error: "credential_backend_unavailable",
                message: "credentials cannot be checked right now; try again shortly", extraHeaders: [("Retry-After", "1")]))
        }
        let newSession: NewSession
        do {
            newSession = try NewSession(userID: user.userID, userName: user.userName, roles: user.roles)
        } catch {
            return .error(.badGateway("the credential backend returned an unusable user: \(error)"))
        }
        // Session fixation: whatever session the client came with ends; the new one has a fresh random token.
        if case .token(let old, _) = request.presented, let oldIdentity = try await store.validate(old, on: eventLoop).get() {
            _ = try await store.destroy(old, userID: oldIdentity.userID)
        }
        let limit = configuration.maxSessionsPerUser > 0
            ? SessionLimit(maxSessions: configuration.maxSessionsPerUser, action: configuration.onLimit) : nil
        let device = SessionDevice(
            clientAddress: request.clientAddress, userAgent: String((request.headers.first(name: "user-agent") ?? "").prefix(512)))
        let created: CreatedSession
        do {
            created = try await store.create(newSession, device: device, limit: limit)
        } catch is SessionLimitReached {
            return .error(ErrorResponse(
                status: .conflict, error: "session_limit",
                message: "this user already has \(configuration.maxSessionsPerUser) active sessions; log out elsewhere first"))
        }
        try await store.loginSucceeded(resetting: userCounter, refunding: addressCounter)
        let identity = created.identity
        let maxAge = session.absoluteTimeout.nanoseconds / 1_000_000_000
        return .json(
            .ok,
            [
                "user": ["id": identity.userID, "name": identity.userName, "roles": identity.roles],
                "expires_at": identity.expiresAt, "absolute_expires_at": identity.absoluteExpiresAt,
                "token": created.token.rawValue,
            ],
            headers: [("Set-Cookie", SessionCookie.setting(created.token, maxAgeSeconds: maxAge, session))])
    }
}
