import Foundation
import NIOHTTP1
import Testing

@testable import SessionGate

@Suite("ErrorResponse")
struct ErrorResponseTests {
    /// The body parsed as JSON: it must be an object with exactly the keys `error` and `message`, both strings.
    private func parse(_ response: ErrorResponse) throws -> (error: String, message: String) {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8))
        let dictionary = try #require(object as? [String: Any], "not a JSON object: \(response.body)")
        #expect(Set(dictionary.keys) == ["error", "message"])
        return (try #require(dictionary["error"] as? String), try #require(dictionary["message"] as? String))
    }

    @Test func everyResponseIsAJSONObjectWithErrorAndMessage() throws {
        let responses: [(ErrorResponse, HTTPResponseStatus, String)] = [
            (.unauthorized("log in"), .unauthorized, "unauthorized"), (.forbidden("no"), .forbidden, "forbidden"),
            (.notFound, .notFound, "not_found"), (.badGateway("refused"), .badGateway, "bad_gateway"),
            (.gatewayTimeout("slow"), .gatewayTimeout, "gateway_timeout"),
            (.sessionStoreUnavailable, .serviceUnavailable, "session_store_unavailable"),
            (.badRequest("bad"), .badRequest, "bad_request"),
        ]
        for (response, status, error) in responses {
            #expect(response.status == status)
            let body = try parse(response)
            #expect(body.error == error)
            #expect(body.message == response.message)
        }
    }

    @Test func quotesBackslashesAndControlCharactersAreEscaped() throws {
        let nasty = "say \"hi\" \\ C:\\path\nnext\r\tend \u{0}\u{1}\u{8}\u{c}\u{1b}\u{1f} é ✓ 🙂 \u{7f} </script>"
        let response = ErrorResponse.badRequest(nasty)
        print(response.body)
        let body = try parse(response)
        #expect(body.message == nasty)
        #expect(body.error == "bad_request")
        // Raw control characters never appear in the body.
        #expect(!response.body.unicodeScalars.contains { $0.value < 0x20 })
        #expect(response.body.contains(#"\u001b"#))
    }

    @Test func jsonStringEscapes() {
        #expect(ErrorResponse.jsonString("a\"b") == #""a\"b""#)
        #expect(ErrorResponse.jsonString("a\\b") == #""a\\b""#)
        #expect(ErrorResponse.jsonString("\n\r\t") == #""\n\r\t""#)
        #expect(ErrorResponse.jsonString("\u{1}\u{1f}") == #""\u0001\u001f""#)
        #expect(ErrorResponse.jsonString("") == #""""#)
    }

    @Test func headDescribesTheBody() {
        let response = ErrorResponse.sessionStoreUnavailable
        let length = response.body.utf8.count
        let head = response.head(version: .http1_1, keepAlive: false, bodyLength: length)
        #expect(head.status == .serviceUnavailable)
        #expect(head.headers["Content-Type"] == ["application/json"])
        #expect(head.headers["Content-Length"] == [String(length)])
        #expect(head.headers["Cache-Control"] == ["no-store"])
        #expect(head.headers["Retry-After"] == ["1"])
        #expect(head.headers["Connection"] == ["close"])

        let keepAlive = ErrorResponse.notFound.head(version: .http1_1, keepAlive: true, bodyLength: 3)
        #expect(keepAlive.headers["Connection"].isEmpty)
        #expect(keepAlive.headers["Retry-After"].isEmpty)
    }
}
