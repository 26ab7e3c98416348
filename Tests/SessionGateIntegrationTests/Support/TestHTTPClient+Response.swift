import Foundation
import NIOCore

/// One HTTP response as a test sees it.
struct TestResponse: Sendable {
    /// The status code, for example 200.
    let status: Int
    /// The response headers, as received and in order.
    let headers: [(String, String)]
    /// The body; empty when it was only counted (`TestHTTPClient.download`).
    let body: ByteBuffer
    /// How many body bytes arrived (equal to `body.readableBytes` unless the body was only counted).
    let bodyByteCount: Int

    /// The body decoded as UTF-8 (invalid sequences replaced).
    var bodyString: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    /// The first value of the header `name`, compared case-insensitively, or nil.
    func header(_ name: String) -> String? {
        headers(named: name).first
    }

    /// Every value of the header `name`, compared case-insensitively, in order.
    func headers(named name: String) -> [String] {
        let name = name.lowercased()
        return headers.filter { $0.0.lowercased() == name }.map(\.1)
    }

    /// The body parsed as a JSON object.
    ///
    /// - Throws: `TestHTTPClientError.notAJSONObject` with the body text if it is not one.
    func json() throws -> [String: Any] {
        let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        guard let dictionary = object as? [String: Any] else {
            throw TestHTTPClientError.notAJSONObject(status: status, body: String(bodyString.prefix(500)))
        }
        return dictionary
    }
}

/// Why a `TestHTTPClient` call failed.
enum TestHTTPClientError: Error, CustomStringConvertible {
    /// The call did not finish in time; the connection was closed.
    case timedOut(operation: String, after: Duration)
    /// The server closed the connection before the response was complete.
    case connectionClosed(operation: String)
    /// A `download(verifyPattern: true)` body differed from `TestBodyPattern` in the chunk starting at `offset`.
    case bodyMismatch(uri: String, offset: Int)
    /// The server sent a response nobody asked for.
    case unexpectedResponse(status: Int)
    /// `TestResponse.json()` found no JSON object.
    case notAJSONObject(status: Int, body: String)

    var description: String {
        switch self {
        case .timedOut(let operation, let after):
            "TestHTTPClient: \(operation) timed out after \(after)"
        case .connectionClosed(let operation):
            "TestHTTPClient: the server closed the connection before answering \(operation)"
        case .bodyMismatch(let uri, let offset):
            "TestHTTPClient: body of \(uri) differs from the test pattern in the chunk at offset \(offset)"
        case .unexpectedResponse(let status):
            "TestHTTPClient: received a \(status) response with no request outstanding"
        case .notAJSONObject(let status, let body):
            "TestHTTPClient: \(status) response body is not a JSON object: \(body)"
        }
    }
}
