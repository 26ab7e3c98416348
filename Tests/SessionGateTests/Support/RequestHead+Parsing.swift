import NIOCore
import NIOHTTP1

@testable import SessionGate

extension RequestHead {
    /// A head as the proxy parses it off the wire. An HTTP/1.1 head without `Host` gets `Host: test`, which HTTP/1.1
    /// requires (the parser refuses the head otherwise).
    static func parsing(
        _ headers: [(String, String)], method: String = "GET", uri: String = "/", version: HTTPVersion = .http1_1
    ) throws -> RequestHead {
        var headers = headers
        if version.minor >= 1, !headers.contains(where: { $0.0.lowercased() == "host" }) {
            headers.insert(("Host", "test"), at: 0)
        }
        var text = "\(method) \(uri) HTTP/\(version.major).\(version.minor)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return try ClientRequestParser.parseHead(ByteBuffer(string: text))
    }
}
