extension WALCommands {
    /// `pgk cdc wal run`'s own options, each declared and decoded once.
    enum RunOptions {
        static let snapshot: Option<WALRunOptions.SnapshotMode> = .choice(
            "snapshot", name: "MODE",
            help: "initial: snapshot once, then stream; never: stream only; only: snapshot and exit",
            default: .initial)
        static let topicPrefix: Option<String?> = .text("topic-prefix", name: "PREFIX",
                                                        help: "Topic prefix (default: pgk.<database>)")
        static let format: Option<ChangeEventFormat> = .choice("format", name: "FORMAT",
                                                               help: "Event shape: debezium, pg_to_brokers or flat",
                                                               default: .debezium)
        static let packing: Option<Packing> = .choice("packing", name: "PACKING",
                                                      help: "Encoding; avro registers schemas in --registry",
                                                      default: .json, only: Packing.eventPackings)
        static let keyColumns: Option<[(table: QualifiedName, columns: [String])]> = .parsedList(
            "key-columns", name: "TABLE:COL,...", help: "Key columns for a table without a primary key (repeatable)",
            WALCommands.parseKeyColumns)
        static let createTopics: Option<Bool> = .flag(
            "create-topics", help: "Create the table topics first (real brokers; the mock auto-creates)")
        static let topicPartitions: Option<Int?> = .integer("topic-partitions", 1...Int64.max,
                                                            help: "Partitions for --create-topics")
        static let exitWhenCaughtUp: Option<Bool> = .flag(
            "exit-when-caught-up",
            help: "Exit 0 once everything up to the server's WAL position at start is acknowledged")
        static let heartbeat: Option<Int64> = .duration(
            "heartbeat", bareUnitMilliseconds: 1000,
            help: "On an idle database, emit a WAL heartbeat this often (0 = off)", default: "10s")
        static let tombstones: Option<Bool?> = .negatableFlag(
            "tombstones", help: "Tombstone after a delete (default on; flat: always)")

        static let all: [OptionSpec] = [
            slotOption.spec, publicationOption.spec, snapshot.spec, topicPrefix.spec, format.spec, packing.spec,
            keyColumns.spec, createTopics.spec, topicPartitions.spec, exitWhenCaughtUp.spec, heartbeat.spec,
            tombstones.spec,
            MetricsOptions.metrics.spec,
        ]
    }
}
