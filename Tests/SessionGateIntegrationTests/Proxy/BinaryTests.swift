import Foundation
import Testing

@testable import SessionGate

/// The `sessiongate` executable as a user runs it: its CLI, its start-up checks, and streaming in bounded memory.
@Suite("Proxy binary and CLI", .serialized)
struct BinaryTests {
    /// A config file for a real Redis and upstream, in a fresh temporary directory.
    private func writeConfig(redisPort: Int, upstreamPort: Int, listenPort: Int, store: String = "redis", extra: String = "") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessiongate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("proxy.conf").path
        let toml = """
            [server]
            listen = "127.0.0.1:\(listenPort)"
            threads = 1
            [session]
            store = "\(store)"
            cookie_secure = false
            [redis]
            address = "127.0.0.1:\(redisPort)"
            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:\(upstreamPort)"]
            [[route]]
            path = "/"
            upstream = "app"
            \(extra)
            """
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func run(_ arguments: [String]) async throws -> (status: Int32?, stdout: String, stderr: String) {
        let process = try ChildProcess.start(try sessiongateBinary(), arguments: arguments)
        let status = await process.waitForExit(timeout: .seconds(20))
        return (status, process.stdout, process.stderr)
    }

    /// A real Redis and upstream, and the `sessiongate` binary running against them.
    private func startProxyProcess() async throws -> (RedisServer, TestUpstream, Int, String, ChildProcess) {
        let redis = try await RedisServer.start()
        let upstream = try await TestUpstream.start()
        let port = try freeLoopbackPort()
        let config = try writeConfig(redisPort: redis.port, upstreamPort: upstream.port, listenPort: port)
        let proxy = try ChildProcess.start(try sessiongateBinary(), arguments: ["--config", config])
        try await waitForPort(port, process: proxy)
        return (redis, upstream, port, config, proxy)
    }

    @Test func sessionCreateAndRevokeWorkAgainstTheRunningProxy() async throws {
        let (redis, upstream, port, config, proxy) = try await startProxyProcess()
        defer { redis.stop() }

        let created = try await run(["session", "create", "--config", config, "--user", "42", "--name", "alice", "--roles", "admin,user"])
        #expect(created.status == 0, "stderr: \(created.stderr)")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(SessionToken(token) != nil, "printed: \(token)")

        let response = try await TestHTTPClient.get(port: port, uri: "/x", headers: [("X-Session-ID", token)])
        #expect(response.status == 200)
        #expect(try response.upstreamHeader("X-User-ID") == ["42"])
        #expect(try response.upstreamHeader("X-Roles") == ["admin,user"])

        let revoked = try await run(["session", "revoke", "--config", config, "--user", "42"])
        #expect(revoked.status == 0, "stderr: \(revoked.stderr)")
        #expect(revoked.stdout.contains("1"))
        #expect(try await TestHTTPClient.get(port: port, uri: "/x", headers: [("X-Session-ID", token)]).status == 401)

        _ = await proxy.terminate()
        await upstream.stop()
    }

    @Test func sessionCommandsRefuseTheMemoryStore() async throws {
        let config = try writeConfig(redisPort: 1, upstreamPort: 9, listenPort: 8, store: "memory")
        let created = try await run(["session", "create", "--config", config, "--user", "42"])
        #expect(created.status != 0)
        #expect(created.stderr.contains("memory"))
        let revoked = try await run(["session", "revoke", "--config", config, "--user", "42"])
        #expect(revoked.status != 0)
        #expect(revoked.stderr.contains("memory"))
    }

    @Test func sessionCreateFailsClearlyWhenRedisIsDown() async throws {
        let config = try writeConfig(redisPort: try freeLoopbackPort(), upstreamPort: 9, listenPort: 8)
        let created = try await run(["session", "create", "--config", config, "--user", "42"])
        #expect(created.status != 0)
        #expect(created.stderr.contains("cannot reach Redis"))
    }

    @Test func checkListsEveryProblemWithKeyAndLineAndStartRefusesToBind() async throws {
        let port = try freeLoopbackPort()
        let config = try writeConfig(
            redisPort: 6379, upstreamPort: 9001, listenPort: port,
            extra: """
                auth = "sometimes"
                [[route]]
                path = "api"
                upstream = "nope"
                """)
        let good = try writeConfig(redisPort: 6379, upstreamPort: 9001, listenPort: port)
        let ok = try await run(["check", "--config", good])
        #expect(ok.status == 0, "stderr: \(ok.stderr)")

        let checked = try await run(["check", "--config", config])
        #expect(checked.status != 0)
        #expect(checked.stderr.contains("route[0].auth"))
        #expect(checked.stderr.contains(":15:"), "the line of auth = \"sometimes\"; got \(checked.stderr)")
        #expect(checked.stderr.contains("route[1].path"))
        #expect(checked.stderr.contains("route[1].upstream"))
        #expect(checked.stderr.contains("3 configuration problems"))

        // Running with the same file stops before any port is bound.
        let started = try await run(["--config", config])
        #expect(started.status != 0)
        #expect(started.stderr.contains("route[0].auth"))
        await #expect(throws: (any Error).self) { try await waitForPort(port, timeout: .milliseconds(300)) }
    }

    @Test func bodiesOf256MBStreamBothWaysInBoundedMemory() async throws {
        let (redis, upstream, port, config, proxy) = try await startProxyProcess()
        defer { redis.stop() }
        let created = try await run(["session", "create", "--config", config, "--user", "1"])
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let size = 256 * 1024 * 1024

        let client = try await TestHTTPClient.connect(port: port)
        _ = try await client.request("GET", "/warmup", headers: [("X-Session-ID", token)])
        let idle = try #require(residentMemoryBytes(pid: proxy.pid))

        let uploaded = try await client.upload("/upload", totalBytes: size, headers: [("X-Session-ID", token)], timeout: .seconds(120))
        #expect(uploaded.status == 200)
        #expect(try uploaded.json()["body_bytes"] as? Int == size)
        let afterUpload = try #require(residentMemoryBytes(pid: proxy.pid))

        let downloaded = try await client.download("/download?bytes=\(size)", headers: [("X-Session-ID", token)], verifyPattern: true, timeout: .seconds(120))
        #expect(downloaded.status == 200)
        #expect(downloaded.bytes == size)
        let afterDownload = try #require(residentMemoryBytes(pid: proxy.pid))

        let limit = 100 * 1024 * 1024
        print("proxy RSS: idle \(idle / 1_048_576) MiB, after 256 MiB upload \(afterUpload / 1_048_576) MiB, after 256 MiB download \(afterDownload / 1_048_576) MiB")
        #expect(afterUpload - idle < limit)
        #expect(afterDownload - idle < limit)
        await client.close()
        _ = await proxy.terminate()
        await upstream.stop()
    }
}
