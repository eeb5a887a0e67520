/// `pgk cdc wal`: logical replication (pgoutput) to Kafka.
public enum WALCommands {
    public static let spec = CommandSpec(
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

    static let slotOption = OptionSpec.value("slot", name: "NAME", help: "Replication slot name", default: "pgk")
    static let publicationOption = OptionSpec.value("publication", name: "NAME", help: "Publication name", default: "pgk")

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
        primary key columns. SIGINT/SIGTERM finish in-flight work, confirm \
        what Kafka acknowledged and exit 0.
        """,
        options: [
            slotOption, publicationOption,
            .value("snapshot", .choice(WALRunOptions.SnapshotMode.allCases.map(\.rawValue)), name: "MODE",
                   help: "initial: snapshot once, then stream; never: stream only; only: snapshot and exit",
                   default: "initial"),
            .value("topic-prefix", name: "PREFIX", help: "Topic prefix (default: pgk.<database>)"),
            .value("format", .choice(ChangeEventFormat.allCases.map(\.rawValue)), name: "FORMAT",
                   help: "Event shape: debezium or pg_to_brokers", default: "debezium"),
            .value("packing", .choice(["json", "avro", "msgpack"]), name: "PACKING",
                   help: "Encoding; avro registers schemas in --registry", default: "json"),
            .value("key-columns", name: "TABLE:COL,...",
                   help: "Key columns for a table without a primary key (repeatable)", repeatable: true),
            .flag("create-topics", help: "Create the table topics first (real brokers; the mock auto-creates)"),
            .value("topic-partitions", .positive, name: "N", help: "Partitions for --create-topics"),
            .flag("exit-when-caught-up", help: "Exit 0 once everything up to the server's WAL position at start is acknowledged"),
            .value("heartbeat", .duration(bareUnitMilliseconds: 1000), name: "DURATION",
                   help: "On an idle database, emit a WAL heartbeat this often (0 = off)", default: "10s"),
            .flag("tombstones", negatable: true, help: "Follow each delete with a tombstone (default on)"),
        ],
        examples: [
            Example("pgk cdc wal run --snapshot initial --exit-when-caught-up",
                    "Copy the tables and everything committed so far, then exit."),
            Example("pgk cdc wal run --format pg_to_brokers --snapshot never", "Stream in pg_to_brokers' record shape."),
            Example("pgk cdc wal run --packing avro --registry http://localhost:8081", "Avro with registered schemas."),
        ],
        run: { invocation in
            var options = WALRunOptions()
            options.conninfo = invocation.globals.database
            options.slot = invocation.string("slot")!
            options.publication = invocation.string("publication")!
            options.snapshot = WALRunOptions.SnapshotMode(rawValue: invocation.string("snapshot")!)!
            options.topicPrefix = invocation.string("topic-prefix")
            options.format = ChangeEventFormat(rawValue: invocation.string("format")!)!
            options.packing = Packing(rawValue: invocation.string("packing")!)!
            options.keyColumns = try parseKeyColumns(invocation.strings("key-columns"), invocation: invocation)
            options.createTopics = invocation.flag("create-topics")
            options.topicPartitions = invocation.int("topic-partitions")
            options.exitWhenCaughtUp = invocation.flag("exit-when-caught-up")
            options.heartbeatMilliseconds = invocation.milliseconds("heartbeat") ?? 10_000
            options.tombstones = invocation.optionalFlag("tombstones") ?? true
            if options.packing == .avro && invocation.globals.registry == nil {
                throw invocation.usageError("--packing avro needs --registry URL (or PGK_REGISTRY)")
            }
            let kafka = KafkaConfig(brokers: invocation.globals.brokers,
                                    properties: invocation.globals.kafkaProperties.map { ($0.key, $0.value) })
            let streamer = WALStreamer(options: options, kafka: kafka, registryURL: invocation.globals.registry,
                                       stop: invocation.stop)
            do {
                _ = try streamer.run()
            } catch is SnapshotInterrupted where invocation.stop.isStopped {
                Log.info("snapshot interrupted; the next run starts it over")
            }
            return ExitStatus.ok
        })

    /// `schema.table:col1,col2` (the table part as in --tables).
    static func parseKeyColumns(_ values: [String], invocation: Invocation) throws -> [QualifiedName: [String]] {
        var result: [QualifiedName: [String]] = [:]
        for value in values {
            guard let colon = value.lastIndex(of: ":") else {
                throw invocation.usageError("--key-columns \(value): expected TABLE:COLUMN[,COLUMN...]")
            }
            var table = try QualifiedName.parse(String(value[..<colon]))
            if table.schema == nil { table.schema = "public" }
            let columns = value[value.index(after: colon)...].split(separator: ",", omittingEmptySubsequences: false).map {
                String($0.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
            }
            guard !columns.isEmpty, !columns.contains(where: \.isEmpty) else {
                throw invocation.usageError("--key-columns \(value): no column names after ':'")
            }
            result[table] = columns
        }
        return result
    }
}
