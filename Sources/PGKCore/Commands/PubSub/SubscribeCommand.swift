/// `pgk subscribe PATTERN… -g GROUP`: kafkaesk events to stdout or to a
/// program, schema-checked, at least once.
enum SubscribeCommand {
    static let group: Option<String?> = .text("group", short: "g", name: "GROUP",
                                              help: "Consumer group (required, as in kafkaesk)", required: true)
    static let topicPrefix: Option<String?> = .text("topic-prefix", name: "PREFIX",
                                                    help: "Prefix before each pattern, as publish's --topic-prefix")
    static let schema: Option<[String]> = .list("schema", short: "s", name: "NAME[:VERSION]",
                                                help: "Accept only this schema (all its versions without :VERSION) "
                                                    + "and validate data against it (repeatable)",
                                                environment: .none)
    static let schemas = Option<String?>.path("schemas", name: "DIR",
                                              help: "Directory of schema files NAME.VERSION.json (default: ./schemas)")
    static let output: Option<Subscriber.OutputMode?> = .choice(
        "output", short: "o", Subscriber.OutputMode.self, name: "FORM",
        help: "data: the event; envelope: schema and data; record: with topic, partition, offset, key, headers, "
            + "timestamp (default: record with --worker, else data)")
    static let deadLetter: Option<String?> = .text("dead-letter", name: "TOPIC",
                                                   help: "Send rejected and failed messages here, reasons in headers "
                                                       + "(default: skip and count them)")
    static let exec: Option<String?> = .text("exec", name: "CMD",
                                             help: "Run CMD (/bin/sh -c) per message, the message on stdin; "
                                                 + "exit 0 means done", environment: .none)
    static let worker: Option<String?> = .text("worker", name: "CMD",
                                               help: "Start CMD (/bin/sh -c) per lane as a long-lived worker: one "
                                                   + "message per stdin line, one 'ok' line back per message",
                                               environment: .none)
    static let concurrency: Option<Int> = .integer("concurrency", short: "c", 1...1_024,
                                                   help: "Handler lanes running side by side", default: 1)
    static let order: Option<LaneOrder> = .choice("order", name: "BY",
                                                  help: "What keeps its order across lanes: each partition, or "
                                                      + "each key", default: .partition)
    static let retries: Option<Int> = .integer("retries", 0...1_000, help: "Retries of a failing handler", default: 0)
    static let backoff: Option<Int64> = .duration("backoff", bareUnitMilliseconds: 1_000,
                                                  help: "Pause between retries", default: "1s")
    static let timeout: Option<Int64?> = .duration("timeout", bareUnitMilliseconds: 1_000,
                                                   help: "Kill a handler running longer than this; that is a failure")
    static let onError: Option<Subscriber.ErrorPolicy?> = .choice(
        "on-error", Subscriber.ErrorPolicy.self, name: "ACTION",
        help: "After the retries: dead-letter, stop (commit nothing past it) or skip "
            + "(default: dead-letter with --dead-letter, else stop)")
    static let count: Option<Int?> = .integer("count", short: "n", 1...Int64.max,
                                              help: "Exit after N messages (accepted or not)")
    static let untilEnd: Option<Bool> = .flag("until-end", help: "Exit once every assigned partition is read to its end",
                                              environment: .none)
    static let offset: Option<Subscriber.StartPosition> = .choice(
        "offset", name: "WHERE", help: "Where a group without committed offsets starts", default: .earliest)

    static let spec = CommandSpec(
        name: "subscribe",
        summary: "consume kafkaesk events: schema-checked, to stdout or a program, at least once",
        discussion: """
        Joins GROUP on the topics PREFIX+PATTERN; patterns are shell globs \
        (*, ?, [abc], [!abc]) and pick up matching topics created later. \
        Each message must be a kafkaesk envelope {"schema":"NAME:VERSION",\
        "data":{…}}; with --schema only those schemas are accepted and data \
        is validated against DIR/NAME.VERSION.json. A message that is not \
        JSON, not an envelope, of another schema or invalid goes to \
        --dead-letter with the reason in headers (pgk-error-code, pgk-error, \
        pgk-source-topic/-partition/-offset), or is skipped and counted.

        Accepted messages go to stdout as one JSON line each (--output), or \
        to a handler. --exec CMD runs once per message with the line on \
        stdin and PGK_TOPIC, PGK_PARTITION, PGK_OFFSET, PGK_KEY and \
        PGK_SCHEMA in its environment; exit 0 means done. --worker CMD \
        starts long-lived workers (the fast path): pgk writes one message per \
        line to a worker's stdin and the worker answers each, in order, with \
        one line on stdout: "ok" when done, anything else (e.g. "error \
        REASON") when it failed. Up to 64 messages are in flight per worker; \
        PGK_WORKER and PGK_WORKERS tell a worker which it is. A worker that \
        exits or stays silent past --timeout is restarted.

        --concurrency N runs N handler lanes side by side; each partition \
        (or each key, --order key) stays on one lane, in order. A failure is \
        retried --retries times before the lane moves on, then \
        dead-lettered with every attempt in header pgk-retry-history, or pgk \
        stops (--on-error stop) without committing it.

        Only the contiguous prefix of finished messages is committed: \
        written and flushed, handled, or dead-lettered and acknowledged. A \
        crash repeats messages but never loses one, and nothing is committed \
        past a message that failed or is still running. SIGINT/SIGTERM stop \
        fetching, let the messages in hand finish, commit and exit 0.
        """,
        arguments: [ArgumentSpec("PATTERN", help: "Topic names or globs, after --topic-prefix", arity: .oneOrMore)],
        options: [group.spec, topicPrefix.spec, schema.spec, schemas.spec, output.spec, deadLetter.spec, exec.spec,
                  worker.spec, concurrency.spec, order.spec, retries.spec, backoff.spec, timeout.spec, onError.spec,
                  count.spec, untilEnd.spec, offset.spec, MetricsOptions.metrics.spec],
        examples: [
            Example("pgk subscribe orders -g billing --schema Order", "Valid Order events of any version, as NDJSON."),
            Example("pgk subscribe 'orders.*' -g audit -o record --dead-letter orders.dlq",
                    "Every matching topic; the full record per line; bad messages to orders.dlq."),
            Example("pgk subscribe orders -g mail --exec ./mail.sh --retries 3 --dead-letter dlq",
                    "One process per event, retried, then dead-lettered with its history."),
            Example("pgk subscribe orders -g bill --worker ./bill.py -c 4 --order key --timeout 30s",
                    "Four long-lived workers; each key in order; a stuck worker is restarted."),
        ],
        run: { invocation in try run(invocation) })

    static func run(_ invocation: Invocation) throws -> Int32 {
        let prefix = invocation[topicPrefix] ?? ""
        let subscriptions = try invocation.arguments("PATTERN").map { try TopicGlob.subscription(prefix: prefix, pattern: $0) }
        var accepted: Set<SchemaID>?
        var catalog: SchemaCatalog?
        let filters = invocation[schema]
        if !filters.isEmpty {
            let directory = invocation[schemas] ?? SchemaCatalog.defaultDirectory
            do {
                let opened = try SchemaCatalog(directory: directory)
                var ids: Set<SchemaID> = []
                for filter in filters {
                    let resolved = try opened.resolveFilter(filter)
                    // Compile now: a missing or broken schema file is found before consuming.
                    for id in resolved { _ = try opened.schema(id) }
                    ids.formUnion(resolved)
                }
                accepted = ids
                catalog = opened
            } catch {
                throw invocation.usageError("--schema: \(error)")
            }
        }
        let deadLetterTopic = invocation[deadLetter]
        var settings = Subscriber.Settings(subscriptions: subscriptions, group: invocation[group]!,
                                           filter: EnvelopeFilter(accepted: accepted, catalog: catalog),
                                           kafka: invocation.kafkaConfig)
        let workerCommand = invocation[worker]
        settings.output = invocation[output] ?? (workerCommand == nil ? .data : .record)
        settings.deadLetterTopic = deadLetterTopic
        let policy = HandlerPolicy(retries: invocation[retries], backoffMilliseconds: invocation[backoff],
                                   timeoutMilliseconds: invocation[timeout])
        settings.policy = policy
        switch (invocation[exec], workerCommand) {
        case (let command?, nil):
            settings.handler = .exec(ExecHandler(command: command, environment: invocation.environment,
                                                 timeoutMilliseconds: policy.timeoutMilliseconds))
        case (nil, let command?):
            settings.handler = .worker(command: command, environment: invocation.environment)
        case (nil, nil):
            for (given, name) in [(invocation.wasGiven(concurrency), "--concurrency"), (invocation.wasGiven(order), "--order"),
                                  (invocation.wasGiven(timeout), "--timeout"), (invocation.wasGiven(retries), "--retries")]
            where given {
                throw invocation.usageError("\(name) needs a handler: --exec CMD or --worker CMD")
            }
        case (_?, _?):
            throw invocation.usageError("--exec and --worker exclude each other: pick one way to run the handler")
        }
        settings.concurrency = invocation[concurrency]
        settings.order = invocation[order]
        settings.onHandlerError = invocation[onError] ?? (deadLetterTopic == nil ? .stop : .deadLetter)
        settings.policy.stopOnFailure = settings.onHandlerError == .stop
        if settings.onHandlerError == .deadLetter && deadLetterTopic == nil {
            throw invocation.usageError("--on-error dead-letter needs --dead-letter TOPIC")
        }
        settings.maxMessages = invocation[count]
        settings.untilEnd = invocation[untilEnd]
        settings.start = invocation[offset]
        let served = try invocation.startMetrics(SubscribeMetrics.self)
        defer { served?.endpoint.stop() }
        settings.metrics = served?.metrics
        let summary = try Subscriber(settings: settings, output: invocation.output, stop: invocation.stop).run()
        // A script reading to the end learns that something was dropped; a stopped consumer exits 0.
        return summary.skipped > 0 && !invocation.stop.isStopped ? ExitStatus.failure : ExitStatus.ok
    }
}
