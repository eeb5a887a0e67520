/// Chooses the topic for an event from a template with `{database}`,
/// `{schema}`, `{table}` and, for an application outbox, `{aggregatetype}`.
///
/// Without a template the topic is the prefix (default `pgk.<database>.`)
/// plus the table name, with the schema in front for tables outside
/// `public` (`pgk.shop.inventory.items`), so same-named tables in two
/// schemas never share a topic. Substituted names keep their case;
/// characters Kafka does not allow in topic names become `_`
/// (`TopicName.sanitize`).
struct OutboxTopicNamer: Sendable {
    static let placeholders = ["database", "schema", "table", "aggregatetype"]

    let template: String
    let database: String
    private var cache: [String: String] = [:]

    /// - Parameters:
    ///   - prefix: used only without a template.
    init(template: String?, prefix: String?, database: String,
                allowed: [String] = ["database", "schema", "table"]) throws {
        self.database = database
        if let template {
            for name in OutboxTopicNamer.placeholderNames(in: template) where !allowed.contains(name) {
                throw UsageError("--topic-template: unknown placeholder {\(name)}; use "
                    + allowed.map { "{\($0)}" }.joined(separator: ", "))
            }
            self.template = template
        } else {
            let head = prefix ?? "pgk.\(TopicName.sanitize(database))."
            self.template = OutboxTopicNamer.escapeBraces(head) + "{qualified}"
        }
    }

    static func placeholderNames(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// Prefixes are literal text; keep a brace in one from acting as a placeholder.
    private static func escapeBraces(_ text: String) -> String {
        text.replacing("{", with: "{lbrace}")
    }

    /// The topic for a table's events (cached per table).
    mutating func topic(schema: String, table: String) throws -> String {
        let cacheKey = schema + "\u{0}" + table
        if let known = cache[cacheKey] { return known }
        let topic = try render(["schema": schema, "table": table])
        cache[cacheKey] = topic
        return topic
    }

    /// The topic for an application outbox row.
    func topic(schema: String, table: String, aggregateType: String) throws -> String {
        try render(["schema": schema, "table": table, "aggregatetype": aggregateType])
    }

    private func render(_ values: [String: String]) throws -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { rest = rest[open...]; break }
            let name = String(rest[rest.index(after: open)..<close])
            switch name {
            case "database": out += TopicName.sanitize(database)
            case "lbrace": out += "{"
            case "qualified":
                let schema = values["schema"] ?? "public"
                let table = TopicName.sanitize(values["table"] ?? "")
                out += schema == "public" ? table : TopicName.sanitize(schema) + "." + table
            default: out += TopicName.sanitize(values[name] ?? "")
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        try TopicName.validate(out, hint: "check --topic-prefix/--topic-template")
        return out
    }
}

/// A topic that does not exist and was not to be created.
struct OutboxMissingTopicError: Error, CustomStringConvertible, Sendable {
    var topic: String
    var description: String {
        "Kafka topic '\(topic)' does not exist; create it (pgk topics create \(topic)) "
            + "or run with --create-topics"
    }
}

/// Makes sure each topic exists before the first event goes to it:
/// creates it with `--create-topics`, or fails naming it. Brokers that
/// cannot create topics through the admin API (the embedded mock) create
/// them on first produce instead, which is accepted with --create-topics.
final class OutboxTopicChecker {
    private let config: KafkaConfig
    private let createTopics: Bool
    private var admin: KafkaAdmin?
    private var known: Set<String> = []

    init(config: KafkaConfig, createTopics: Bool) {
        self.config = config
        self.createTopics = createTopics
    }

    func ensure(_ topics: some Sequence<String>) throws {
        let missing = Set(topics).subtracting(known)
        guard !missing.isEmpty else { return }
        let admin = try self.admin ?? KafkaAdmin(config: config)
        self.admin = admin
        let metadata = try admin.metadata()
        for topic in missing.sorted() {
            if let info = metadata.topic(topic), info.error == nil {
                known.insert(topic)
                continue
            }
            guard createTopics else { throw OutboxMissingTopicError(topic: topic) }
            try create(topic, with: admin)
            known.insert(topic)
        }
    }

    private func create(_ topic: String, with admin: KafkaAdmin) throws {
        do {
            let outcomes = try admin.createTopics([KafkaNewTopic(name: topic)])
            if let error = outcomes.first?.error, error.kind != .topicAlreadyExists {
                throw error
            }
            Log.info("outbox: created topic \(topic)")
        } catch let error as KafkaError where error.kind == .unsupported {
            Log.info("outbox: the broker cannot create topics through the admin API; "
                + "\(topic) will be auto-created on first produce (\(error.name))")
        }
    }
}
