#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore

/// Sessions in this process's memory, with the same expiry rules as Redis: for development and tests.
///
/// Another process (such as `sessiongate session create`) cannot reach this memory.
public final class MemorySessionStore: SessionStore {
    struct Record {
        var identity: SessionIdentity
        var createdAt: Int64
        var lastSeenAt: Int64
        var device: SessionDevice
        var userID: String { identity.userID }
    }

    let idleTimeoutMs: Int64
    let absoluteTimeoutMs: Int64
    let now: @Sendable () -> Int64
    let records = NIOLockedValueBox<[String: Record]>([:])
    /// Failed-login counters: key → (count, end of window in ms).
    let loginCounters = NIOLockedValueBox<[String: (count: Int, windowEnd: Int64)]>([:])

    /// - Parameter now: milliseconds since the epoch; tests pass a clock they control.
    public init(idleTimeout: TimeAmount, absoluteTimeout: TimeAmount, now: @escaping @Sendable () -> Int64 = currentTimeMillis) {
        self.idleTimeoutMs = idleTimeout.nanoseconds / 1_000_000
        self.absoluteTimeoutMs = absoluteTimeout.nanoseconds / 1_000_000
        self.now = now
    }

    public func validate(_ token: SessionToken, on eventLoop: EventLoop) -> EventLoopFuture<SessionIdentity?> {
        eventLoop.makeSucceededFuture(validateNow(token))
    }

    func validateNow(_ token: SessionToken) -> SessionIdentity? {
        let now = self.now()
        let key = token.hashHex
        return records.withLockedValue { records in
            guard var record = records[key] else { return nil }
            guard now < record.identity.expiresAt, now < record.identity.absoluteExpiresAt else {
                records[key] = nil
                return nil
            }
            record.identity.expiresAt = min(now + idleTimeoutMs, record.identity.absoluteExpiresAt)
            record.lastSeenAt = now
            records[key] = record
            return record.identity
        }
    }

    public func revokeAll(userID: String) async throws -> Int {
        records.withLockedValue { records in
            let keys = records.filter { $0.value.userID == userID }.map(\.key)
            for key in keys { records[key] = nil }
            return keys.count
        }
    }
}

/// Milliseconds since the Unix epoch, from the system clock.
@Sendable public func currentTimeMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
