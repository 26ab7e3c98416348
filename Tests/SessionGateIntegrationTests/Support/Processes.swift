import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The repository's root directory, derived from this file's path (`<root>/Tests/<target>/Support/Processes.swift`).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // Support
    .deletingLastPathComponent()  // SessionGateIntegrationTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

/// Returns a TCP port on `127.0.0.1` that was free a moment ago: binds port 0, reads the port, closes the socket.
///
/// Another process can take the port before the caller binds it; that is unlikely on a test machine.
/// - Throws: `ProcessSupportError.systemCall` if a socket call fails.
func freeLoopbackPort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket()
    close(fd)
    return port
}

/// A TCP socket bound to a free loopback port but not listening: connections to the port are refused for as long
/// as the caller keeps `fd` open (and close it), and no other process can take the port meanwhile.
func boundLoopbackSocket() throws -> (fd: Int32, port: Int) {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw ProcessSupportError.systemCall("socket", errno) }
    var keep = false
    defer { if !keep { close(fd) } }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw ProcessSupportError.systemCall("bind", errno) }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw ProcessSupportError.systemCall("getsockname", errno) }
    keep = true
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// The resident set size of process `pid` in bytes, from `VmRSS` in `/proc/<pid>/status`; nil if unavailable.
func residentMemoryBytes(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        // "VmRSS:     12345 kB"
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, let kilobytes = Int(fields[1]) else { return nil }
        return kilobytes * 1024
    }
    return nil
}

/// The `sessiongate` executable the integration tests run.
///
/// Looks, in order, at the path in `SESSIONGATE_BINARY`, then beside the running test binary (the same build
/// directory, whatever `--scratch-path` was used), then `<repo>/.build/debug/sessiongate`.
/// - Throws: `ProcessSupportError.missingBinary` naming every path tried, with the command that builds it.
func sessiongateBinary() throws -> URL {
    let fileManager = FileManager.default
    if let override = ProcessInfo.processInfo.environment["SESSIONGATE_BINARY"], !override.isEmpty {
        guard fileManager.isExecutableFile(atPath: override) else {
            throw ProcessSupportError.missingBinary(tried: [override])
        }
        return URL(fileURLWithPath: override)
    }
    var candidates: [URL] = []
    if let testBinary = Bundle.main.executableURL {
        candidates.append(testBinary.deletingLastPathComponent().appendingPathComponent("sessiongate"))
    }
    candidates.append(repositoryRoot.appendingPathComponent(".build/debug/sessiongate"))
    if let found = candidates.first(where: { fileManager.isExecutableFile(atPath: $0.path) }) {
        return found
    }
    throw ProcessSupportError.missingBinary(tried: candidates.map(\.path))
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`, polling every 50 ms.
///
/// - Parameters:
///   - port: The port on `127.0.0.1`.
///   - timeout: How long to keep trying.
///   - process: If given, stop early with an error (including its stderr) when it exits before listening.
/// - Throws: `ProcessSupportError.portNotOpen` or `.exitedBeforeListening`.
func waitForPort(_ port: Int, timeout: Duration = .seconds(10), process: ChildProcess? = nil) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        let connected = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(250))
            .connect(host: "127.0.0.1", port: port)
            .get()
        if let connected {
            try? await connected.close()
            return
        }
        if let process, !process.isRunning {
            throw ProcessSupportError.exitedBeforeListening(
                port: port,
                status: process.terminationStatus,
                stderr: process.stderr
            )
        }
        guard ContinuousClock.now < deadline else {
            throw ProcessSupportError.portNotOpen(port: port, timeout: timeout, stderr: process?.stderr)
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Errors from the process and socket helpers.
enum ProcessSupportError: Error, CustomStringConvertible {
    case systemCall(String, Int32)
    case missingBinary(tried: [String])
    case portNotOpen(port: Int, timeout: Duration, stderr: String?)
    case exitedBeforeListening(port: Int, status: Int32, stderr: String)

    var description: String {
        switch self {
        case .systemCall(let call, let code):
            return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .missingBinary(let tried):
            return "sessiongate binary not found (tried \(tried.joined(separator: ", "))); "
                + "build it with `swift build --build-tests` or set SESSIONGATE_BINARY"
        case .portNotOpen(let port, let timeout, let stderr):
            let output = stderr.map { "; its stderr:\n\($0.suffix(2000))" } ?? ""
            return "nothing accepted connections on 127.0.0.1:\(port) within \(timeout)\(output)"
        case .exitedBeforeListening(let port, let status, let stderr):
            return "the process exited (status \(status)) before listening on "
                + "127.0.0.1:\(port); its stderr:\n\(stderr.suffix(2000))"
        }
    }
}

/// A child process for integration tests (a `sessiongate` or a `redis-server`), killed when no longer referenced.
///
/// Its stdout and stderr are captured into strings by two background threads that drain the pipes, so the child
/// never blocks on a full pipe. Standard input is `/dev/null`. `terminate()` sends SIGTERM, then SIGKILL after a
/// grace period; `deinit` does the same without waiting.
///
/// `@unchecked Sendable`: the captured output is behind a lock, and the `Process` is only used through its
/// thread-safe accessors (`isRunning`, `terminationStatus`, `processIdentifier`) after launch.
final class ChildProcess: @unchecked Sendable {
    private struct Output {
        var stdout = Data()
        var stderr = Data()
        var openStreams = 2
    }

    /// The executable that was started.
    let executable: URL
    /// The arguments it was started with.
    let arguments: [String]
    private let process: Process
    private let output = NIOLockedValueBox(Output())

    private init(executable: URL, arguments: [String], process: Process) {
        self.executable = executable
        self.arguments = arguments
        self.process = process
    }

    /// Starts `executable` with `arguments`.
    ///
    /// - Parameters:
    ///   - executable: The program to run.
    ///   - arguments: Its arguments (not including the program name).
    ///   - environment: Its environment; nil inherits the test's environment.
    ///   - currentDirectory: Its working directory; nil inherits the test's.
    /// - Returns: The running process.
    /// - Throws: If the process cannot be launched.
    static func start(
        _ executable: URL,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        currentDirectory: URL? = nil
    ) throws -> ChildProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        let child = ChildProcess(executable: executable, arguments: arguments, process: process)
        try process.run()
        child.drain(stdout.fileHandleForReading, into: \.stdout)
        child.drain(stderr.fileHandleForReading, into: \.stderr)
        return child
    }

    deinit {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let process = UncheckedProcess(process: process)
        DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
            if process.process.isRunning { kill(pid, SIGKILL) }
        }
    }

    /// The child's process id.
    var pid: Int32 { process.processIdentifier }

    /// Whether the child is still running.
    var isRunning: Bool { process.isRunning }

    /// The exit status (or the signal number if a signal ended it; see `wasSignalled`); -1 while it runs.
    var terminationStatus: Int32 { process.isRunning ? -1 : process.terminationStatus }

    /// Whether the child was ended by a signal rather than exiting; nil while it runs.
    var wasSignalled: Bool? { process.isRunning ? nil : process.terminationReason == .uncaughtSignal }

    /// Everything the child wrote to stdout so far.
    var stdout: String { output.withLockedValue { String(decoding: $0.stdout, as: UTF8.self) } }

    /// Everything the child wrote to stderr so far.
    var stderr: String { output.withLockedValue { String(decoding: $0.stderr, as: UTF8.self) } }

    /// Sends `signal` (for example `SIGHUP`) to the child if it is running.
    func send(signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the child to exit, then briefly for its output pipes to close so `stdout`/`stderr` are complete.
    ///
    /// - Parameter timeout: How long to wait for the exit.
    /// - Returns: The exit status (the signal number if a signal ended it), or nil if it is still running.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
        // A grandchild holding the pipes open must not hang the test: wait at most one second for EOF.
        let pipesDeadline = ContinuousClock.now + .seconds(1)
        while output.withLockedValue({ $0.openStreams > 0 }), ContinuousClock.now < pipesDeadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    /// Sends SIGTERM, waits up to `grace` for the child to exit, then sends SIGKILL and waits for it.
    ///
    /// - Returns: The exit status (the signal number if a signal ended it), or nil if it somehow survives.
    @discardableResult
    func terminate(grace: Duration = .seconds(2)) async -> Int32? {
        send(signal: SIGTERM)
        if let status = await waitForExit(timeout: grace) { return status }
        send(signal: SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }

    /// Waits until the child's stdout or stderr contains `text`.
    ///
    /// - Throws: `ChildProcessError.outputNotSeen` with both streams if the child exits or `timeout` passes first.
    func waitForOutput(containing text: String, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if stdout.contains(text) || stderr.contains(text) { return }
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw ChildProcessError.outputNotSeen(text, stdout: stdout, stderr: stderr)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Reads `handle` on a dedicated thread until EOF, appending to the captured output.
    private func drain(_ handle: FileHandle, into stream: WritableKeyPath<Output, Data> & Sendable) {
        let output = self.output
        let thread = Thread {
            // Plain read(2): FileHandle.read(upToCount:) waits for the full count, so output would arrive only at EOF.
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                output.withLockedValue { $0[keyPath: stream].append(contentsOf: chunk[..<count]) }
            }
            try? handle.close()
            output.withLockedValue { $0.openStreams -= 1 }
        }
        thread.name = "ChildProcess output"
        thread.start()
    }
}

/// Lets `deinit` hand the `Process` to the delayed SIGKILL check; only `isRunning` is read there.
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
}

/// Errors from `ChildProcess`.
enum ChildProcessError: Error, CustomStringConvertible {
    case outputNotSeen(String, stdout: String, stderr: String)

    var description: String {
        switch self {
        case .outputNotSeen(let text, let stdout, let stderr):
            "child process output never contained \"\(text)\"; stdout:\n\(stdout.suffix(2000))\nstderr:\n\(stderr.suffix(2000))"
        }
    }
}
