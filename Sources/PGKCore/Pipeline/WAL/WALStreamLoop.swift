#if canImport(Glibc)
import Glibc
#endif

/// The streaming half of `WALStreamer`, following pg_recvlogical's loop:
/// read CopyData without blocking, poll the socket up to the next
/// deadline, answer keepalives, send standby status updates with the
/// position Kafka acknowledged, and reconnect with backoff when the server
/// goes away.
extension WALStreamer {
    enum StreamEnd { case stopped, caughtUp }

    func stream(from start: LSN, exitTarget: LSN?) throws {
        // Kafka's delivery reports are still served while waiting to reconnect.
        var retry = Retry(stop: stop, backoff: Backoff(initialMilliseconds: 500, maximumMilliseconds: 30_000),
                          sleep: { try self.waitServingKafka(milliseconds: $0) })
        var slotBusyAttempts = 0
        let assembler = ChangeAssembler { [unowned self] relation in try sideDatabase.schema(for: relation) }
        var position = start
        while true {
            let connection: any ReplicationStream
            let from = max(position, sink.flushed)
            do {
                try sideDatabase.reconnectIfNeeded()
                connection = try openReplicationStream(from)
            } catch let error as PostgresError {
                let explained = explain(error)
                let busy = error.sqlState == "55006"
                if busy { slotBusyAttempts += 1 }
                guard error.isTransient || (busy && slotBusyAttempts < 10), !stop.isStopped else { throw explained }
                guard try retry.pause({ "starting replication failed, retrying in \($0): \(explained)" }) else {
                    return try finish(connection: nil)
                }
                continue
            }
            slotBusyAttempts = 0
            retry.reset()
            Log.info("streaming slot \(options.slot) (publication \(options.publication)) from \(from) to \(topicPrefix).*"
                + (exitTarget.map { ", until \($0) is acknowledged" } ?? ""))
            assembler.reset()
            do {
                let end = try pump(connection, assembler: assembler, exitTarget: exitTarget)
                summary.caughtUp = end == .caughtUp
                return try finish(connection: connection)
            } catch let error as PostgresError where error.isTransient && !stop.isStopped {
                position = sink.flushed
                metrics?.health.unhealthy("replication connection lost; reconnecting")
                guard try retry.pause({ "replication connection lost, reconnecting in \($0) from \(position): \(error)" })
                else { return try finish(connection: nil) }
            } catch let error as PostgresError {
                throw explain(error)
            }
        }
    }

    /// Server errors about the slot or publication, said plainly.
    func explain(_ error: PostgresError) -> Error {
        switch error.sqlState {
        case "42704" where error.message.contains("publication"):
            return WALError.publicationMissing(publication: options.publication)
        case "42704":
            return WALError.slotMissing(slot: options.slot)
        case "55000" where error.message.contains("can no longer get changes") || error.message.contains("invalidated"):
            return WALError.slotInvalidated(slot: options.slot, detail: error.message)
        case "55006":
            return WALError.slotInUse(slot: options.slot, pid: error.message.split(separator: " ").last.map(String.init) ?? "?")
        default:
            return error
        }
    }

    /// Sleeps while still serving delivery reports.
    func waitServingKafka(milliseconds: Int) throws {
        let deadline = clock.nowMilliseconds + Int64(milliseconds)
        while clock.nowMilliseconds < deadline && !stop.isStopped {
            try sink.poll(timeoutMilliseconds: min(100, Int(deadline - clock.nowMilliseconds)))
        }
    }

    /// Reads and forwards until stopped, caught up, or the connection fails.
    func pump(_ connection: any ReplicationStream, assembler: ChangeAssembler, exitTarget: LSN?) throws -> StreamEnd {
        var status = StatusClock(interval: options.statusIntervalMilliseconds, now: clock.nowMilliseconds)
        // While an event waits for room in Kafka, the server must still hear
        // from us, or it drops the connection after wal_sender_timeout.
        keepServerInformed = { [unowned self] in try sendStatus(connection, &status, force: false) }
        defer { keepServerInformed = {} }
        metrics?.health.healthy()
        var lastData = clock.nowMilliseconds
        var lastHeartbeat = clock.nowMilliseconds
        var handled = 0
        var receivedData = false
        while !stop.isStopped {
            if let exitTarget, !assembler.isInTransaction, sink.isIdle, sink.flushed >= exitTarget {
                return .caughtUp
            }
            if !sink.hasRoom {
                // Backpressure: Kafka is behind; keep the server informed meanwhile.
                try sink.poll(timeoutMilliseconds: 10)
                try sendStatus(connection, &status, force: false)
                continue
            }
            switch try connection.readCopyData() {
            case .data(let bytes):
                receivedData = true
                if try handle(bytes, assembler: assembler) { try sendStatus(connection, &status, force: true) }
                handled += 1
                if handled & 255 == 0 {
                    try sink.poll()
                    try sendStatus(connection, &status, force: false)
                }
            case .none:
                try sink.poll()
                try sendStatus(connection, &status, force: false)
                let now = clock.nowMilliseconds
                if receivedData {
                    lastData = now
                    receivedData = false
                }
                if options.heartbeatMilliseconds > 0, now - lastData >= options.heartbeatMilliseconds,
                   now - lastHeartbeat >= options.heartbeatMilliseconds {
                    lastHeartbeat = now
                    emitHeartbeat()
                }
                var wait = sink.inFlight > 0 ? 5 : min(500, Int(max(1, status.nextDue - now)))
                if options.heartbeatMilliseconds > 0 {
                    wait = min(wait, Int(max(1, lastHeartbeat + options.heartbeatMilliseconds - now)))
                }
                _ = connection.waitForData(timeoutMilliseconds: wait, stop: stop)
            case .ended:
                throw PostgresError(message: "the server ended the replication stream", connectionLost: true)
            }
        }
        return .stopped
    }

    /// Handles one CopyData message; true when the server asked for a reply.
    func handle(_ bytes: [UInt8], assembler: ChangeAssembler) throws -> Bool {
        switch try ReplicationMessage.parse(bytes) {
        case .keepalive(let walEnd, _, let replyRequested):
            // Everything before walEnd was sent; if no transaction is open
            // the slot can move there once Kafka has what came before.
            if !assembler.isInTransaction { sink.reached(walEnd) }
            return replyRequested
        case .xlogData(let start, _, _, let offset):
            let message = try PgOutputDecoder.decode(bytes, offset: offset)
            let position = try assembler.handle(message, lsn: start) { change in
                try sink.waitForRoom(stop: stop, whileWaiting: keepServerInformed)
                try emit(change)
            }
            switch position {
            case .committed(let commit)?:
                summary.transactions += 1
                sink.reached(commit.endLSN)
                metrics?.committed(commit.endLSN)
            case .heartbeat(let lsn)?:
                Log.debug("heartbeat confirmed at \(lsn) once earlier events are acknowledged")
                sink.reached(lsn)
            case nil:
                break
            }
            return false
        }
    }

    struct StatusClock {
        let interval: Int64
        var lastSent: Int64
        var lastFlushed = LSN.zero
        init(interval: Int64, now: Int64) {
            self.interval = interval
            lastSent = now
        }
        var nextDue: Int64 { lastSent + min(interval, 1000) }
    }

    /// Sends the flush position when asked (`force`), when it moved and a
    /// second passed, or every status interval.
    func sendStatus(_ connection: any ReplicationStream, _ status: inout StatusClock, force: Bool) throws {
        publishMetrics()
        let now = clock.nowMilliseconds
        let flushed = sink.flushed
        let moved = flushed != status.lastFlushed
        guard force || (moved && now - status.lastSent >= 1000) || now - status.lastSent >= status.interval else {
            _ = try connection.flushOutput()
            return
        }
        // 0/0 means "nothing yet" to the server; never report below the slot.
        guard flushed > .zero else { return }
        try connection.sendStandbyStatus(write: flushed, flush: flushed, apply: flushed)
        status.lastSent = now
        status.lastFlushed = flushed
        summary.flushed = flushed
    }

    /// On an idle database, a tiny non-transactional WAL message the slot
    /// will see, so its position keeps moving and WAL does not pile up.
    func emitHeartbeat() {
        do {
            try sideDatabase.emitHeartbeat(slot: options.slot)
            Log.trace("heartbeat emitted")
        } catch {
            Log.warning("heartbeat failed: \(error)")
        }
    }

    /// After a stop or catching up: wait for Kafka's acks (bounded), send
    /// the final position, end the stream.
    func finish(connection: (any ReplicationStream)?) throws -> Void {
        metrics?.health.unhealthy("stopping")
        defer { publishMetrics() }
        let drained = try sink.drain(timeoutMilliseconds: 30_000)
        if !drained {
            Log.warning("\(sink.inFlight) event(s) not acknowledged by Kafka after 30 s; "
                + "they are not confirmed and will be sent again by the next run")
            sink.abandonDeliveries()
        }
        summary.flushed = sink.flushed
        guard let connection else { return }
        do {
            if sink.flushed > .zero {
                let flushed = sink.flushed
                try connection.sendStandbyStatus(write: flushed, flush: flushed, apply: flushed)
            }
            try connection.endStreaming()
            Log.info("confirmed \(sink.flushed) to slot \(options.slot)")
        } catch let error as PostgresError {
            // Everything acknowledged is confirmed or will be replayed: not fatal.
            Log.warning("could not end the stream cleanly: \(error)")
        }
    }
}
