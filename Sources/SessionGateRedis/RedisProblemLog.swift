/// Which connection problems have been logged during the current outage, so each is logged once.
///
/// A failing connection retries every few milliseconds; logging every failure would flood the log. Remembering only
/// the *last* problem is not enough: when two problems alternate (a wrong password rejected on one attempt, a
/// handshake that times out on a loaded machine on the next), every retry would be "a change" and be logged again.
/// So every distinct problem is remembered until the connection works again (``recovered()``). The memory is
/// bounded; past ``capacity`` distinct problems the oldest is forgotten (and would be logged again if it recurs).
struct RedisProblemLog: Sendable, Hashable {
    /// How many distinct problems are remembered at most.
    static let capacity = 8

    /// The problems logged since the last recovery, oldest first.
    private(set) var reported: [String] = []

    /// Records `problem` and says whether to log it: `true` the first time it is seen in this outage.
    mutating func shouldReport(_ problem: String) -> Bool {
        if reported.contains(problem) {
            return false
        }
        if reported.count >= Self.capacity {
            reported.removeFirst()
        }
        reported.append(problem)
        return true
    }

    /// The connection works again: forgets the outage.
    /// - Returns: Whether anything had been logged during it (so a recovery is worth logging).
    mutating func recovered() -> Bool {
        defer { reported = [] }
        return !reported.isEmpty
    }
}
