import NIOCore
import NIOHTTP1

/// A response the proxy writes itself: always JSON `{"error": "...", "message": "..."}`, never internals.
struct ErrorResponse: Sendable {
    var status: HTTPResponseStatus
    var error: String
    var message: String
    var extraHeaders: [(String, String)] = []

    static func unauthorized(_ message: String) -> ErrorResponse {
        ErrorResponse(status: .unauthorized, error: "unauthorized", message: message)
    }
    static func forbidden(_ message: String) -> ErrorResponse {
        ErrorResponse(status: .forbidden, error: "forbidden", message: message)
    }
    static let notFound = ErrorResponse(status: .notFound, error: "not_found", message: "no route matches this path")
    static func badGateway(_ message: String) -> ErrorResponse {
        ErrorResponse(status: .badGateway, error: "bad_gateway", message: message)
    }
    static func gatewayTimeout(_ message: String) -> ErrorResponse {
        ErrorResponse(status: .gatewayTimeout, error: "gateway_timeout", message: message)
    }
    static let sessionStoreUnavailable = ErrorResponse(
        status: .serviceUnavailable, error: "session_store_unavailable",
        message: "sessions cannot be checked right now; try again shortly", extraHeaders: [("Retry-After", "1")]
    )
    static func badRequest(_ message: String) -> ErrorResponse {
        ErrorResponse(status: .badRequest, error: "bad_request", message: message)
    }

    /// The JSON body.
    var body: String { "{\"error\":\(Self.jsonString(error)),\"message\":\(Self.jsonString(message))}" }

    func head(version: HTTPVersion, keepAlive: Bool, bodyLength: Int) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(bodyLength))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
