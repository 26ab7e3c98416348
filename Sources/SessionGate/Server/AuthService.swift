import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A request to one of the `[auth]` endpoints, with its whole body, as the connection handler hands it over.
struct AuthRequest: Sendable {
    var endpoint: AuthEndpoint
    var method: HTTPMethod
    var headers: HTTPHeaders
    var body: [UInt8]
    var presented: PresentedSession
    /// Resolved through `trusted_proxies`, as forwarded to upstreams.
    var clientAddress: String
}

/// The answer to an `[auth]` request: a status, extra headers (`Set-Cookie`, `Retry-After`, `Allow`) and a JSON body.
struct AuthResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: [(String, String)] = []
    var body: String

    /// A JSON object body (keys sorted, so answers are stable).
    static func json(_ status: HTTPResponseStatus, _ object: [String: Any], headers: [(String, String)] = []) -> AuthResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return AuthResponse(status: status, headers: headers, body: String(decoding: data, as: UTF8.self))
    }

    /// The proxy's usual error shape `{"error", "message"}`.
    static func error(_ response: ErrorResponse) -> AuthResponse {
        AuthResponse(status: response.status, headers: response.extraHeaders, body: response.body)
    }
}

/// The login, logout and session-management endpoints (`[auth]`). Everything here runs off the hot path: it may
/// use Foundation's JSON and `async` calls; the connection handler only collects the body and writes the answer.
///
/// It does not route, proxy or cache; the session checks are the store's, the password checks the verifier's.
final class AuthService: Sendable {
    let configuration: AuthConfiguration
    let session: SessionConfiguration
    let store: SessionStore
    let verifier: CredentialVerifier
    let origins: OriginPolicy
    let clearCookie: String
    let logger: Logger

    init(configuration: AuthConfiguration, session: SessionConfiguration, store: SessionStore, logger: Logger) {
        self.configuration = configuration
        self.session = session
        self.store = store
        switch configuration.backend {
        case .htpasswd(let htpasswd, let users): self.verifier = HtpasswdVerifier(htpasswd: htpasswd, users: users)
        case .authenticator(let endpoint):
            self.verifier = AuthenticatorVerifier(endpoint: endpoint, timeout: configuration.authenticatorTimeout)
        }
        self.origins = OriginPolicy(allowed: configuration.allowedOrigins)
        self.clearCookie = SessionCookie.clearing(session)
        self.logger = logger
    }

    /// The CSRF refusal for a proxied request, or nil: a cookie-authenticated unsafe method must come from an allowed
    /// origin.
    /// The origin check reads the request's bytes only when the cheap checks leave it to decide (a cookie session on
    /// an unsafe method).
    func csrfRefusal(presented: PresentedSession, head: RequestHead) -> ErrorResponse? {
        guard presented.cameFromCookie, OriginPolicy.isUnsafe(head.method), !origins.allows(head) else { return nil }
        return Self.crossOrigin
    }

    static let crossOrigin = ErrorResponse.forbidden(
        "cross-origin request refused: a cookie-authenticated POST, PUT, PATCH or DELETE must come from an allowed Origin")

    /// Answers one request.
    func handle(_ request: AuthRequest, on eventLoop: EventLoop) async -> AuthResponse {
        guard let method = request.endpoint.method else {
            return .error(ErrorResponse(status: .notFound, error: "not_found", message: "no such auth endpoint"))
        }
        guard request.method == method else {
            return .error(ErrorResponse(
                status: .methodNotAllowed, error: "method_not_allowed", message: "this endpoint answers \(method.rawValue) only",
                extraHeaders: [("Allow", method.rawValue)]))
        }
        do {
            switch request.endpoint {
            case .login: return try await login(request, on: eventLoop)
            default: return try await authenticated(request, on: eventLoop)
            }
        } catch is SessionStoreError {
            return .error(.sessionStoreUnavailable)
        } catch {
            logger.warning("auth endpoint failed", metadata: ["error": "\(error)"])
            return .error(.sessionStoreUnavailable)
        }
    }

    /// The endpoints that act for a logged-in user.
    private func authenticated(_ request: AuthRequest, on eventLoop: EventLoop) async throws -> AuthResponse {
        if request.presented.cameFromCookie, OriginPolicy.isUnsafe(request.method), !origins.allows(headers: request.headers) {
            return .error(Self.crossOrigin)
        }
        let token: SessionToken
        switch request.presented {
        case .none: return .error(.unauthorized("a session is required: log in first"))
        case .malformed(let fromCookie): return refuse("the session token is malformed", clearCookie: fromCookie)
        case .token(let presented, _): token = presented
        }
        guard let identity = try await store.validate(token, on: eventLoop).get() else {
            return refuse("the session is unknown or has expired", clearCookie: request.presented.cameFromCookie)
        }
        switch request.endpoint {
        case .logout:
            _ = try await store.destroy(token, userID: identity.userID)
            return .json(.ok, ["logged_out": true], headers: [("Set-Cookie", clearCookie)])
        case .logoutOthers:
            let ended = try await store.destroyOthers(userID: identity.userID, except: token)
            return .json(.ok, ["ended": ended])
        case .sessions:
            let current = token.hashHex
            let sessions = try await store.list(userID: identity.userID).map { summary -> [String: Any] in
                [
                    "handle": summary.handle, "created_at": summary.createdAt, "last_seen_at": summary.lastSeenAt,
                    "expires_at": summary.expiresAt, "ip": summary.clientAddress, "user_agent": summary.userAgent,
                    "current": summary.handle == current,
                ]
            }
            return .json(.ok, ["user_id": identity.userID, "sessions": sessions])
        case .session(let handle):
            guard handle.utf8.count == 64, handle.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
                try await store.revoke(handle: handle, userID: identity.userID)
            else {
                return .error(ErrorResponse(status: .notFound, error: "not_found", message: "you have no live session with this handle"))
            }
            let isCurrent = handle == token.hashHex
            return .json(.ok, ["revoked": true, "current": isCurrent], headers: isCurrent ? [("Set-Cookie", clearCookie)] : [])
        case .me:
            return .json(.ok, [
                "user_id": identity.userID, "username": identity.userName, "roles": identity.roles,
                "expires_at": identity.expiresAt, "absolute_expires_at": identity.absoluteExpiresAt,
            ])
        case .revokeUser(let userID):
            guard identity.roles.contains(configuration.adminRole) else {
                return .error(.forbidden("this endpoint requires the role \(configuration.adminRole)"))
            }
            let ended = try await store.revokeAll(userID: userID)
            logger.notice("sessions revoked by an admin", metadata: ["user_id": "\(userID)", "by": "\(identity.userID)", "ended": "\(ended)"])
            return .json(.ok, ["user_id": userID, "ended": ended])
        case .login, .unknown:
            preconditionFailure("dispatched in handle(_:on:)")
        }
    }

    private func refuse(_ message: String, clearCookie: Bool) -> AuthResponse {
        var response = AuthResponse.error(.unauthorized(message))
        if clearCookie { response.headers.append(("Set-Cookie", self.clearCookie)) }
        return response
    }
}
