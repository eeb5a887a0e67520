/// `INSERT INTO name [(columns)] VALUES (…)`: one record produced to the
/// source's topic in its key and value formats, as ksqlDB does. The
/// values are evaluated (and cast to the columns' types) by PostgreSQL;
/// `ROWTIME` among the columns sets the record's timestamp.
extension SQLSession {
    func insertValues(into name: String, columns named: [String]?, values: [Expression]) throws {
        guard let source = try store.source(named: name) else {
            throw PlanError("unknown stream or table \(name)" + didYouMean(name, among: try store.sources().map(\.name)))
        }
        let writable = source.columns.filter { $0.role != .headers }
        let targets = named ?? writable.map(\.name)
        guard targets.count == values.count else {
            throw PlanError("INSERT INTO \(name) names \(targets.count) column(s) but gives \(values.count) value(s)")
        }
        // Each value as jsonb under its column's PostgreSQL name, cast to its type.
        var translator = ExpressionTranslator(parameterOffset: 0) { _, column in
            throw PlanError("VALUES takes literals and functions, not the column \(column)")
        }
        var fields: [String] = [], timestamp: String?
        for (target, value) in zip(targets, values) {
            if target.uppercased() == "ROWTIME" {
                timestamp = "CAST(\(try translator.sql(value)) AS bigint)"
                continue
            }
            guard let column = writable.first(where: { $0.name == target.uppercased() || $0.name == target }) else {
                throw PlanError("\(name) has no column \(target)" + didYouMean(target, among: writable.map(\.name)))
            }
            let key = try translator.sql(.literal(.string(postgresName(column.name))))
            fields.append("\(key), to_jsonb(CAST(\(try translator.sql(value)) AS \(try PostgresType.of(column.type))))")
        }
        let row = try store.connection.query(
            "SELECT jsonb_build_object(\(fields.joined(separator: ", ")))::text, \(timestamp ?? "NULL")", translator.parameters)
        guard let text = row.rows.first?[0] else { throw PlanError("INSERT INTO \(name): no row") }
        let record = try JSON.decode(text)
        let encoder = OutputEncoder(sink: source, registry: registry)
        let producer = try KafkaProducer(config: kafka, defaults: [("partitioner", "murmur2_random")])
        try producer.produce(topic: source.topic, key: try encoder.key(record), value: try encoder.value(record),
                             timestamp: row.rows.first?[1].flatMap { Int64($0) })
        try producer.flush(timeoutMilliseconds: kafka.connectTimeoutMilliseconds)
        guard producer.failedCount == 0 else {
            throw RuntimeError("INSERT INTO \(name): the record was not delivered to \(source.topic): "
                + (producer.failures.first?.error.map { "\($0)" } ?? "timed out"))
        }
        Log.info("sql: inserted 1 row into \(name) (topic \(source.topic))")
    }
}

/// `INSERT INTO stream SELECT …`: a persistent query (INSERTQUERY_n)
/// writing into an existing stream, in that stream's topic and formats;
/// its SELECT must give the stream's columns.
extension SQLSession {
    /// The query as a CREATE STREAM … AS SELECT over the target's topic and formats.
    static func insertion(into name: String, select: Select, store: CatalogStore) throws -> CreateAsSelect {
        try insertionAndTarget(into: name, select: select, store: store).create
    }

    private static func insertionAndTarget(into name: String, select: Select, store: CatalogStore)
        throws -> (create: CreateAsSelect, target: CatalogSource) {
        guard let target = try store.source(named: name) else {
            throw PlanError("unknown stream \(name)" + didYouMean(name, among: try store.sources().map(\.name)))
        }
        guard !target.isTable else { throw PlanError("INSERT INTO … SELECT writes into a stream; \(name) is a table") }
        guard select.from.name != name, !select.joins.contains(where: { $0.relation.name == name }) else {
            throw PlanError("INSERT INTO \(name) cannot read \(name) itself")
        }
        let create = CreateAsSelect(kind: .stream, name: name, properties: [
            SourceProperty(name: "KAFKA_TOPIC", value: .string(target.topic)),
            SourceProperty(name: "VALUE_FORMAT", value: .string(target.valueFormat)),
            SourceProperty(name: "KEY_FORMAT", value: .string(target.keyFormat)),
        ], select: select)
        return (create, target)
    }

    func insertSelect(into name: String, select: Select, text: String) throws {
        let (create, target) = try Self.insertionAndTarget(into: name, select: select, store: store)
        let prefix = "INSERTQUERY_"
        let count = try store.queries().filter { $0.id.hasPrefix(prefix) }.count
        let id = prefix + String(count + 1)
        var planner = QueryPlanner(store: store, sources: try store.sources().filter { $0.name != name })
        planner.limits = try FunctionLimits(properties: properties)
        try store.connection.transaction {
            let plan = try planner.plan(create, queryID: id, statement: text)
            // ksqlDB asks for the same columns, keys included.
            let wanted = target.columns.filter { $0.role != .headers }.map { "\($0.name)\($0.role == .value ? "" : " KEY")" }
            let given = plan.sink.columns.map { "\($0.name)\($0.role == .value ? "" : " KEY")" }
            guard Set(wanted) == Set(given) else {
                throw PlanError("INSERT INTO \(name) needs the columns \(wanted.joined(separator: ", ")); "
                    + "the SELECT gives \(given.joined(separator: ", "))")
            }
            // And the same types, as far as PostgreSQL's describe tells them.
            for column in target.columns where column.role != .headers {
                guard let given = plan.sink.columns.first(where: { $0.name == column.name }),
                      !Self.sameSchema(column.type, given.type) else { continue }
                throw PlanError("Incompatible schema between results and sink: \(column.name) is \(column.type) in \(name), "
                    + "the SELECT gives \(given.type)")
            }
            try store.insert(SQLQuery(id: id, sink: name, statement: text, offsetReset: properties["auto.offset.reset"] ?? "latest",
                                      functionProperties: FunctionLimits.properties(in: properties)))
        }
        Log.info("sql: created query \(id) writing into stream \(name) (topic \(target.topic))")
    }

    /// Column types that match for INSERT INTO: exactly, except where a
    /// described result cannot say more than its kind (a DECIMAL's
    /// precision, a MAP's or STRUCT's fields, both jsonb in PostgreSQL).
    static func sameSchema(_ a: SQLType, _ b: SQLType) -> Bool {
        switch (a, b) {
        case (.decimal, .decimal): return true
        case (.map, .map), (.struct, .struct), (.map, .struct), (.struct, .map): return true
        case (.array(let x), .array(let y)): return sameSchema(x, y)
        default: return a == b
        }
    }
}
