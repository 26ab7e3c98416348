import NIOCore

/// `read_from_replicas`: one replica of the current master, found through the sentinels, for read-only validation.
extension RedisSentinelClient: RedisReplicaReading {
    public func sendToReplica(_ command: RedisCommand, on eventLoop: EventLoop?) -> EventLoopFuture<RedisValue>? {
        guard configuration.readFromReplicas else { return nil }
        guard let replica = currentReplica else {
            _ = discoverReplica()
            return nil
        }
        return replica.send(command, on: eventLoop).flatMapError { error in
            if Self.isTransportFailure(error) || (error as? RedisError)?.serverMessage?.hasPrefix("LOADING") == true {
                self.dropReplica(replica)
            }
            return replica.eventLoop(for: eventLoop).makeFailedFuture(error)
        }
    }

    /// Asks the sentinels for the master's replicas and connects to the first healthy one (`flags` without
    /// `s_down`, `o_down` or `disconnected`, and `master-link-status` `ok`). Does nothing when one is in use or a
    /// search is under way.
    func discoverReplica() -> EventLoopFuture<Void> {
        let loop = anyEventLoop
        guard configuration.readFromReplicas, beginReplicaSearch() else { return loop.makeSucceededVoidFuture() }
        return askSentinelsForReplica(sentinelClientsForReplicas[...], loop: loop).map { address in
            self.finishReplicaSearch(address)
        }
    }

    private func askSentinelsForReplica(
        _ clients: ArraySlice<RedisClient>, loop: EventLoop
    ) -> EventLoopFuture<RedisNodeAddress?> {
        guard let client = clients.first else { return loop.makeSucceededFuture(nil) }
        return client.send(RedisCommand("SENTINEL", "REPLICAS", configuration.masterName), on: loop)
            .map { Self.healthyReplica(in: $0) }
            .recover { _ in nil }
            .flatMap { address in
                if let address { return loop.makeSucceededFuture(address) }
                return self.askSentinelsForReplica(clients.dropFirst(), loop: loop)
            }
    }

    /// The first healthy replica in a `SENTINEL REPLICAS` reply (a list of flat field maps).
    static func healthyReplica(in reply: RedisValue) -> RedisNodeAddress? {
        for entry in reply.array ?? [] {
            guard let items = entry.array else { continue }
            var fields: [String: String] = [:]
            for index in stride(from: 0, to: items.count - 1, by: 2) {
                if let key = items[index].string, let value = items[index + 1].string { fields[key] = value }
            }
            let flags = (fields["flags"] ?? "").split(separator: ",")
            guard !flags.contains("s_down"), !flags.contains("o_down"), !flags.contains("disconnected"),
                fields["master-link-status"] == "ok", let host = fields["ip"], let port = fields["port"].flatMap(Int.init)
            else { continue }
            return RedisNodeAddress(host: host, port: port)
        }
        return nil
    }
}

extension RedisClient {
    /// The loop a reply for a caller on `eventLoop` completes on.
    fileprivate func eventLoop(for eventLoop: EventLoop?) -> EventLoop {
        eventLoop ?? route(for: nil).eventLoop
    }
}
