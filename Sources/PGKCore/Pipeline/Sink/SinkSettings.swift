/// How rows are written when a message maps to a row that may exist.
enum SinkMode: String, Sendable, CaseIterable {
    /// Plain INSERT; a conflicting row is a bad message (dead letter).
    case insert
    /// INSERT … ON CONFLICT (key columns) DO UPDATE.
    case upsert
    /// UPDATE rows whose key columns match; others are left alone.
    case update
    /// INSERT … ON CONFLICT DO NOTHING.
    case ignore
}

enum TombstonePolicy: String, Sendable, CaseIterable {
    case delete, skip, fail
}

enum ErrorPolicy: String, Sendable, CaseIterable {
    case deadLetter = "dead-letter"
    case skip, fail
}

/// Where bad messages go under `--on-error dead-letter`.
enum DeadLetterTarget: Sendable, Equatable {
    case table(QualifiedName)
    case topic(String)

    /// `TABLE` or `topic:NAME`; an unqualified table lands in `schema`.
    static func parse(_ text: String, defaultSchema schema: String?) throws -> DeadLetterTarget {
        if text.hasPrefix("topic:") {
            let name = String(text.dropFirst("topic:".count))
            guard !name.isEmpty else { throw UsageError("--dead-letter topic: needs a topic name") }
            return .topic(name)
        }
        var name = try QualifiedName.parse(text)
        if name.schema == nil { name.schema = schema }
        return .table(name)
    }
}

enum StartPosition: String, Sendable, CaseIterable {
    case earliest, latest
}

/// Who decides which instance of a sink reads which partitions.
enum SinkCoordination: String, Sendable, CaseIterable {
    /// Advisory-lock leases in PostgreSQL (see Leases): a restart or a
    /// killed instance's partitions are picked up within seconds.
    case postgres
    /// A Kafka consumer group: rebalances by the broker, and a member that
    /// died holds its partitions until session.timeout.ms passes.
    case kafka
}

/// How message keys become the `key` text.
enum KeyPacking: String, Sendable, CaseIterable {
    /// UTF-8 text as is; invalid UTF-8 is a bad message.
    case string
    case json, msgpack, avro
}

/// Everything `pgk sink` was asked to do, already validated.
struct SinkSettings: Sendable {
    var topics: [String]
    var table: QualifiedName
    var map: SinkMap
    var packing: Packing
    var keyPacking: KeyPacking
    var group: String
    var start: StartPosition
    /// nil: upsert when there are key columns, otherwise insert.
    var mode: SinkMode?
    /// `--key-columns`, overriding the map's conflict columns.
    var keyColumns: [String]?
    /// nil: delete when there are key columns, otherwise skip.
    var onTombstone: TombstonePolicy?
    var create: Bool
    var evolve: Bool
    var drop: Bool
    var truncate: Bool
    var batchSize: Int
    var batchTimeoutMilliseconds: Int64
    var untilEnd: Bool
    var coordination: SinkCoordination = .postgres
    var maxMessages: Int?
    var fromFile: String?
    var dryRun: Bool
    var onError: ErrorPolicy
    var deadLetter: DeadLetterTarget
    var database: String?
    var kafka: KafkaConfig
    var registry: String?

    init(topics: [String], table: QualifiedName, map: SinkMap, packing: Packing = .json,
                keyPacking: KeyPacking = .string, group: String? = nil, start: StartPosition = .earliest,
                mode: SinkMode? = nil, keyColumns: [String]? = nil, onTombstone: TombstonePolicy? = nil,
                create: Bool = true, evolve: Bool = false, drop: Bool = false, truncate: Bool = false,
                batchSize: Int = 50_000, batchTimeoutMilliseconds: Int64 = 1_000, untilEnd: Bool = false,
                maxMessages: Int? = nil, fromFile: String? = nil, dryRun: Bool = false,
                onError: ErrorPolicy = .deadLetter, deadLetter: DeadLetterTarget? = nil,
                database: String? = nil, kafka: KafkaConfig = KafkaConfig(brokers: nil), registry: String? = nil) {
        self.topics = topics
        self.table = table
        self.map = map
        self.packing = packing
        self.keyPacking = keyPacking
        self.group = group ?? SinkSettings.defaultGroup(for: table)
        self.start = start
        self.mode = mode
        self.keyColumns = keyColumns
        self.onTombstone = onTombstone
        self.create = create
        self.evolve = evolve
        self.drop = drop
        self.truncate = truncate
        self.batchSize = batchSize
        self.batchTimeoutMilliseconds = batchTimeoutMilliseconds
        self.untilEnd = untilEnd
        self.maxMessages = maxMessages
        self.fromFile = fromFile
        self.dryRun = dryRun
        self.onError = onError
        self.deadLetter = deadLetter ?? .table(QualifiedName(schema: table.schema, name: table.name + "_errors"))
        self.database = database
        self.kafka = kafka
        self.registry = registry
    }

    /// Deterministic, so a restarted sink resumes where it stopped (dbsink's
    /// random default silently skipped what was produced while it was down).
    static func defaultGroup(for table: QualifiedName) -> String {
        "pgk-sink-" + table.description
    }

    /// The table a topic sinks into by default: the topic name with every
    /// character that is not a letter, digit or underscore replaced by `_`.
    static func defaultTable(forTopic topic: String) -> String {
        String(topic.unicodeScalars.map { scalar -> Character in
            scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        })
    }

    /// The conflict target in force: `--key-columns`, else the map's.
    var conflictColumns: [String] { keyColumns ?? map.conflict }

    var effectiveMode: SinkMode { mode ?? (conflictColumns.isEmpty ? .insert : .upsert) }

    var effectiveTombstonePolicy: TombstonePolicy {
        onTombstone ?? (conflictColumns.isEmpty ? .skip : .delete)
    }
}
