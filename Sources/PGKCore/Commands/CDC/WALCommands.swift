/// `pgk cdc wal`: logical replication (pgoutput) to Kafka.
enum WALCommands {
    static let spec = CommandSpec(
        name: "wal",
        summary: "capture changes from the write-ahead log through a logical replication slot",
        discussion: """
        Streams INSERT, UPDATE, DELETE and TRUNCATE from a publication through \
        a logical replication slot (plugin pgoutput) to one Kafka topic per \
        table, after a gap-free initial snapshot. The slot is advanced only \
        past transactions whose every event Kafka acknowledged, so a crash or \
        kill replays from there: delivery is at least once, and each event \
        carries source.lsn and source.txId for deduplication.
        """,
        subcommands: [setup, run, status, teardown],
        examples: [
            Example("pgk cdc wal setup --tables public.orders,public.customers",
                    "Check prerequisites, create the publication and the slot."),
            Example("pgk cdc wal run", "Snapshot the tables once, then stream changes until Ctrl-C."),
            Example("pgk cdc wal status -o json", "The slot's position, lag and publication tables."),
        ])

    static let slotOption: Option<String> = .text("slot", name: "NAME", help: "Replication slot name", default: "pgk")
    static let publicationOption: Option<String> = .text("publication", name: "NAME", help: "Publication name",
                                                         default: "pgk")

    static let run = CommandSpec(
        name: "run",
        summary: "stream changes to Kafka until stopped",
        discussion: """
        With --snapshot initial (the default) the first run for a destination \
        creates the slot exporting its snapshot, copies the captured tables \
        inside that snapshot (op "r"), then streams from the slot's consistent \
        point: no change is lost or seen twice across the boundary. Completion \
        is recorded in pgk.wal_snapshots next to the slot; an interrupted \
        snapshot starts over on the next run. Topics are <prefix>.<schema>.<table>; keys are the \
        primary key columns. --format debezium (the default) sends the \
        {before, after, source, op, ts_ms} envelope; pg_to_brokers its \
        {fields, values, types, ...} record; flat the row alone, as \
        Debezium's ExtractNewRecordState leaves it: a delete (or the old key \
        of a key change) is a tombstone and a truncate sends nothing. SIGINT/SIGTERM \
        finish in-flight work, confirm what Kafka acknowledged and exit 0.
        """,
        options: RunOptions.all,
        examples: [
            Example("pgk cdc wal run --snapshot initial --exit-when-caught-up",
                    "Copy the tables and everything committed so far, then exit."),
            Example("pgk cdc wal run --format pg_to_brokers --snapshot never", "Stream in pg_to_brokers' record shape."),
            Example("pgk cdc wal run --format flat", "Rows alone, deletes as tombstones (for ksqlDB tables)."),
            Example("pgk cdc wal run --packing avro --registry http://localhost:8081", "Avro with registered schemas."),
        ],
        run: { invocation in
            var options = WALRunOptions()
            options.conninfo = invocation.globals.database
            options.slot = invocation[slotOption]
            options.publication = invocation[publicationOption]
            options.snapshot = invocation[RunOptions.snapshot]
            options.topicPrefix = invocation[RunOptions.topicPrefix]
            options.format = invocation[RunOptions.format]
            options.packing = invocation[RunOptions.packing]
            // A table given twice: the later entry wins.
            options.keyColumns = Dictionary(invocation[RunOptions.keyColumns].map { ($0.table, $0.columns) },
                                            uniquingKeysWith: { $1 })
            options.createTopics = invocation[RunOptions.createTopics]
            options.topicPartitions = invocation[RunOptions.topicPartitions]
            options.exitWhenCaughtUp = invocation[RunOptions.exitWhenCaughtUp]
            options.heartbeatMilliseconds = invocation[RunOptions.heartbeat]
            options.tombstones = invocation[RunOptions.tombstones] ?? true
            if options.format == .flat && !options.tombstones {
                throw UsageError("--no-tombstones: in --format flat a delete is only a tombstone")
            }
            let registry = try invocation.registryClient(for: [options.packing])
            let kafka = invocation.kafkaConfig
            let served = try invocation.startMetrics(WALMetrics.self)
            defer { served?.endpoint.stop() }
            let streamer = WALStreamer(options: options, kafka: kafka, registry: registry,
                                       stop: invocation.stop)
            streamer.metrics = served?.metrics
            do {
                _ = try streamer.run()
            } catch is SnapshotInterrupted where invocation.stop.isStopped {
                Log.info("snapshot interrupted; the next run starts it over")
            }
            return ExitStatus.ok
        })

    /// `schema.table:col1,col2` (the table part as in --tables).
    @Sendable static func parseKeyColumns(_ value: String) throws -> (table: QualifiedName, columns: [String]) {
        guard let colon = value.lastIndex(of: ":") else {
            throw UsageError("expected TABLE:COLUMN[,COLUMN...]")
        }
        var table = try QualifiedName.parse(String(value[..<colon]))
        if table.schema == nil { table.schema = "public" }
        let columns = value[value.index(after: colon)...].split(separator: ",", omittingEmptySubsequences: false).map {
            String($0.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        }
        guard !columns.isEmpty, !columns.contains(where: \.isEmpty) else {
            throw UsageError("no column names after ':'")
        }
        return (table, columns)
    }
}
