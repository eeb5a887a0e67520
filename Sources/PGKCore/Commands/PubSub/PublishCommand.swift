/// `pgk publish STREAM`: schema-checked kafkaesk events from the shell.
enum PublishCommand {
    enum InvalidPolicy: String, CaseIterable, Sendable { case skip, fail }

    static let file = Option<String?>.path("file", short: "F", help: "Read events from FILE instead of stdin")
    static let data = Option<String?>.text("data", name: "JSON", help: "Publish this one event (a JSON object)",
                                           environment: .none)
    static let schema = Option<SchemaID?>.parsed("schema", short: "s", name: "NAME:VERSION",
                                                 help: "Validate and wrap events with this schema "
                                                     + "(file DIR/NAME.VERSION.json); required unless --raw",
                                                 environment: .none) { try SchemaID.parse($0) }
    static let schemas = Option<String?>.path("schemas", name: "DIR",
                                              help: "Directory of schema files NAME.VERSION.json (default: ./schemas)")
    static let raw = Option<Bool>.flag("raw", help: "Lines are whole envelopes; data is still validated against "
                                           + "the schema each names", environment: .none)
    static let keyField = Option<String?>.text("key-field", name: "PATH",
                                               help: "Message key from this dotted path into the event, e.g. user.id",
                                               environment: .none)
    static let keyDelimiter = Option<String?>.text("key-delimiter", short: "K", name: "DELIM",
                                                   help: "Split each line at the first DELIM into key and event",
                                                   environment: .none)
    static let header = Option<[String]>.list("header", short: "H", .keyValue, name: "KEY=VALUE",
                                              help: "Header on every message (repeatable)", environment: .none)
    static let topicPrefix = Option<String?>.text("topic-prefix", name: "PREFIX",
                                                  help: "Prefix of the topic name, as kafkaesk's --topic-prefix "
                                                      + "(default: none)")
    static let onInvalid = Option<InvalidPolicy>.choice("on-invalid", InvalidPolicy.self, name: "ACTION",
                                                        help: "Invalid events: skip them (and exit 1 at the end) "
                                                            + "or fail at the first, sending nothing more",
                                                        default: .skip)
    static let createTopic = Option<Bool>.flag("create-topic",
                                               help: "Create the topic first unless it exists", environment: .none)
    static let partitions = Option<Int>.integer("partitions", 1...1_000_000,
                                                help: "Partitions for --create-topic", default: 7)
    static let retention = Option<Int64?>.duration("retention", bareUnitMilliseconds: 1_000,
                                                   help: "retention.ms for --create-topic (bare number: seconds)")
    static let timeout = Option<Int64>.duration("timeout", bareUnitMilliseconds: 1_000,
                                                help: "Give up on unreachable brokers after this long", default: "10s")

    static let spec = CommandSpec(
        name: "publish",
        summary: "validate JSON events against a schema and publish them as kafkaesk envelopes",
        discussion: """
        Reads one event (a JSON object) per line from stdin, --file or \
        --data, validates it against --schema NAME:VERSION and produces \
        {"schema":"NAME:VERSION","data":EVENT} to PREFIX+STREAM with an \
        idempotent producer (acks=all; -X overrides), byte-compatible with \
        kafkaesk. The event's bytes are sent as written.

        Schemas are JSON Schema files named NAME.VERSION.json in --schemas \
        DIR (PGK_SCHEMAS, default ./schemas): Order:1 is ./schemas/Order.1.json. \
        Draft 2020-12 by default, draft-07 where $schema says so; $ref to \
        other files of the directory works.

        An invalid line is reported on stderr with its line number and the \
        validation error, and not sent. Exit status: 0 when every event was \
        delivered, 1 when any was rejected or not delivered, 64 for usage \
        errors. A summary goes to stderr at exit.
        """,
        arguments: [ArgumentSpec("STREAM", help: "The stream; the topic is PREFIX+STREAM")],
        options: [schema.spec, schemas.spec, file.spec, data.spec, raw.spec, keyField.spec, keyDelimiter.spec,
                  header.spec, topicPrefix.spec, onInvalid.spec, createTopic.spec, partitions.spec, retention.spec,
                  timeout.spec],
        examples: [
            Example("pgk publish orders --schema Order:1 < orders.ndjson",
                    "Validate each line against ./schemas/Order.1.json and publish the valid ones."),
            Example(#"pgk publish orders -s Order:1 --data '{"id": 1, "total": 9.5}' --key-field id"#,
                    "One event, keyed by its id."),
            Example("pgk publish orders --raw --on-invalid fail < envelopes.ndjson",
                    "Republish envelopes, checking each against the schema it names; stop at the first bad one."),
        ],
        run: { invocation in try Publisher(invocation).run() })
}
