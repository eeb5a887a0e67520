#if canImport(Glibc)
import Glibc
#endif

/// `pgk cdc wal run`: streams a publication's changes from a logical slot
/// to Kafka, after an optional snapshot, confirming to PostgreSQL only
/// what Kafka acknowledged.
struct WALRunOptions: Sendable {
    enum SnapshotMode: String, CaseIterable, Sendable {
        /// Snapshot once per slot and topic prefix (recorded in pgk.wal_snapshots), then stream.
        case initial
        /// Stream only.
        case never
        /// Snapshot, then exit.
        case only
    }

    var conninfo: String?
    var slot = "pgk"
    var publication = "pgk"
    var snapshot = SnapshotMode.initial
    /// nil: `pgk.<database>`.
    var topicPrefix: String?
    var format = ChangeEventFormat.debezium
    var packing = Packing.json
    var keyColumns: [QualifiedName: [String]] = [:]
    var createTopics = false
    var topicPartitions: Int?
    var exitWhenCaughtUp = false
    /// 0 turns heartbeats off.
    var heartbeatMilliseconds: Int64 = 10_000
    var tombstones = true
    var statusIntervalMilliseconds: Int64 = 10_000
    var maxInFlight = 150_000

    init() {}
}

struct WALRunSummary: Sendable {
    var snapshotRows = 0
    var events = 0
    var transactions = 0
    var flushed = LSN.zero
    var caughtUp = false
}

final class WALStreamer {
    let options: WALRunOptions
    let kafka: KafkaConfig
    let registry: SchemaRegistryClient?
    let stop: StopToken
    let clock: any MonotonicClock

    var side: PostgresConnection!
    var catalog: TableCatalog!
    /// What streaming uses of `side` and `catalog`; tests give a fake.
    var sideDatabase: (any StreamingDatabase)!
    var sink: (any WALEventSink)!
    /// Connects and starts streaming the slot from an LSN; tests script fakes.
    var openReplicationStream: (LSN) throws -> any ReplicationStream
    var encoder: ChangeEventEncoder!
    var database = ""
    var topicPrefix = ""
    var summary = WALRunSummary()
    var progress: ProgressReporter?
    /// Reused for every event; librdkafka copies them.
    var keyBuffer: [UInt8] = []
    var valueBuffer: [UInt8] = []
    /// Sends a standby status update when one is due (set while streaming).
    var keepServerInformed: () throws -> Void = {}
    /// Event processing time, refreshed every few events (clock reads cost).
    var eventTime: Int64 = unixMilliseconds()
    /// nil without --metrics.
    var metrics: WALMetrics?

    convenience init(options: WALRunOptions, kafka: KafkaConfig, registry: SchemaRegistryClient?, stop: StopToken) {
        self.init(options: options, kafka: kafka, registry: registry, stop: stop, clock: SystemClock.shared)
    }

    init(options: WALRunOptions, kafka: KafkaConfig, registry: SchemaRegistryClient?, stop: StopToken, clock: any MonotonicClock) {
        self.options = options
        self.kafka = kafka
        self.registry = registry
        self.stop = stop
        self.clock = clock
        openReplicationStream = { start in
            let connection = try ReplicationConnection(conninfo: options.conninfo, applicationName: "pgk-cdc")
            try connection.startLogical(slot: options.slot, start: start, publications: [options.publication])
            return connection
        }
    }

    func run() throws -> WALRunSummary {
        try ReplicationConnection.validateSlotName(options.slot)
        side = try PostgresConnection(conninfo: options.conninfo, applicationName: "pgk-cdc")
        try ReplicationConnection.applySessionSettings { try side.execute($0) }
        database = try side.currentDatabase()
        topicPrefix = options.topicPrefix ?? "pgk." + database
        catalog = TableCatalog(connection: side, topicPrefix: topicPrefix, keyOverrides: options.keyColumns)
        sideDatabase = SideConnection(connection: side, catalog: catalog)
        guard try side.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [options.publication]).count == 1 else {
            throw WALError.publicationMissing(publication: options.publication)
        }
        encoder = try ChangeEventEncoder(format: options.format, packing: options.packing, registry: registry, database: database)
        let admin = try KafkaAdmin(config: kafka) // fails fast when no broker is reachable
        sink = try CDCEventSink(config: kafka, maxInFlight: options.maxInFlight)
        if options.createTopics { try createTopics(admin) }
        progress = ProgressReporter(label: "cdc wal")
        defer {
            progress?.finish(units: summary.events, unitName: "events",
                             counters: [("snapshot rows", summary.snapshotRows), ("transactions", summary.transactions)])
        }
        let target = options.exitWhenCaughtUp ? try currentWALPosition() : nil

        if options.snapshot == .only {
            try snapshotOnly()
            return summary
        }
        let start = try prepareSlot()
        // A slot created just now (with the snapshot) starts after the WAL
        // position read above: nothing before its start is left to wait for.
        try stream(from: start, exitTarget: target.map { max($0, start) })
        summary.flushed = sink.flushed
        return summary
    }

    func currentWALPosition() throws -> LSN {
        guard let text = try side.query("SELECT pg_current_wal_lsn()::text").scalar, let lsn = LSN(text) else {
            throw PostgresError(message: "pg_current_wal_lsn() returned nothing usable")
        }
        return lsn
    }

    // MARK: slot and snapshot

    struct SlotState {
        var active: Bool
        var activePID: String?
        var confirmedFlush: LSN?
        var walStatus: String?
        var plugin: String?
        var database: String?
    }

    func slotState() throws -> SlotState? {
        let result = try side.query("""
            SELECT active, active_pid::text AS pid, confirmed_flush_lsn::text AS confirmed, wal_status, plugin, database
            FROM pg_replication_slots WHERE slot_name = $1
            """, [options.slot])
        guard let row = result.rows.first else { return nil }
        return SlotState(active: row["active"] == "t", activePID: row["pid"], confirmedFlush: row["confirmed"].flatMap(LSN.init),
                         walStatus: row["wal_status"], plugin: row["plugin"], database: row["database"])
    }

    /// Makes sure the slot exists (snapshotting if the mode asks for it) and
    /// returns where streaming starts.
    func prepareSlot() throws -> LSN {
        let stateStore = SnapshotStateStore(connection: side)
        var existing = try slotState()
        // A killed predecessor's walsender may hold the slot for a moment.
        var waited = 0
        while let slot = existing, slot.active, waited < 100, !stop.isStopped {
            stop.sleep(milliseconds: 100)
            waited += 1
            existing = try slotState()
        }
        if let slot = existing {
            try checkUsable(slot)
        }
        if options.snapshot == .initial {
            let record = try stateStore.load(slot: options.slot)
            let snapshotDone: Bool
            if let record, record.topicPrefix == topicPrefix, let slot = existing,
               let confirmed = slot.confirmedFlush, confirmed >= record.consistentPoint {
                snapshotDone = true
            } else {
                snapshotDone = false
                if let record {
                    let reason = record.topicPrefix != topicPrefix ? "was for topic prefix \(record.topicPrefix)"
                        : existing == nil ? "is for a slot that is gone" : "is older than the slot"
                    Log.warning("the snapshot recorded for slot \(options.slot) \(reason); snapshotting again")
                }
            }
            if !snapshotDone {
                if existing != nil {
                    // A slot exports its snapshot only while it is being
                    // created, so the one 'setup' made cannot give one.
                    Log.info("slot \(options.slot) has no completed snapshot for \(topicPrefix) (setup creates it "
                        + "without one; an interrupted snapshot leaves none): creating it again exporting a snapshot, "
                        + "which includes every change made so far")
                    try side.execute("SELECT pg_drop_replication_slot($1)", [options.slot])
                    existing = nil
                }
                return try Retry.run("snapshot", stop: stop) {
                    try createSlotWithSnapshot(store: stateStore)
                }
            }
        }
        if existing == nil {
            let connection = try ReplicationConnection(conninfo: options.conninfo, applicationName: "pgk-cdc")
            let created = try connection.createLogicalSlot(options.slot, exportSnapshot: false)
            Log.info("created replication slot \(options.slot) at \(created.consistentPoint)")
            sink.resetPosition(created.consistentPoint)
            return created.consistentPoint
        }
        let confirmed = existing?.confirmedFlush ?? .zero
        sink.resetPosition(confirmed)
        return confirmed
    }

    func checkUsable(_ slot: SlotState) throws {
        if slot.walStatus == "lost" {
            throw WALError.slotInvalidated(slot: options.slot, detail: "wal_status is 'lost'")
        }
        if slot.plugin != "pgoutput" {
            throw RuntimeError("replication slot \(options.slot) uses the output plugin \(slot.plugin ?? "(none)"), "
                + "not pgoutput (hint: choose another --slot, or drop it with 'pgk cdc wal teardown --slot \(options.slot)')")
        }
        if let slotDatabase = slot.database, slotDatabase != database {
            throw RuntimeError("replication slot \(options.slot) belongs to database \(slotDatabase), not \(database)")
        }
        if slot.active { throw WALError.slotInUse(slot: options.slot, pid: slot.activePID ?? "?") }
    }

    /// Creates the slot exporting its snapshot, copies the tables inside
    /// that snapshot, waits for Kafka to acknowledge every row, records the
    /// completed snapshot, and returns the consistent point to stream from.
    func createSlotWithSnapshot(store: SnapshotStateStore) throws -> LSN {
        try store.prepare()
        try store.clear(slot: options.slot)
        if try slotState() != nil { try side.execute("SELECT pg_drop_replication_slot($1)", [options.slot]) }
        let replication = try ReplicationConnection(conninfo: options.conninfo, applicationName: "pgk-cdc")
        let created = try replication.createLogicalSlot(options.slot, exportSnapshot: true)
        Log.info("created replication slot \(options.slot) at \(created.consistentPoint); snapshotting")
        do {
            try runSnapshot(snapshotName: created.snapshotName, lsn: created.consistentPoint)
        } catch {
            if error is SnapshotInterrupted || stop.isStopped {
                // Nothing recorded: drop the half-snapshotted slot so it holds no WAL.
                _ = try? replication.dropSlot(options.slot)
                throw SnapshotInterrupted()
            }
            throw error
        }
        // runSnapshot returned only after Kafka acknowledged every row.
        try store.save(SnapshotStateStore.Record(slot: options.slot, topicPrefix: topicPrefix,
                                                 consistentPoint: created.consistentPoint, rows: summary.snapshotRows))
        sink.resetPosition(created.consistentPoint)
        Log.info("snapshot complete: \(summary.snapshotRows) row(s); streaming from \(created.consistentPoint)")
        return created.consistentPoint
    }

    func runSnapshot(snapshotName: String?, lsn: LSN) throws {
        metrics?.health.unhealthy("snapshotting; not streaming yet")
        let tables = try catalog.publishedTables(publication: options.publication)
        if tables.isEmpty { Log.warning("publication \(options.publication) captures no tables") }
        let snapshotter = Snapshotter(conninfo: options.conninfo, stop: stop)
        let outcome = try snapshotter.run(tables: tables, snapshotName: snapshotName, lsn: lsn) { change in
            try sink.waitForRoom(stop: stop)
            if stop.isStopped { throw SnapshotInterrupted() }
            try emit(change)
            summary.snapshotRows += 1
        }
        Log.debug("snapshot copied \(outcome.rows) row(s) from \(outcome.tables) table(s)")
        guard try sink.drain(timeoutMilliseconds: Int(Int32.max), stop: stop) else { throw SnapshotInterrupted() }
    }

    /// `--snapshot only`: a temporary slot gives the snapshot a consistent
    /// LSN; nothing stays behind.
    func snapshotOnly() throws {
        let replication = try ReplicationConnection(conninfo: options.conninfo, applicationName: "pgk-cdc")
        let temporary = "pgk_snapshot_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let created = try replication.createLogicalSlot(temporary, temporary: true, exportSnapshot: true)
        try runSnapshot(snapshotName: created.snapshotName, lsn: created.consistentPoint)
        summary.flushed = created.consistentPoint
        summary.caughtUp = true
    }

    // MARK: events

    /// Encodes and produces one change (plus a tombstone after an enveloped
    /// delete); the flat format skips truncates and keyless deletes, and
    /// tombstones the old key of an update that changed it.
    func emit(_ change: RowChange) throws {
        if summary.events & 127 == 0 {
            eventTime = unixMilliseconds()
            metrics?.events.set(Double(summary.events))
            progress?.tick(units: summary.events, unitName: "events",
                           counters: [("in flight", sink.inFlight), ("transactions", summary.transactions)])
        }
        let output = encoder.format.output(for: change.operation)
        if output == .nothing { return }
        if let oldKey = try encoder.replacedKey(change) {
            try oldKey.withUnsafeBytes { try sink.send(topic: change.table.topic, key: $0, value: nil) }
        }
        let written = try encoder.encode(change, now: eventTime, key: &keyBuffer, value: &valueBuffer)
        // A tombstone without a key deletes nothing: leave it out.
        if output == .tombstone && !written.hasKey { return }
        try keyBuffer.withUnsafeBytes { key in
            try valueBuffer.withUnsafeBytes { value in
                try withNonNullBase(key) { key in
                    try withNonNullBase(value) { value in
                        let key = written.hasKey ? key : nil
                        try sink.send(topic: change.table.topic, key: key, value: written.hasValue ? value : nil)
                        if output == .document && change.operation == .delete && options.tombstones, let key {
                            try sink.send(topic: change.table.topic, key: key, value: nil)
                        }
                    }
                }
            }
        }
        summary.events += 1
    }

    /// An empty array's bytes may have no address; librdkafka reads
    /// (NULL, 0) as a null value, so empty values get a real one.
    func withNonNullBase(_ buffer: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if buffer.baseAddress != nil { return try body(buffer) }
        var byte: UInt8 = 0
        try withUnsafeBytes(of: &byte) { try body(UnsafeRawBufferPointer(start: $0.baseAddress, count: 0)) }
    }

    func createTopics(_ admin: KafkaAdmin) throws {
        if admin.isMockCluster {
            Log.info("--create-topics: the mock cluster creates topics on first use; skipped")
            return
        }
        let topics = try catalog.publishedTables(publication: options.publication).map(\.schema.topic)
        let outcomes = try admin.createTopics(topics.map { KafkaNewTopic(name: $0, partitions: options.topicPartitions ?? -1) })
        for outcome in outcomes {
            if let error = outcome.error, error.kind != .topicAlreadyExists {
                throw error
            }
        }
        Log.info("topics ready: \(topics.joined(separator: ", "))")
    }
}
