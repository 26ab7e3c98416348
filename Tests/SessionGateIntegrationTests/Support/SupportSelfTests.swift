import Foundation
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Checks the integration-test support itself: the upstream, the client, and the process helpers.
@Suite("Support: test upstream, HTTP client and processes")
struct SupportSelfTests {
    @Test func upstreamEchoesHeadersInOrderAsReceived() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let sent = [("X-Zeta", "1"), ("x-alpha", "two words"), ("X-Zeta", "3"), ("X-User-ID", "u-42")]

        let response = try await TestHTTPClient.get(port: upstream.port, uri: "/some/path?q=1", headers: sent)

        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        let json = try response.json()
        #expect(json["method"] as? String == "GET")
        #expect(json["uri"] as? String == "/some/path?q=1")
        #expect(json["body_bytes"] as? Int == 0)
        let echoed = try #require(json["headers"] as? [[String]])
        #expect(echoed.first == ["Host", "127.0.0.1:\(upstream.port)"])
        #expect(echoed.dropFirst().map { $0[0] } == sent.map(\.0))
        #expect(echoed.dropFirst().map { $0[1] } == sent.map(\.1))
        #expect(upstream.lastRequestHeaders.dropFirst().map(\.0) == sent.map(\.0))
    }

    @Test func echoCountsARequestBody() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)
        defer { Task { await client.close() } }

        let response = try await client.request("POST", "/echo", body: ByteBuffer(string: "hello"))

        #expect(try response.json()["body_bytes"] as? Int == 5)
        #expect(try response.json()["method"] as? String == "POST")
    }

    @Test func routesAreChosenByTheLastPathSegmentSoAProxyPrefixDoesNotMatter() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)

        #expect(try await client.download("/app/download?bytes=1000").bytes == 1000)
        #expect(try await client.upload("/app/upload", totalBytes: 1000).json()["body_bytes"] as? Int == 1000)
        #expect(try await client.request("/app/slow?ms=1").json()["uri"] as? String == "/app/slow?ms=1")
        await #expect(throws: TestHTTPClientError.self) { try await client.request("/app/drop") }
    }

    @Test func requestTargetsAreSentUnvalidated() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }

        let response = try await TestHTTPClient.get(port: upstream.port, uri: "/public\\..\\admin")

        #expect(try response.json()["uri"] as? String == "/public\\..\\admin")
    }

    @Test func threeRequestsOnOneClientUseOneConnection() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)
        defer { Task { await client.close() } }

        for index in 1...3 {
            let response = try await client.request("/request/\(index)")
            #expect(response.status == 200)
            #expect(try response.json()["uri"] as? String == "/request/\(index)")
        }

        #expect(upstream.connectionsAccepted == 1)
        #expect(upstream.requestsServed == 3)
        #expect(client.isOpen)
    }

    @Test func connectionCloseIsHonoured() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)

        let response = try await client.request("/", headers: [("Connection", "close")])

        #expect(response.header("connection") == "close")
        try await client.waitUntilClosed(timeout: .seconds(5))
        #expect(!client.isOpen)
    }

    @Test func downloadStreamsTenMegabytes() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)
        defer { Task { await client.close() } }
        let size = 10 * 1024 * 1024

        let result = try await client.download("/download?bytes=\(size)", verifyPattern: true, timeout: .seconds(30))

        #expect(result.status == 200)
        #expect(result.bytes == size)
        // The connection stays usable after a streamed body.
        #expect(try await client.request("/after").status == 200)
        #expect(upstream.connectionsAccepted == 1)
    }

    @Test func uploadStreamsTenMegabytes() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)
        defer { Task { await client.close() } }
        let size = 10 * 1024 * 1024

        let response = try await client.upload("/upload", totalBytes: size, timeout: .seconds(30))

        #expect(response.status == 200)
        let json = try response.json()
        #expect(json["body_bytes"] as? Int == size)
        #expect(json["pattern_ok"] as? Bool == true)
    }

    @Test func downloadWaitsForAReaderThatDoesNotRead() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let stalled = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .connect(host: "127.0.0.1", port: upstream.port)
            .get()
        defer { stalled.close(promise: nil) }

        try await stalled.writeAndFlush(ByteBuffer(string: "GET /download?bytes=\(1 << 30) HTTP/1.1\r\nHost: x\r\n\r\n"))
        let deadline = ContinuousClock.now + .seconds(5)
        while upstream.downloadBytesWritten == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(300))
        let written = upstream.downloadBytesWritten
        try await Task.sleep(for: .milliseconds(200))

        // A gigabyte was asked for; only what fits the socket buffers and the write watermark may have gone out.
        #expect(written > 0)
        #expect(written < 32 * 1024 * 1024)
        #expect(upstream.downloadBytesWritten == written)
    }

    @Test func uploadWaitsForAServerThatDoesNotRead() async throws {
        let deaf = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        defer { deaf.close(promise: nil) }
        let client = try await TestHTTPClient.connect(port: try #require(deaf.localAddress?.port))

        await #expect {
            _ = try await client.upload("/upload", totalBytes: 1 << 30, timeout: .milliseconds(500))
        } throws: { error in
            if case .timedOut = error as? TestHTTPClientError { return true }
            return false
        }

        #expect(client.uploadBytesWritten > 0)
        #expect(client.uploadBytesWritten < 32 * 1024 * 1024)
    }

    @Test func concurrentRequestsOnOneClientArePipelinedInOrder() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)
        defer { Task { await client.close() } }

        async let slow = client.request("/slow?ms=200")
        try await Task.sleep(for: .milliseconds(20))
        async let fast = client.request("/fast")
        let (first, second) = try await (slow, fast)

        #expect(try first.json()["uri"] as? String == "/slow?ms=200")
        #expect(try second.json()["uri"] as? String == "/fast")
        #expect(upstream.connectionsAccepted == 1)
    }

    @Test func dropSurfacesAsAClosedConnection() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)

        await #expect {
            _ = try await client.request("/drop")
        } throws: { error in
            if case .connectionClosed = error as? TestHTTPClientError { return true }
            return false
        }
        #expect(!client.isOpen)
        #expect(upstream.requestsServed == 0)
    }

    @Test func slowAnswersAfterTheDelay() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)
        defer { Task { await client.close() } }
        let clock = ContinuousClock()

        let start = clock.now
        let response = try await client.request("/slow?ms=300")
        let elapsed = clock.now - start

        #expect(response.status == 200)
        #expect(try response.json()["uri"] as? String == "/slow?ms=300")
        #expect(elapsed >= .milliseconds(300))
        #expect(elapsed < .seconds(5))
    }

    @Test func aRequestThatOutlivesItsTimeoutThrowsAndClosesTheConnection() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let client = try await TestHTTPClient.connect(port: upstream.port)

        await #expect {
            _ = try await client.request("/slow?ms=5000", timeout: .milliseconds(200))
        } throws: { error in
            if case .timedOut = error as? TestHTTPClientError { return true }
            return false
        }
        try await client.waitUntilClosed(timeout: .seconds(2))
    }

    @Test func sendRawReturnsTheServersAnswerToMalformedBytes() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }

        let answer = try await TestHTTPClient.sendRaw(port: upstream.port, "NOT HTTP AT ALL\r\n\r\n")

        #expect(answer.hasPrefix("HTTP/1.1 400"))
    }

    /// The server keeps the connection after answering: sendRaw still returns, at its read timeout (here the default
    /// 2 s, long enough for the answer on a loaded machine; 300 ms once was not), with the answer.
    @Test func sendRawReturnsAfterTheReadTimeoutWhenTheServerKeepsTheConnection() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }

        let answer = try await TestHTTPClient.sendRaw(port: upstream.port, "GET /raw HTTP/1.1\r\nHost: x\r\n\r\n")

        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.contains("\"uri\":\"/raw\""))
    }

    /// With `until`, sendRaw returns as soon as what it read is enough, without waiting for its read timeout.
    @Test func sendRawReturnsOnceTheAnswerSatisfiesUntil() async throws {
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        let started = ContinuousClock.now

        let answer = try await TestHTTPClient.sendRaw(
            port: upstream.port, "GET /raw HTTP/1.1\r\nHost: x\r\n\r\n", readTimeout: .seconds(60),
            until: TestHTTPClient.headComplete)

        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(ContinuousClock.now - started < .seconds(60), "returned at the read timeout, not when the head was in")
    }

    @Test func processHelpersFindPortsAndWaitForThem() async throws {
        #expect(try freeLoopbackPort() > 0)
        let upstream = try await TestUpstream.start()
        defer { Task { await upstream.stop() } }
        try await waitForPort(upstream.port, timeout: .seconds(2))
        // Held bound but not listening, so no parallel test can start listening on it meanwhile.
        let (fd, port) = try boundLoopbackSocket()
        defer { close(fd) }
        await #expect(throws: ProcessSupportError.self) {
            try await waitForPort(port, timeout: .milliseconds(200))
        }
        #expect((residentMemoryBytes(pid: getpid()) ?? 0) > 1024 * 1024)
        #expect(FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("Package.swift").path))
    }

    @Test func childProcessCapturesOutputAndExitStatus() async throws {
        let child = try ChildProcess.start(
            URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", "echo to-stdout; echo to-stderr >&2; exit 3"]
        )

        let status = await child.waitForExit(timeout: .seconds(10))

        #expect(status == 3)
        #expect(child.wasSignalled == false)
        #expect(child.stdout == "to-stdout\n")
        #expect(child.stderr == "to-stderr\n")
    }

    @Test func childProcessTerminateEndsAStubbornChild() async throws {
        // The shell ignores SIGTERM, so terminate() has to fall back to SIGKILL.
        let child = try ChildProcess.start(
            URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"]
        )
        try await child.waitForOutput(containing: "ready", timeout: .seconds(10))

        let status = await child.terminate(grace: .milliseconds(300))

        #expect(status == SIGKILL)
        #expect(child.wasSignalled == true)
        #expect(!child.isRunning)
    }

    @Test func sessiongateBinaryIsFoundAfterABuild() throws {
        let binary = try sessiongateBinary()
        #expect(binary.lastPathComponent == "sessiongate")
    }
}
