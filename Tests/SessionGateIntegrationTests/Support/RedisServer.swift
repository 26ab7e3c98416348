import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real `redis-server` for integration tests: on a free loopback port, without persistence, stopped when released.
///
/// Every test that needs Redis starts its own (about 10 ms), so tests stay independent under Swift Testing's
/// parallelism. `command(...)` runs `redis-cli` against it for checks the client under test should not be trusted
/// with (`INFO commandstats`, `TTL`, `CLIENT KILL`, `DEBUG SLEEP`). `DEBUG` needs
/// `extraArguments: ["--enable-debug-command", "yes"]` on Redis 7. Uses `freeLoopbackPort()` from `Processes.swift`.
///
/// The server is spawned with `posix_spawn`, an *empty* signal mask and default handlers, not with Foundation's
/// `Process`: a child inherits its spawner's signal mask, the one `Process` hands down in the test runner blocks
/// SIGTERM (seen as `SigBlk: fffffffe3bfbea27` in `/proc/<pid>/status`), and `redis-server` never unblocks it, so
/// such a server ignores SIGTERM and only dies to SIGKILL. Its log goes to a file in the temporary directory
/// (quoted in errors) and is removed by ``stop()``. ``stop()`` and ``kill()`` block the caller until the process
/// is reaped, normally a few milliseconds.
///
/// ```swift
/// let redis = try await RedisServer.start(extraArguments: ["--requirepass", "secret"])
/// try redis.command("SET", "k", "v")
/// #expect(try redis.commandCount("set") == 1)
/// redis.kill(); try await redis.restart()   // same port
/// ```
final class RedisServer: Sendable {
    /// The loopback port the server listens on (kept across ``restart()``).
    let port: Int
    /// The arguments after the standard ones, as passed to ``start(port:extraArguments:)``.
    let extraArguments: [String]
    /// The configuration file given as the first argument (a sentinel's), if any.
    let configFile: String?
    private let password: String?
    private let process: NIOLockedValueBox<SpawnedRedis?>

    private init(port: Int, extraArguments: [String], configFile: String?, process: SpawnedRedis) {
        self.port = port
        self.extraArguments = extraArguments
        self.configFile = configFile
        self.password = Self.password(in: extraArguments)
        self.process = NIOLockedValueBox(process)
    }

    deinit {
        stop()
    }

    /// Starts a server on a free port and waits until it answers `PING`.
    /// - Parameters:
    ///   - port: The port to use; nil picks a free one (retrying with another if it was taken meanwhile).
    ///   - extraArguments: Appended to `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no ...`.
    /// - Returns: The running server.
    /// - Throws: `RedisServerError` if `redis-server` is missing, exits, or does not answer within 20 s (on a port it
    ///   picked itself, after trying two more).
    ///   - configFile: A configuration file, passed first (`redis-server FILE --sentinel ...` for a sentinel).
    static func start(port: Int? = nil, extraArguments: [String] = [], configFile: String? = nil) async throws -> RedisServer {
        var attempt = 0
        while true {
            attempt += 1
            let chosenPort = try port ?? freeLoopbackPort()
            do {
                let process = try await launch(port: chosenPort, extraArguments: extraArguments, configFile: configFile)
                return RedisServer(port: chosenPort, extraArguments: extraArguments, configFile: configFile, process: process)
            } catch RedisServerError.exited where port == nil && attempt < 3 {
                continue  // Most likely the free port was taken meanwhile: try another.
            } catch RedisServerError.notAnswering where port == nil && attempt < 3 {
                // Seen once in a full CI run (a loaded box, a dozen other servers starting): alive but never
                // answering on the port picked for it. Another port, rather than failing the test.
                continue
            }
        }
    }

    /// The server's process id, or nil when stopped.
    var pid: Int32? {
        process.withLockedValue { $0?.pid }
    }

    /// Sends SIGTERM and waits (up to 5 s, then SIGKILL) for the server to exit. Idempotent.
    func stop() {
        end(signal: SIGTERM)
    }

    /// Sends SIGKILL, as for a crash, and waits for the server to be gone. Idempotent.
    func kill() {
        end(signal: SIGKILL)
    }

    /// Starts the server again on the same port with the same arguments (after ``kill()`` or ``stop()``).
    /// - Throws: `RedisServerError` as ``start(port:extraArguments:)``.
    func restart() async throws {
        stop()
        let process = try await Self.launch(port: port, extraArguments: extraArguments, configFile: configFile)
        self.process.withLockedValue { $0 = process }
    }

    /// Runs `redis-cli -h 127.0.0.1 -p PORT arguments...` (authenticating if `--requirepass` was given).
    /// - Returns: Its standard output without surrounding whitespace; raw, without `(integer)` decorations.
    /// - Throws: `RedisServerError.cliFailed` if `redis-cli` exits with a non-zero status.
    @discardableResult
    func command(_ arguments: String...) throws -> String {
        try command(arguments: arguments)
    }

    /// ``command(_:)`` with an array of arguments.
    @discardableResult
    func command(arguments: [String]) throws -> String {
        var cliArguments = ["-h", "127.0.0.1", "-p", String(port)]
        if let password {
            cliArguments += ["-a", password, "--no-auth-warning"]
        }
        return try Self.runCLI(cliArguments + arguments)
    }

    /// How many times the server ran command `name` (lowercase, e.g. `"evalsha"`, `"client|kill"`), from
    /// `INFO commandstats` (`cmdstat_<name>:calls=N,...`); 0 if it never ran.
    func commandCount(_ name: String) throws -> Int {
        let prefix = "cmdstat_\(name.lowercased()):calls="
        for line in try command("INFO", "commandstats").split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            let digits = line.dropFirst(prefix.count).prefix { $0.isNumber }
            return Int(digits) ?? 0
        }
        return 0
    }

    private func end(signal: Int32) {
        guard let process = self.process.withLockedValue({ process in defer { process = nil }; return process }) else {
            return
        }
        process.end(signal: signal)
    }

    private static func launch(port: Int, extraArguments: [String], configFile: String? = nil) async throws -> SpawnedRedis {
        guard let executable = findExecutable("redis-server") else {
            throw RedisServerError.missing("redis-server")
        }
        let logFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("sessiongate-redis-\(port)-\(getpid()).log").path
        let arguments = (configFile.map { [$0] } ?? []) + [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", FileManager.default.temporaryDirectory.path,
            "--loglevel", "warning", "--logfile", logFile,
        ]
        let process = try SpawnedRedis(executable: executable.path, arguments: arguments + extraArguments, logFile: logFile)
        let password = Self.password(in: extraArguments).map { ["-a", $0, "--no-auth-warning"] } ?? []
        let ping = ["-h", "127.0.0.1", "-p", String(port)] + password
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            if let status = process.exitStatus() {
                let log = process.log
                process.end(signal: SIGKILL)
                throw RedisServerError.exited(status: status, output: log)
            }
            let answer: String
            do {
                answer = try runCLI(ping + ["PING"])
            } catch {
                answer = "\(error)"
            }
            if answer == "PONG" {
                return process
            }
            guard ContinuousClock.now < deadline else {
                let log = process.log
                process.end(signal: SIGKILL)
                throw RedisServerError.notAnswering(port: port, output: "last redis-cli PING: \(answer)\n" + log)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private static func runCLI(_ arguments: [String]) throws -> String {
        guard let executable = findExecutable("redis-cli") else {
            throw RedisServerError.missing("redis-cli")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RedisServerError.cliFailed(
                arguments: arguments, status: process.terminationStatus, stderr: String(decoding: stderr, as: UTF8.self))
        }
        return String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The value after `--requirepass`, so `redis-cli` can authenticate.
    private static func password(in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: "--requirepass"), arguments.indices.contains(index + 1) else {
            return nil
        }
        return arguments[index + 1]
    }

    /// Looks `name` up in `PATH`, falling back to `/usr/bin` and `/usr/local/bin`.
    private static func findExecutable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        return directories.lazy
            .map { URL(fileURLWithPath: $0).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

/// Errors from ``RedisServer``.
enum RedisServerError: Error, CustomStringConvertible {
    case missing(String)
    case exited(status: Int32, output: String)
    case notAnswering(port: Int, output: String)
    case cliFailed(arguments: [String], status: Int32, stderr: String)

    var description: String {
        switch self {
        case .missing(let name):
            return "\(name) not found in PATH, /usr/bin or /usr/local/bin (apt-get install redis-server)"
        case .exited(let status, let output):
            return "redis-server exited with status \(status) before answering PING; its log:\n\(output.suffix(2000))"
        case .notAnswering(let port, let output):
            return "redis-server on 127.0.0.1:\(port) did not answer PING within 20 s; its log:\n\(output.suffix(2000))"
        case .cliFailed(let arguments, let status, let stderr):
            let shown = arguments.filter { $0 != "--no-auth-warning" }.joined(separator: " ")
            return "redis-cli \(shown) exited with status \(status): \(stderr)"
        }
    }
}

/// Servers not yet reaped. Tests that stop their server from a detached `Task` (or never) would otherwise leave it
/// running after the test process exits; an `atexit` handler kills whatever is left.
private let unreapedRedisServers: NIOLockedValueBox<Set<pid_t>> = {
    atexit {
        for pid in unreapedRedisServers.withLockedValue({ $0 }) {
            kill(pid, SIGKILL)
        }
    }
    return NIOLockedValueBox([])
}()

/// One `redis-server` process, spawned with an empty signal mask and default signal handlers, and reaped by us.
private final class SpawnedRedis: Sendable {
    let pid: pid_t
    let logFile: String
    /// The exit status once reaped; `waitpid` may only succeed once per child.
    private let reaped = NIOLockedValueBox<Int32?>(nil)

    init(executable: String, arguments: [String], logFile: String) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
        // NIO's sockets are not close-on-exec: without this, a server started while another test holds a connection
        // would inherit that socket and keep it open after the test's own side closes it (its peer never sees EOF).
        // (glibc ignores a close action whose descriptor was closed meanwhile.)
        let inherited = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in inherited.compactMap({ Int32($0) }) where fd > 2 {
            posix_spawn_file_actions_addclose(&fileActions, fd)
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        guard status == 0 else {
            throw ProcessSupportError.systemCall("posix_spawn \(executable)", status)
        }
        self.pid = pid
        self.logFile = logFile
        unreapedRedisServers.withLockedValue { _ = $0.insert(pid) }
    }

    deinit {
        end(signal: SIGKILL)
    }

    /// The exit status if the process has exited (reaping it), else nil.
    func exitStatus() -> Int32? {
        reaped.withLockedValue { reaped in
            if let reaped {
                return reaped
            }
            var status: Int32 = 0
            switch waitpid(pid, &status, WNOHANG) {
            case pid:
                reaped = status
                unreapedRedisServers.withLockedValue { _ = $0.remove(pid) }
                return status
            case -1 where errno == ECHILD:
                // Reaped by someone else (or never ours): it is gone either way.
                reaped = -1
                unreapedRedisServers.withLockedValue { _ = $0.remove(pid) }
                return -1
            default:
                return nil
            }
        }
    }

    /// The server's log so far.
    var log: String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "(no log at \(logFile))"
    }

    /// Sends `signal`, waits up to 5 s for the exit (then SIGKILL), and removes the log. Idempotent.
    func end(signal: Int32) {
        if exitStatus() == nil {
            kill(pid, signal)
            let deadline = ContinuousClock.now + .seconds(5)
            while exitStatus() == nil && ContinuousClock.now < deadline {
                usleep(1_000)
            }
            if exitStatus() == nil {
                kill(pid, SIGKILL)
                while exitStatus() == nil {
                    usleep(1_000)
                }
            }
        }
        unlink(logFile)
    }
}
