import Foundation
import NIOCore

/// `authenticator`: a team's own user service checks the password; SessionGate only keeps the session.
///
/// Sends `POST <path>` with `{"username": "...", "password": "..."}`. 200 with `{"user_id", "username", "roles"}`
/// is a login; 401 or 403 are wrong credentials; anything else, a malformed 200, a refused connection or a timeout
/// fail closed (``CredentialBackendUnavailable``, answered 503).
struct AuthenticatorVerifier: CredentialVerifier {
    let endpoint: AuthenticatorEndpoint
    let timeout: TimeAmount

    func verify(_ credentials: LoginCredentials, on eventLoop: EventLoop) async throws -> VerifiedUser? {
        let body = try JSONSerialization.data(withJSONObject: ["username": credentials.username, "password": credentials.password])
        let response: OneShotHTTPClient.Response
        do {
            response = try await OneShotHTTPClient.post(
                host: endpoint.host, port: endpoint.port, path: endpoint.path, json: Array(body), timeout: timeout,
                on: eventLoop)
        } catch {
            throw CredentialBackendUnavailable(description: "the authenticator cannot be reached: \(error)")
        }
        switch response.status {
        case 200:
            guard var user = Self.user(fromJSON: response.body) else {
                throw CredentialBackendUnavailable(description: "the authenticator's 200 answer is not {\"user_id\",\"username\",\"roles\"}")
            }
            if user.userName.isEmpty { user.userName = credentials.username }
            return user
        case 401, 403:
            return nil
        default:
            throw CredentialBackendUnavailable(description: "the authenticator answered \(response.status)")
        }
    }

    /// `{"user_id": "...", "username": "...", "roles": ["..."]}`; `username` and `roles` may be omitted.
    static func user(fromJSON body: [UInt8]) -> VerifiedUser? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let userID = object["user_id"] as? String, !userID.isEmpty
        else { return nil }
        let roles = object["roles"].map { $0 as? [String] } ?? []
        guard let roles else { return nil }
        return VerifiedUser(userID: userID, userName: object["username"] as? String ?? "", roles: roles)
    }
}
