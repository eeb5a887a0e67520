extension OutboxCommands {
    /// `pgk cdc outbox run`'s options, each declared and decoded once.
    enum RunOptions {
        static let topicPrefix: Option<String?> = .text(
            "topic-prefix", name: "PREFIX", help: "Topic prefix before the table name (default: pgk.<database>.)")
        static let topicTemplate: Option<String?> = .text(
            "topic-template", name: "TEMPLATE",
            help: "Topic name from {database} {schema} {table}; with --table also "
                + "{aggregatetype} (default there: outbox.event.{aggregatetype})")
        static let batchSize: Option<Int> = .integer("batch-size", 1...1_000_000,
                                                     help: "Events per claim and produce batch", default: 5000)
        static let packing: Option<Packing> = .choice("packing", name: "PACKING",
                                                      help: "Value encoding: json, msgpack, or avro (needs --registry)",
                                                      default: .json, only: Packing.eventPackings)
        static let createTopics: Option<Bool> = .flag("create-topics", help: "Create missing topics instead of failing")
        static let exitWhenEmpty: Option<Bool> = .flag("exit-when-empty", help: "Exit 0 once the queue is drained")
        static let dryRun: Option<Bool> = .flag("dry-run",
                                                help: "Print events as NDJSON on stdout; ship and delete nothing")
        static let pollInterval: Option<Int64> = .duration(
            "poll-interval", bareUnitMilliseconds: 1_000,
            help: "Look for events this often even without a NOTIFY", default: "1s")
        static let table: Option<QualifiedName?> = .parsed(
            "table", name: "TABLE", help: "Ship this application-written outbox table instead",
            environment: .none, QualifiedName.parse)
        static let eventIDColumn = column("event-id-column", "With --table: the event id (header 'id')", "id")
        static let aggregateTypeColumn = column("aggregate-type-column",
                                                "With --table: the aggregate type (topic)", "aggregatetype")
        static let aggregateIDColumn = column("aggregate-id-column",
                                              "With --table: the aggregate id (key)", "aggregateid")
        static let eventTypeColumn = column("event-type-column", "With --table: the event type (header 'type')",
                                            "type")
        static let payloadColumn = column("payload-column", "With --table: the payload (value)", "payload")
        static let orderColumn: Option<String?> = .text(
            "order-column", name: "COLUMN", help: "With --table: the insert-order column (default: its identity column)",
            environment: .none)

        /// The options that only mean something with --table.
        static let applicationColumns: [OptionSpec] = [
            eventIDColumn.spec, aggregateTypeColumn.spec, aggregateIDColumn.spec, eventTypeColumn.spec,
            payloadColumn.spec, orderColumn.spec,
        ]

        static let all: [OptionSpec] = [
            topicPrefix.spec, topicTemplate.spec, batchSize.spec, packing.spec, createTopics.spec,
            exitWhenEmpty.spec, dryRun.spec, pollInterval.spec, table.spec,
            MetricsOptions.metrics.spec,
        ] + applicationColumns

        private static func column(_ long: String, _ help: String, _ defaultName: String) -> Option<String> {
            .text(long, name: "COLUMN", help: help, default: defaultName, environment: .none)
        }
    }
}
