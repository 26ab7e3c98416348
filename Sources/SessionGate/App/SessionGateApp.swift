import NIOConcurrencyHelpers
@preconcurrency import Dispatch
import Logging
import NIOCore
import NIOPosix

/// Runs the proxy until SIGINT or SIGTERM: the whole of `sessiongate --config F`.
public enum SessionGateApp {
    /// Starts the Redis client (if any) and the proxy, then waits for a shutdown signal and stops gracefully.
    /// - Throws: when the listening address cannot be bound or an upstream name cannot be resolved.
    public static func run(configuration: ProxyConfiguration, file: String, logger: Logger) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.server.threads)
        let stores = SessionStoreFactory(configuration: configuration, group: group, logger: logger)
        stores.redis?.start()
        let server = try ProxyServer(configuration: configuration, store: stores.store, group: group, logger: logger, file: file)
        let address = try await server.start()
        logger.info(
            "SessionGate listening",
            metadata: [
                "address": "\(address)", "store": "\(configuration.session.store.rawValue)",
                "threads": "\(configuration.server.threads)",
            ])
        await waitForShutdownSignal()
        logger.info("shutting down")
        await server.stop()
        await stores.redis?.shutdown()
        try await group.shutdownGracefully()
    }

    /// Suspends until the process receives SIGINT or SIGTERM.
    static func waitForShutdownSignal() async {
        let waiter = SignalWaiter()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiter.wait(for: [SIGINT, SIGTERM], continuation: continuation)
        }
    }
}

/// Resumes a continuation once, on the first of several signals; keeps its signal sources alive until then.
private final class SignalWaiter: @unchecked Sendable {
    private let lock = NIOLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [DispatchSourceSignal] = []

    func wait(for signals: [Int32], continuation: CheckedContinuation<Void, Never>) {
        lock.withLock {
            self.continuation = continuation
            for signalNumber in signals {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { self.resume() }
                source.resume()
                sources.append(source)
            }
        }
    }

    private func resume() {
        lock.withLock {
            continuation?.resume()
            continuation = nil
        }
    }
}
