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
        options: RunOptions.all,
        examples: [
            Example("pgk cdc outbox run --create-topics", "Ship to pgk.<database>.<table>, creating topics."),
            Example("pgk cdc outbox run --dry-run --exit-when-empty", "Print what is queued; change nothing."),
            Example("pgk cdc outbox run --table app.outbox", "Ship an application outbox (Debezium style)."),
        ],
        run: { invocation in try OutboxRunCommand(invocation).run() })
}

/// One `pgk cdc outbox run`.
struct OutboxRunCommand {
    private typealias RunOptions = OutboxCommands.RunOptions
    let invocation: Invocation
    let options: OutboxRunOptions
    let packing: Packing
    let kafka: KafkaConfig

    init(_ invocation: Invocation) throws {
        self.invocation = invocation
        var options = OutboxRunOptions()
        options.batchSize = invocation[RunOptions.batchSize]
        options.pollIntervalMilliseconds = Int(invocation[RunOptions.pollInterval])
        options.exitWhenEmpty = invocation[RunOptions.exitWhenEmpty]
        options.dryRun = invocation[RunOptions.dryRun]
        options.createTopics = invocation[RunOptions.createTopics]
        self.options = options
        packing = invocation[RunOptions.packing]
        kafka = invocation.kafkaConfig
        let applicationOutbox = invocation[RunOptions.table] != nil
        if applicationOutbox && invocation[RunOptions.topicPrefix] != nil {
            throw invocation.usageError("--topic-prefix does not apply to --table; use --topic-template")
        }
        if !applicationOutbox {
            for option in RunOptions.applicationColumns where !invocation.given(option.long).isEmpty {
                throw invocation.usageError("--\(option.long) only applies with --table")
            }
        }
    }

    func run() throws -> Int32 {
        // The first connection names the database for topics and checks the
        // queue. An unreachable database at startup is an error, not a wait
        // (a typo should not look like a hang); later outages are retried.
        let served = try invocation.startMetrics(OutboxMetrics.self)
        defer { served?.endpoint.stop() }
        let db = try OutboxCommands.connect(invocation)
        let summary: OutboxRunSummary
        if let table = invocation[RunOptions.table] {
            summary = try runApplicationOutbox(table, db: db, metrics: served?.metrics)
        } else {
            summary = try runTriggerOutbox(db: db, metrics: served?.metrics)
        }
        Log.debug("outbox: \(summary)")
        return ExitStatus.ok
    }

    private func runTriggerOutbox(db: PostgresConnection, metrics: OutboxMetrics?) throws -> OutboxRunSummary {
        var queue = TriggerOutboxQueue()
        queue.upgradesSchema = !options.dryRun
        try queue.prepare(on: db)
        let namer = try OutboxTopicNamer(template: invocation[RunOptions.topicTemplate],
                                         prefix: invocation[RunOptions.topicPrefix], database: db.databaseName)
        let registry = try invocation.registryClient(for: [packing])
        let encoder = try OutboxEventEncoder(packing: packing, namer: namer, registry: registry)
        let shipper = OutboxShipper(queue: queue, conninfo: invocation.globals.database, kafka: kafka,
                                    options: options, stop: invocation.stop, output: invocation.output,
                                    encode: encoder.message(for:), preview: { $0.jsonBytes })
        shipper.metrics = metrics
        return try shipper.run()
    }

    private func runApplicationOutbox(_ table: QualifiedName, db: PostgresConnection,
                                      metrics: OutboxMetrics?) throws -> OutboxRunSummary {
        var columns = ApplicationOutboxColumns()
        columns.id = invocation[RunOptions.eventIDColumn]
        columns.aggregateType = invocation[RunOptions.aggregateTypeColumn]
        columns.aggregateID = invocation[RunOptions.aggregateIDColumn]
        columns.type = invocation[RunOptions.eventTypeColumn]
        columns.payload = invocation[RunOptions.payloadColumn]
        columns.order = invocation[RunOptions.orderColumn]
        var queue = ApplicationOutboxQueue(table: table, columns: columns)
        try queue.prepare(on: db)
        let namer = try OutboxTopicNamer(template: invocation[RunOptions.topicTemplate] ?? "outbox.event.{aggregatetype}",
                                         prefix: nil, database: db.databaseName,
                                         allowed: OutboxTopicNamer.placeholders)
        let encoder = try ApplicationOutboxEncoder(packing: packing, namer: namer, table: queue.table!,
                                                   payloadIsJSON: queue.payloadIsJSON)
        let shipper = OutboxShipper(queue: queue, conninfo: invocation.globals.database, kafka: kafka,
                                    options: options, stop: invocation.stop, output: invocation.output,
                                    encode: encoder.message(for:), preview: encoder.previewLine(for:))
        shipper.metrics = metrics
        return try shipper.run()
    }
}
