import NIOCore

/// The connections a command issued on one event loop goes to.
///
/// Built once by ``RedisClient``: a loop that hosts connections routes to those (no thread hop); a loop without
/// one is assigned a single connection elsewhere, spreading such loops evenly. When a loop hosts several
/// connections, the choice is made on that loop, where their state can be read without locks: the ready one
/// with the fewest commands in flight, so one connection in backoff does not fail commands another could serve.
struct RedisConnectionRoute: Sendable {
    /// The loop the route's connections live on.
    let eventLoop: EventLoop
    /// One or more connections, all on ``eventLoop``.
    let connections: [RedisConnection]

    /// Hands the command to the best connection of this route.
    func send(_ command: RedisCommand, reply: RedisReplyTarget) {
        if connections.count == 1 {
            connections[0].send(command, reply: reply)
        } else if eventLoop.inEventLoop {
            bestConnection().send(command, reply: reply)
        } else {
            eventLoop.execute {
                self.bestConnection().send(command, reply: reply)
            }
        }
    }

    /// Hands several commands to one connection of this route, in order, so they travel back to back.
    func send(_ commands: [RedisConnection.Pending]) {
        if connections.count == 1 || eventLoop.inEventLoop {
            let connection = connections.count == 1 ? connections[0] : bestConnection()
            for pending in commands { connection.send(pending.command, reply: pending.reply) }
        } else {
            eventLoop.execute {
                let connection = self.bestConnection()
                for pending in commands { connection.send(pending.command, reply: pending.reply) }
            }
        }
    }

    /// The connection with the lowest routing cost; the first on a tie. Only call on ``eventLoop``.
    private func bestConnection() -> RedisConnection {
        var best = connections[0]
        var bestCost = best.routingCost
        for connection in connections.dropFirst() where bestCost > 0 {
            let cost = connection.routingCost
            if cost < bestCost {
                best = connection
                bestCost = cost
            }
        }
        return best
    }

    /// Assigns `count` connections to the loops of a group and builds one route per loop.
    /// - Parameters:
    ///   - loops: The group's loops, in iteration order.
    ///   - count: How many connections to create (at least 1).
    ///   - makeConnection: Creates a connection living on the given loop.
    /// - Returns: The connections, and a route for every loop.
    static func plan(
        loops: [EventLoop],
        count: Int,
        makeConnection: (EventLoop) -> RedisConnection
    ) -> (connections: [RedisConnection], routes: [(loop: EventLoop, route: RedisConnectionRoute)]) {
        let connections = (0..<count).map { makeConnection(loops[$0 % loops.count]) }
        let routes = loops.enumerated().map { loopIndex, loop in
            let local = connections.indices.filter { $0 % loops.count == loopIndex }.map { connections[$0] }
            if local.isEmpty {
                let remote = connections[loopIndex % count]
                return (loop, RedisConnectionRoute(eventLoop: remote.eventLoop, connections: [remote]))
            }
            return (loop, RedisConnectionRoute(eventLoop: loop, connections: local))
        }
        return (connections, routes)
    }
}
