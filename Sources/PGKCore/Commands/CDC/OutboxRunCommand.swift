extension OutboxCommands {
    static let run = CommandSpec(
        name: "run",
        summary: "ship queued events to Kafka until stopped",
        discussion: """
        Claims events in batches, produces them with an idempotent producer \
        (acks=all) and deletes them only once Kafka acknowledged them, so a \
        crash replays only unacknowledged events. Events of a row arrive in \
        commit order; the key is the external id, the timestamp the event \
        time, and header 'uuid' lets consumers drop duplicates. The shipper \
        wakes on NOTIFY and sweeps every --poll-interval. One process leads \
        (an advisory lock); others wait and take over within a second of its \
        death. SIGTERM and SIGINT finish the batch in flight and exit 0. \
        The default topic is pgk.<database>.<table> (<schema>.<table> outside \
        public). With --table it ships an application-written outbox \
        (Debezium's outbox pattern) instead: topic from the aggregate type, \
        key = aggregate id, value = the payload as JSON, headers id and type; \
        rows are taken in the order of the table's identity or serial column \
        and deleted once acknowledged. An application that runs 'NOTIFY \
        pgk_outbox' after inserting wakes the shipper at once. An outbox \
        installed by an older pgk is upgraded first (not with --dry-run), \
        which needs the rights setup needs.
        """,
        options: [
            .value("topic-prefix", name: "PREFIX",
                   help: "Topic prefix before the table name (default: pgk.<database>.)"),
            .value("topic-template", name: "TEMPLATE",
                   help: "Topic name from {database} {schema} {table}; with --table also "
                       + "{aggregatetype} (default there: outbox.event.{aggregatetype})"),
            .value("batch-size", .integer(1...1_000_000), name: "N", help: "Events per claim and produce batch",
                   default: "5000"),
            .value("packing", .choice(["json", "msgpack", "avro"]), name: "PACKING",
                   help: "Value encoding: json, msgpack, or avro (needs --registry)", default: "json"),
            .flag("create-topics", help: "Create missing topics instead of failing"),
            .flag("exit-when-empty", help: "Exit 0 once the queue is drained"),
            .flag("dry-run", help: "Print events as NDJSON on stdout; ship and delete nothing"),
            .value("poll-interval", .duration(bareUnitMilliseconds: 1_000), name: "DURATION",
                   help: "Look for events this often even without a NOTIFY", default: "1s"),
            .value("table", name: "TABLE", help: "Ship this application-written outbox table instead",
                   environment: .none),
            .value("event-id-column", name: "COLUMN", help: "With --table: the event id (header 'id')",
                   default: "id", environment: .none),
            .value("aggregate-type-column", name: "COLUMN", help: "With --table: the aggregate type (topic)",
                   default: "aggregatetype", environment: .none),
            .value("aggregate-id-column", name: "COLUMN", help: "With --table: the aggregate id (key)",
                   default: "aggregateid", environment: .none),
            .value("event-type-column", name: "COLUMN", help: "With --table: the event type (header 'type')",
                   default: "type", environment: .none),
            .value("payload-column", name: "COLUMN", help: "With --table: the payload (value)",
                   default: "payload", environment: .none),
            .value("order-column", name: "COLUMN",
                   help: "With --table: the insert-order column (default: its identity column)",
                   environment: .none),
        ],
        examples: [
            Example("pgk cdc outbox run --create-topics", "Ship to pgk.<database>.<table>, creating topics."),
            Example("pgk cdc outbox run --dry-run --exit-when-empty", "Print what is queued; change nothing."),
            Example("pgk cdc outbox run --table app.outbox", "Ship an application outbox (Debezium style)."),
        ],
        run: { invocation in try OutboxRunCommand(invocation).run() })
}

/// One `pgk cdc outbox run`.
struct OutboxRunCommand {
    let invocation: Invocation
    let options: OutboxRunOptions
    let packing: Packing
    let kafka: KafkaConfig

    init(_ invocation: Invocation) throws {
        self.invocation = invocation
        var options = OutboxRunOptions()
        options.batchSize = invocation.int("batch-size") ?? options.batchSize
        options.pollIntervalMilliseconds = Int(invocation.milliseconds("poll-interval") ?? 1_000)
        options.exitWhenEmpty = invocation.flag("exit-when-empty")
        options.dryRun = invocation.flag("dry-run")
        options.createTopics = invocation.flag("create-topics")
        self.options = options
        packing = Packing(rawValue: invocation.string("packing") ?? "json") ?? .json
        kafka = KafkaConfig(brokers: invocation.globals.brokers,
                            properties: invocation.globals.kafkaProperties.map { ($0.key, $0.value) })
        if invocation.isSet("table") && invocation.isSet("topic-prefix") {
            throw invocation.usageError("--topic-prefix does not apply to --table; use --topic-template")
        }
        if !invocation.isSet("table") {
            for option in ["event-id-column", "aggregate-type-column", "aggregate-id-column", "event-type-column",
                           "payload-column", "order-column"] where invocation.isSet(option) {
                throw invocation.usageError("--\(option) only applies with --table")
            }
        }
    }

    func run() throws -> Int32 {
        // The first connection names the database for topics and checks the
        // queue. An unreachable database at startup is an error, not a wait
        // (a typo should not look like a hang); later outages are retried.
        let db = try OutboxCommands.connect(invocation)
        let summary: OutboxRunSummary
        if let table = invocation.string("table") {
            summary = try runApplicationOutbox(try QualifiedName.parse(table), db: db)
        } else {
            summary = try runTriggerOutbox(db: db)
        }
        Log.debug("outbox: \(summary)")
        return ExitStatus.ok
    }

    private func runTriggerOutbox(db: PostgresConnection) throws -> OutboxRunSummary {
        var queue = TriggerOutboxQueue()
        queue.upgradesSchema = !options.dryRun
        try queue.prepare(on: db)
        let namer = try OutboxTopicNamer(template: invocation.string("topic-template"),
                                         prefix: invocation.string("topic-prefix"), database: db.databaseName)
        let registry = try invocation.globals.registry.map { try SchemaRegistryClient(url: $0) }
        let encoder = try OutboxEventEncoder(packing: packing, namer: namer, registry: registry)
        let shipper = OutboxShipper(queue: queue, conninfo: invocation.globals.database, kafka: kafka,
                                    options: options, stop: invocation.stop,
                                    encode: encoder.message(for:), preview: { $0.jsonBytes })
        return try shipper.run()
    }

    private func runApplicationOutbox(_ table: QualifiedName, db: PostgresConnection) throws -> OutboxRunSummary {
        var columns = ApplicationOutboxColumns()
        columns.id = invocation.string("event-id-column") ?? columns.id
        columns.aggregateType = invocation.string("aggregate-type-column") ?? columns.aggregateType
        columns.aggregateID = invocation.string("aggregate-id-column") ?? columns.aggregateID
        columns.type = invocation.string("event-type-column") ?? columns.type
        columns.payload = invocation.string("payload-column") ?? columns.payload
        columns.order = invocation.string("order-column")
        var queue = ApplicationOutboxQueue(table: table, columns: columns)
        try queue.prepare(on: db)
        let namer = try OutboxTopicNamer(template: invocation.string("topic-template") ?? "outbox.event.{aggregatetype}",
                                         prefix: nil, database: db.databaseName,
                                         allowed: OutboxTopicNamer.placeholders)
        let encoder = try ApplicationOutboxEncoder(packing: packing, namer: namer, table: queue.table!,
                                                   payloadIsJSON: queue.payloadIsJSON)
        let shipper = OutboxShipper(queue: queue, conninfo: invocation.globals.database, kafka: kafka,
                                    options: options, stop: invocation.stop,
                                    encode: encoder.message(for:), preview: encoder.previewLine(for:))
        return try shipper.run()
    }
}
