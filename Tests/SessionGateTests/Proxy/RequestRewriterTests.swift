import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import SessionGate

@Suite("RequestRewriter")
struct RequestRewriterTests {
    let rewriter = RequestRewriter(identity: IdentityConfiguration(), session: SessionConfiguration())
    static let alice = SessionIdentity(
        userID: "42", userName: "alice", roles: ["admin", "user"], expiresAt: 0, absoluteExpiresAt: 0)

    private func rewrite(
        _ headers: [(String, String)], identity: SessionIdentity? = nil, version: HTTPVersion = .http1_1,
        method: HTTPMethod = .GET, uri: String = "/api/orders?id=1", using rewriter: RequestRewriter? = nil
    ) -> HTTPRequestHead {
        let client = try! RequestHead.parsing(headers, method: method.rawValue, uri: uri, version: version)
        let context = RequestRewriter.Context(
            peerAddress: "192.0.2.10", clientAddress: "203.0.113.7", requestID: "req-1", identity: identity)
        var written = ByteBuffer()
        (rewriter ?? self.rewriter).upstreamHead(for: client, context: context, into: &written)
        return Self.parse(written)
    }

    /// Reads back the head the rewriter wrote: request line, then `name: value` lines up to the blank line.
    static func parse(_ bytes: ByteBuffer) -> HTTPRequestHead {
        let text = String(buffer: bytes)
        #expect(text.hasSuffix("\r\n\r\n"), "the head ends with a blank line")
        var lines = text.components(separatedBy: "\r\n").dropLast(2)
        let requestLine = lines.removeFirst().split(separator: " ")
        #expect(requestLine.count == 3 && requestLine[2] == "HTTP/1.1")
        let headers = lines.map { line -> (String, String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...].dropFirst()))
        }
        return HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: String(requestLine[0])), uri: String(requestLine[1]),
            headers: HTTPHeaders(headers))
    }

    static let spoofedIdentity = [
        ("X-User-ID", "1"), ("x-user-id", "2"), ("X-ROLES", "admin"), ("x-roles", "root"), ("X-User-Name", "mallory"),
        ("x-USER-name", "root"),
    ]

    // MARK: Identity

    @Test func clientIdentityHeadersAreRemovedFromAnonymousRequests() {
        let head = rewrite(Self.spoofedIdentity + [("Accept", "text/html")])
        #expect(head.headers["X-User-ID"].isEmpty)
        #expect(head.headers["X-Roles"].isEmpty)
        #expect(head.headers["X-User-Name"].isEmpty)
        #expect(head.headers["Accept"] == ["text/html"])
    }

    @Test func onlyTheProxysIdentityArrivesOnce() {
        let head = rewrite(Self.spoofedIdentity, identity: Self.alice)
        #expect(head.headers["X-User-ID"] == ["42"])
        #expect(head.headers["X-User-Name"] == ["alice"])
        #expect(head.headers["X-Roles"] == ["admin,user"])
    }

    @Test func configuredIdentityHeaderNamesAreTheOnesStripped() {
        var identity = IdentityConfiguration()
        identity.userIDHeader = "X-Auth-User"
        identity.rolesHeader = "X-Auth-Roles"
        identity.userNameHeader = "X-Auth-Name"
        let rewriter = RequestRewriter(identity: identity, session: SessionConfiguration())
        let head = rewrite(
            [("x-auth-user", "1"), ("X-AUTH-ROLES", "admin"), ("X-Auth-Name", "root")], identity: Self.alice, using: rewriter)
        #expect(head.headers["X-Auth-User"] == ["42"])
        #expect(head.headers["X-Auth-Roles"] == ["admin,user"])
        #expect(head.headers["X-Auth-Name"] == ["alice"])
    }

    // MARK: The session token never reaches the upstream

    @Test func sessionHeaderIsRemoved() {
        let head = rewrite([("X-Session-ID", "token-a"), ("x-session-id", "token-b")], identity: Self.alice)
        #expect(head.headers["X-Session-ID"].isEmpty)
    }

    @Test func sessionCookieIsRemovedAndOtherCookiesKept() {
        let head = rewrite([("Cookie", "theme=dark; session_id=abc; lang=en")])
        #expect(head.headers["Cookie"] == ["theme=dark; lang=en"])

        let tight = rewrite([("Cookie", "session_id=abc;theme=dark")])
        #expect(tight.headers["Cookie"] == ["theme=dark"])

        let lookalikes = rewrite([("Cookie", "my_session_id=1; session_id_old=2; session_id=abc")])
        #expect(lookalikes.headers["Cookie"] == ["my_session_id=1; session_id_old=2"])
    }

    @Test func cookieHeaderHoldingOnlyTheSessionCookieIsDropped() {
        let alone = rewrite([("Cookie", "session_id=abc")])
        #expect(alone.headers["Cookie"].isEmpty)

        let twoHeaders = rewrite([("Cookie", "session_id=abc"), ("cookie", "theme=dark")])
        #expect(twoHeaders.headers["Cookie"] == ["theme=dark"])
    }

    @Test func sessionCookieIsRemovedWhateverTheSeparator() {
        // Found with `,` as well as `;` between pairs (see CookieHeader), so removed with either.
        #expect(rewrite([("Cookie", "a=1, session_id=abc, b=2")]).headers["Cookie"] == ["a=1, b=2"])
        #expect(rewrite([("Cookie", "session_id=abc,theme=dark")]).headers["Cookie"] == ["theme=dark"])
        #expect(rewrite([("Cookie", " session_id = \"abc\" ;x=1")]).headers["Cookie"] == ["x=1"])
        #expect(rewrite([("Cookie", "session_id=a; x=1; session_id=b")]).headers["Cookie"] == ["x=1"])
        // What is kept is kept as sent, separators included.
        #expect(rewrite([("Cookie", "a=x,y; session_id=abc")]).headers["Cookie"] == ["a=x,y"])
        #expect(rewrite([("Cookie", "a=1;;session_id=abc;b=2")]).headers["Cookie"] == ["a=1;b=2"])
        // Cookie names are case-sensitive: this is not the session cookie (the extractor ignores it too).
        #expect(rewrite([("Cookie", "Session_ID=abc")]).headers["Cookie"] == ["Session_ID=abc"])
    }

    @Test func cookiesWithoutTheSessionPassUntouched() {
        let head = rewrite([("Cookie", "theme=dark;lang=en")])
        #expect(head.headers["Cookie"] == ["theme=dark;lang=en"])
    }

    // MARK: Hop-by-hop

    @Test func hopByHopHeadersAndThoseNamedInConnectionAreRemoved() {
        let head = rewrite([
            ("Connection", "keep-alive, X-Debug"), ("connection", "x-trace"), ("Keep-Alive", "timeout=5"), ("TE", "trailers"),
            ("Upgrade", "websocket"), ("Proxy-Connection", "keep-alive"),
            ("Expect", "100-continue"), ("X-Debug", "1"), ("X-Trace", "abc"), ("Accept", "*/*"),
        ])
        for name in ["Connection", "Keep-Alive", "TE", "Upgrade", "Proxy-Connection", "Expect", "X-Debug", "X-Trace"] {
            #expect(head.headers[name].isEmpty, "\(name) was forwarded")
        }
        #expect(head.headers["Accept"] == ["*/*"])
    }

    @Test func chunkedRequestsKeepTheirFraming() {
        let head = rewrite([("Transfer-Encoding", "chunked"), ("Connection", "keep-alive")], method: .POST)
        #expect(head.headers["Transfer-Encoding"] == ["chunked"])

        let mixedCase = rewrite([("transfer-encoding", "Chunked")], method: .POST)
        #expect(mixedCase.headers["Transfer-Encoding"] == ["chunked"])

        let fixedLength = rewrite([("Content-Length", "5")], method: .POST)
        #expect(fixedLength.headers["Content-Length"] == ["5"])
        #expect(fixedLength.headers["Transfer-Encoding"].isEmpty)
    }

    // MARK: Forwarding headers

    @Test func forwardedForAppendsThePeerToTheClientsChain() {
        let head = rewrite([("X-Forwarded-For", "198.51.100.1, 10.0.0.2"), ("x-forwarded-for", "10.0.0.3")])
        #expect(head.headers["X-Forwarded-For"] == ["198.51.100.1, 10.0.0.2, 10.0.0.3, 192.0.2.10"])

        let direct = rewrite([])
        #expect(direct.headers["X-Forwarded-For"] == ["192.0.2.10"])
    }

    @Test func forwardedProtoHostAndRealIPReplaceTheClientsCopies() {
        let head = rewrite([
            ("Host", "shop.example"), ("X-Forwarded-Proto", "https"), ("x-forwarded-host", "evil.example"),
            ("X-Real-IP", "6.6.6.6"),
        ])
        #expect(head.headers["X-Forwarded-Proto"] == ["http"])
        #expect(head.headers["X-Forwarded-Host"] == ["shop.example"])
        #expect(head.headers["X-Real-IP"] == ["203.0.113.7"])
        #expect(head.headers["Host"] == ["shop.example"])

        let noHost = rewrite([("X-Forwarded-Host", "evil.example")], version: .http1_0)
        #expect(noHost.headers["X-Forwarded-Host"].isEmpty)
    }

    @Test func requestIDComesFromTheContext() {
        let head = rewrite([("X-Request-ID", "client-chosen"), ("x-request-id", "another")])
        #expect(head.headers["X-Request-ID"] == ["req-1"])
    }

    // MARK: The request line

    @Test func versionIsForcedToHTTP11AndTheRequestLineKept() {
        let head = rewrite([("Accept", "*/*")], version: .http1_0, method: .DELETE, uri: "/api/orders/7?force=1")
        #expect(head.version == .http1_1)
        #expect(head.method == .DELETE)
        #expect(head.uri == "/api/orders/7?force=1")
    }

    @Test func endToEndHeadersKeepTheirOrderAndSpelling() {
        let head = rewrite([("Host", "shop.example"), ("accept", "*/*"), ("Authorization", "Bearer x"), ("X-Custom", "a"), ("X-Custom", "b")])
        let names = head.headers.map(\.name)
        #expect(Array(names.prefix(5)) == ["Host", "accept", "Authorization", "X-Custom", "X-Custom"])
        #expect(head.headers["X-Custom"] == ["a", "b"])
    }

    // MARK: Request IDs

    /// A generated ID is written as bytes into the upstream head; it must read as its text does.
    @Test func generatedRequestIDsWriteAsTheirText() {
        for number: UInt64 in [0, 1, 9, 10, 15, 16, 255, 4096, 0xdead_beef, .max] {
            let id = RequestID(prefix: "a1b2c3d4e5f60-", number: number)
            var buffer = ByteBuffer()
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: id.maxLength) { memory in
                var writer = RawWriter(memory)
                id.write(into: &writer)
                return writer.count
            }
            #expect(String(buffer: buffer) == "a1b2c3d4e5f60-" + String(number, radix: 16))
            #expect(id.text == "a1b2c3d4e5f60-" + String(number, radix: 16))
        }
        let client = RequestID(client: "trace_01.span:7-x")
        #expect(client.text == "trace_01.span:7-x")
    }

    /// Pieces of every length up to past the word-copy sizes land whole, in order, and the bytes after them are
    /// left alone.
    @Test func rawWriterCopiesPiecesOfEveryLength() {
        let pieces = (0...40).map { length in (0..<length).map { UInt8(truncatingIfNeeded: 0x41 + (length + $0) % 26) } }
        let expected = pieces.flatMap { $0 }
        var memory = [UInt8](repeating: 0xee, count: expected.count + 8)
        let written = memory.withUnsafeMutableBytes { memory in
            var writer = RawWriter(memory)
            for piece in pieces { piece.withUnsafeBytes { writer.append($0) } }
            writer.append("")
            writer.append("\r\n")
            return writer.count
        }
        #expect(written == expected.count + 2)
        #expect(Array(memory[..<expected.count]) == expected)
        #expect(Array(memory[expected.count...]) == [13, 10] + [UInt8](repeating: 0xee, count: 6))
    }

    @Test func wellFormedRequestIDs() {
        #expect(RequestRewriter.isWellFormedRequestID(UUID().uuidString))
        #expect(RequestRewriter.isWellFormedRequestID(UUID().uuidString.lowercased()))
        #expect(RequestRewriter.isWellFormedRequestID("a"))
        #expect(RequestRewriter.isWellFormedRequestID("trace_01.span:7-x"))
        #expect(RequestRewriter.isWellFormedRequestID(String(repeating: "x", count: 128)))
    }

    @Test(arguments: [
        "", String(repeating: "x", count: 129), "a b", "abc\r\nX-User-ID: 1", "abc\n", "abc\r", "tab\there", "é", "a/b",
        "a,b", "a;b", "\"quoted\"",
    ])
    func malformedRequestIDs(value: String) {
        #expect(!RequestRewriter.isWellFormedRequestID(value))
    }
}
