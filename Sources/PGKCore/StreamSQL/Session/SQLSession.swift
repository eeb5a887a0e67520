/// Executes `pgk sql` statements against the catalog: DDL, SHOW,
/// DESCRIBE, DROP, TERMINATE, SET and pull queries. Persistent queries
/// are created here and run by `QueryRunner`s (see SQLRun).
final class SQLSession {
    let store: CatalogStore
    let kafka: KafkaConfig
    let registry: SchemaRegistryClient?
    let output: OutputSink
    let format: OutputFormat
    let stop: StopToken
    /// Session properties (SET); ksqlDB's default start is the latest offset.
    private(set) var properties: [String: String] = ["auto.offset.reset": "latest"]
    /// `ksql.persistence.wrap.single.values`: whether a lone value column is
    /// wrapped in an object where WRAP_SINGLE_VALUE does not say.
    private var wrapsSingleValues: Bool { QueryPlanner.wrapsSingleValues(properties) }

    init(store: CatalogStore, kafka: KafkaConfig, registry: SchemaRegistryClient?, output: OutputSink, format: OutputFormat,
         stop: StopToken) {
        self.stop = stop
        self.store = store
        self.kafka = kafka
        self.registry = registry
        self.output = output
        self.format = format
    }

    func execute(_ parsed: ParsedStatement) throws {
        do {
            try run(parsed)
        } catch let error as PlanError {
            throw RuntimeError("statement at \(parsed.position): \(error.description)\n  \(parsed.text.prefix(200))")
        } catch let error as PostgresError {
            throw RuntimeError("statement at \(parsed.position): \(error)")
        }
    }

    private func run(_ parsed: ParsedStatement) throws {
        switch parsed.statement {
        case .createSource(let create): try createSource(create, text: parsed.text)
        case .createAsSelect(let create): try createAsSelect(create, text: parsed.text)
        case .select(let select): try pull(select)
        case .show(let target): try show(target)
        case .listProperties: try show(.properties)
        case .describe(let name, _): try describe(name)
        case .alter(let kind, let name, let columns): try alter(kind, name, adding: columns)
        case .drop(let kind, let name, let ifExists, let deleteTopic):
            try drop(kind, name, ifExists: ifExists, deleteTopic: deleteTopic)
        case .terminate(let id): try terminate(id)
        case .set(let name, let value):
            properties[name] = value
            Log.info("sql: property '\(name)' set to '\(value)'")
        case .unset(let name):
            properties[name] = name == "auto.offset.reset" ? "latest" : nil
        case .insertValues(let name, let columns, let values):
            try insertValues(into: name, columns: columns, values: values)
        case .insertSelect(let name, let select):
            try insertSelect(into: name, select: select, text: parsed.text)
        }
    }

    /// `WINDOW_TYPE` (and, for TUMBLING and HOPPING, `WINDOW_SIZE`): the
    /// topic's keys carry a window, read into the key columns WINDOWSTART
    /// (and WINDOWEND, for a session) as ksqlDB's windowed sources have them.
    /// Returns the size of a time window.
    static func windowedKey(_ create: CreateSource, keys: [String], columns: inout [ColumnDefinition],
                            keyColumns: inout [String]) throws -> Int64? {
        let size = try create.properties.text(of: "WINDOW_SIZE").map(SQLParser.parseDuration)
        guard let type = create.properties.text(of: "WINDOW_TYPE")?.uppercased() else {
            if size != nil { throw PlanError("WINDOW_SIZE needs WINDOW_TYPE='TUMBLING' or 'HOPPING'") }
            return nil
        }
        guard ["TUMBLING", "HOPPING", "SESSION"].contains(type) else {
            throw PlanError("WINDOW_TYPE is TUMBLING, HOPPING or SESSION, not '\(type)'")
        }
        if type == "SESSION" && size != nil { throw PlanError("a SESSION window has no WINDOW_SIZE") }
        if type != "SESSION" && (size ?? 0) <= 0 { throw PlanError("WINDOW_TYPE='\(type)' needs WINDOW_SIZE, e.g. '30 SECONDS'") }
        if keys.isEmpty { throw PlanError("a windowed source needs a key column: the window is part of the key") }
        if let taken = columns.first(where: { ["WINDOWSTART", "WINDOWEND"].contains($0.name.uppercased()) }) {
            throw PlanError("\(taken.name) is the window's own column in a windowed source")
        }
        let role = columns.first { keys.contains($0.name) }?.role ?? .key
        for name in ["WINDOWSTART", "WINDOWEND"] { columns.append(ColumnDefinition(name: name, type: .bigint, role: role)) }
        keyColumns += type == "SESSION" ? ["WINDOWSTART", "WINDOWEND"] : ["WINDOWSTART"]
        return size
    }

    private func createSource(_ create: CreateSource, text: String) throws {
        if let existing = try store.source(named: create.name) {
            if create.ifNotExists { return }
            throw PlanError("\(existing.kind.rawValue.lowercased()) \(create.name) already exists")
        }
        guard let topic = create.properties.text(of: "KAFKA_TOPIC") else {
            throw PlanError("CREATE \(create.kind.rawValue) \(create.name) needs WITH (KAFKA_TOPIC='…')")
        }
        guard let valueFormat = (create.properties.text(of: "VALUE_FORMAT") ?? create.properties.text(of: "FORMAT")
                                 ?? properties[QueryPlanner.defaultValueFormatProperty])?.uppercased() else {
            throw PlanError("CREATE \(create.kind.rawValue) \(create.name) needs WITH (VALUE_FORMAT='JSON|AVRO|DELIMITED|KAFKA')")
        }
        let keyFormat = (create.properties.text(of: "KEY_FORMAT") ?? create.properties.text(of: "FORMAT")
                         ?? QueryPlanner.defaultKeyFormat(properties)).uppercased()
        try SourceFormats.check(key: keyFormat, value: valueFormat)
        if create.columns.isEmpty {
            // pgk reads no value schema from a registry: the columns must be given.
            throw PlanError("no columns supplied: CREATE \(create.kind.rawValue) \(create.name) (column TYPE, …) WITH (…)")
        }
        var columns = create.columns
        var keys = create.columns.filter { $0.role == .key || $0.role == .primaryKey }.map(\.name)
        if let legacy = create.properties.text(of: "KEY") {
            // Old KSQL's KEY='col': the column is in the value and equals the record key.
            guard let column = create.columns.first(where: { $0.name.uppercased() == legacy.uppercased() }) else {
                throw PlanError("KEY='\(legacy)' names no column of \(create.name)")
            }
            keys = [column.name]
        }
        if create.kind == .table && keys.isEmpty {
            throw PlanError("table \(create.name) needs a PRIMARY KEY column (or the legacy KEY='column' property)")
        }
        if create.kind == .stream && create.columns.contains(where: { $0.role == .primaryKey }) {
            throw PlanError("a stream has KEY columns, not PRIMARY KEY (that is for tables)")
        }
        if create.kind == .table, let column = create.columns.first(where: { $0.role == .key }) {
            throw PlanError("column \(column.name) is a KEY column: please use PRIMARY KEY for tables")
        }
        if keys.count > 1 && ["KAFKA", "NONE"].contains(keyFormat) {
            throw PlanError("KEY_FORMAT \(keyFormat) holds one key column, and \(create.name) has \(keys.count): "
                + "use KEY_FORMAT='JSON', 'AVRO' or 'DELIMITED'")
        }
        let windowSize = try Self.windowedKey(create, keys: keys, columns: &columns, keyColumns: &keys)
        var source = CatalogSource(name: create.name, kind: create.kind, topic: topic, keyFormat: keyFormat,
                               valueFormat: valueFormat, columns: columns, keyColumns: keys,
                               partitions: create.properties.text(of: "PARTITIONS").flatMap { Int($0) },
                               queryID: nil, resultTable: nil, statement: text)
        source.windowSize = windowSize
        source.wrapSingleValue = try SourceFormats.wrapSingleValue(create.properties.text(of: "WRAP_SINGLE_VALUE"), valueFormat: valueFormat,
                                                                   valueColumns: create.columns.filter { !keys.contains($0.name) }.count,
                                                                   byDefault: wrapsSingleValues)
        try SourceFormats.checkTypes(keyFormat: keyFormat, valueFormat: valueFormat,
                                     columns: create.columns.map { ($0.name, $0.type, keys.contains($0.name)) })
        if let delimiter = create.properties.text(of: "VALUE_DELIMITER") {
            try SourceFormats.checkDelimiter(delimiter, valueFormat: valueFormat)
            source.valueDelimiter = delimiter
        }
        if let delimiter = create.properties.text(of: "KEY_DELIMITER") {
            try SourceFormats.checkDelimiter(delimiter, valueFormat: keyFormat, part: "KEY")
            source.keyDelimiter = delimiter
        }
        if let name = create.properties.text(of: "TIMESTAMP") {
            guard let column = source.column(named: name) else {
                throw PlanError("TIMESTAMP='\(name)' names no column of \(create.name)"
                    + didYouMean(name, among: create.columns.map(\.name)))
            }
            if let format = create.properties.text(of: "TIMESTAMP_FORMAT") {
                guard column.type == .string else { throw PlanError("TIMESTAMP_FORMAT needs TIMESTAMP='\(name)' to be a STRING column") }
                _ = try RowtimeFormat(javaPattern: format)
                source.timestampFormat = format
            } else if ![.bigint, .timestamp].contains(column.type) {
                throw PlanError("TIMESTAMP='\(name)' needs a BIGINT (epoch milliseconds) or TIMESTAMP column, "
                    + "or a STRING column with TIMESTAMP_FORMAT")
            }
            source.timestampColumn = column.name
        } else if create.properties.text(of: "TIMESTAMP_FORMAT") != nil {
            throw PlanError("TIMESTAMP_FORMAT needs TIMESTAMP='column' to name the string column it reads")
        }
        try store.insert(source)
        Log.info("sql: created \(create.kind.rawValue.lowercased()) \(create.name) over topic \(topic)")
    }

    private func createAsSelect(_ create: CreateAsSelect, text: String) throws {
        if let existing = try store.source(named: create.name) {
            if create.ifNotExists { return }
            throw PlanError("\(existing.kind.rawValue.lowercased()) \(create.name) already exists")
        }
        let id = try store.nextQueryID(kind: create.kind, sink: create.name)
        var planner = QueryPlanner(store: store, sources: try store.sources())
        planner.limits = try FunctionLimits(properties: properties)
        planner.wrapsSingleValues = wrapsSingleValues
        planner.defaultKeyFormat = QueryPlanner.defaultKeyFormat(properties)
        let plan = try store.connection.transaction {
            let plan = try planner.plan(create, queryID: id, statement: text)
            try store.insert(plan.sink)
            try store.insert(SQLQuery(id: id, sink: create.name, statement: text,
                                      offsetReset: properties["auto.offset.reset"] ?? "latest",
                                      functionProperties: FunctionLimits.properties(in: properties)))
            if case .table(let table) = plan.output {
                try store.connection.execute("COMMENT ON TABLE \(table) IS '\(PlanBuilder.resultComment)'")
            }
            return plan
        }
        createTopic(plan.sink.topic, partitions: plan.sink.partitions)
        Log.info("sql: created query \(id) writing \(create.kind.rawValue.lowercased()) \(create.name) (topic \(plan.sink.topic)"
            + (plan.sink.resultTable.map { ", PostgreSQL table \($0)" } ?? "") + ")")
    }

    /// ksqlDB creates a sink's topic up front; brokers without CreateTopics
    /// (librdkafka's mock) create it on first produce instead.
    private func createTopic(_ topic: String, partitions: Int?) {
        do {
            let admin = try KafkaAdmin(config: kafka)
            _ = try admin.createTopics([KafkaNewTopic(name: topic, partitions: partitions ?? 1)])
        } catch {
            Log.debug("sql: could not create topic \(topic) (\(error)); it is created when first written")
        }
    }

    /// A pull query: once, from the table's rows in PostgreSQL, any predicate.
    private func pull(_ select: Select) throws {
        if select.emitFinal { throw PlanError("EMIT FINAL is for CREATE TABLE … AS SELECT with a WINDOW; a query prints changes with EMIT CHANGES") }
        if select.emitChanges { return try push(select) }
        guard select.joins.isEmpty, select.groupBy.isEmpty, select.window == nil else {
            throw PlanError("a pull query reads one table without JOIN, GROUP BY or WINDOW")
        }
        guard let source = try store.source(named: select.from.name) else {
            throw PlanError("unknown table \(select.from.name)" + didYouMean(select.from.name, among: try store.sources().map(\.name)))
        }
        // A stream's pull query reads its topic from the start to the current end, as ksqlDB's does.
        if source.kind == .stream { return try push(select, scanning: true) }
        guard let table = source.resultTable else {
            throw PlanError("\(source.name) is not materialized: pull queries read tables made by CREATE TABLE … AS SELECT")
        }
        let connection = store.connection
        var columns = source.columns
        for index in columns.indices { columns[index].role = .value }
        // Every column reads as a plain one, except that a windowed table's bounds are named as such.
        let windowBounds = source.keyColumns.filter { ["WINDOWSTART", "WINDOWEND"].contains($0) }
        let input = QueryPlan.Input(source: CatalogSource(name: source.name, kind: .table, topic: source.topic, keyFormat: "",
                                                      valueFormat: "", columns: columns, keyColumns: windowBounds, queryID: nil,
                                                      resultTable: nil, statement: ""),
                                    qualifier: select.from.qualifier, alias: "i0", staging: "", state: table, columns: [],
                                    keyColumns: [])
        let planner = QueryPlanner(store: store, sources: [])
        let builder = PlanBuilder(planner: planner, select: select, inputs: [input], shape: .tableProjection)
        var translator = builder.translator()
        translator.comparisonsAsValues = true
        let items: [String] = try select.items.flatMap { item -> [String] in
            switch item {
            case .all:
                // ksqlDB's order: the key columns, the window bounds, then the values.
                let leading = source.plainKeyColumns + (source.isWindowed ? ["WINDOWSTART", "WINDOWEND"] : [])
                let ordered = leading.compactMap { name in source.columns.first { $0.name == name } }
                    + source.columns.filter { !leading.contains($0.name) }
                return try ordered.map { "i0.\(try connection.quoteIdentifier(postgresName($0.name))) AS \(try connection.quoteIdentifier($0.name))" }
            case .expression(.field(let base, "*"), _):
                return try builder.structFields(of: base).map { "\(try translator.sql(.field(base, $0))) AS \(try connection.quoteIdentifier($0))" }
            case .expression(let expression, let alias):
                var name = alias ?? "KSQL_COL"
                if alias == nil, case .column(_, let column) = expression { name = column }
                return ["\(try translator.sql(expression)) AS \(try connection.quoteIdentifier(name))"]
            }
        }
        var text = "SELECT \(items.joined(separator: ", ")) FROM \(table) AS i0"
        translator.comparisonsAsValues = false
        if let filter = select.filter { text += " WHERE \(try translator.sql(filter))" }
        if let limit = select.limit { text += " LIMIT \(limit)" }
        // Only a pull query that calls one of pgk's session functions needs them (and TEMP).
        if text.contains("pg_temp.") { try store.prepareAggregates() }
        let result = try connection.query("SELECT row_to_json(o.*)::text FROM (\(text)) AS o", translator.parameters)
        let names = try connection.query("SELECT * FROM (\(text)) AS o LIMIT 0", translator.parameters).columnNames
        let records: [ValueObject] = try result.rows.map { row in
            guard case .object(let object) = try JSON.decode(row[0] ?? "{}") else { return ValueObject() }
            return object
        }
        try write(records, columns: names)
    }

    func write(_ records: [ValueObject], columns: [String]) throws {
        switch format {
        case .json:
            for record in records { try output.write(JSON.encode(.object(record)) + "\n") }
        case .table:
            let rows = records.map { record in columns.map { TextTable.cell(record[$0] ?? .null) } }
            try output.write(TextTable(headers: columns).render(rows))
        }
        try output.flush()
    }

    private func show(_ target: ShowTarget) throws {
        switch target {
        case .streams, .tables:
            let kind: SourceKind = target == .streams ? .stream : .table
            let records = try store.sources().filter { $0.kind == kind }.map { source in
                ValueObject([("name", .string(source.name)), ("topic", .string(source.topic)),
                             ("key_format", .string(source.keyFormat)), ("value_format", .string(source.valueFormat)),
                             ("postgres_table", source.resultTable.map(Value.string) ?? .null)])
            }
            try write(records, columns: kind == .table ? ["name", "topic", "key_format", "value_format", "postgres_table"]
                                                       : ["name", "topic", "key_format", "value_format"])
        case .queries:
            let records = try store.queries().map { query in
                ValueObject([("id", .string(query.id)), ("sink", .string(query.sink)),
                             ("statement", .string(query.statement.replacingOccurrences(of: "\n", with: " ")))])
            }
            try write(records, columns: ["id", "sink", "statement"])
        case .topics:
            let admin = try KafkaAdmin(config: kafka)
            let records = try admin.metadata().topics.filter { !$0.name.hasPrefix("__") }.sorted { $0.name < $1.name }.map { topic in
                ValueObject([("kafka_topic", .string(topic.name)), ("partitions", .int(Int64(topic.partitions.count)))])
            }
            try write(records, columns: ["kafka_topic", "partitions"])
        case .properties:
            let records = properties.sorted { $0.key < $1.key }.map {
                ValueObject([("property", .string($0.key)), ("value", .string($0.value))])
            }
            try write(records, columns: ["property", "value"])
        }
    }

    private func describe(_ name: String) throws {
        guard let source = try store.source(named: name) else {
            throw PlanError("unknown stream or table \(name)" + didYouMean(name, among: try store.sources().map(\.name)))
        }
        let records = source.columns.map { column in
            let key = column.role == .primaryKey ? " (primary key)" : column.role == .key || source.keyColumns.contains(column.name) ? " (key)" : ""
            return ValueObject([("field", .string(column.name)), ("type", .string(column.type.description + key))])
        }
        try write(records, columns: ["field", "type"])
    }

    /// The stream or table that `verb` (ALTER, DROP) names, of that kind;
    /// nil only for a missing one under IF EXISTS.
    private func source(_ kind: SourceKind, _ name: String, for verb: String, ifExists: Bool = false) throws -> CatalogSource? {
        guard let source = try store.source(named: name) else {
            if ifExists { return nil }
            throw PlanError("unknown \(kind.rawValue.lowercased()) \(name)" + didYouMean(name, among: try store.sources().map(\.name)))
        }
        guard source.kind == kind else { throw PlanError("\(name) is a \(source.kind.rawValue.lowercased()): use \(verb) \(source.kind.rawValue)") }
        return source
    }

    /// ALTER … ADD COLUMN: value columns added to a declared stream or
    /// table; queries over it see them once planned again (`pgk sql run`).
    private func alter(_ kind: SourceKind, _ name: String, adding columns: [ColumnDefinition]) throws {
        guard var source = try source(kind, name, for: "ALTER") else { return }
        guard source.queryID == nil else {
            throw PlanError("ALTER is not supported for the result of CREATE \(kind.rawValue) … AS SELECT (\(name))")
        }
        for column in columns {
            if source.column(named: column.name) != nil || columns.filter({ $0.name.uppercased() == column.name.uppercased() }).count > 1 {
                throw PlanError("\(name) already has a column \(column.name)")
            }
        }
        try SourceFormats.checkTypes(keyFormat: source.keyFormat, valueFormat: source.valueFormat,
                                     columns: (source.columns + columns).map { ($0.name, $0.type, source.keyColumns.contains($0.name)) })
        // New columns go after the value columns, ahead of a window's own.
        let window = source.columns.firstIndex { source.isWindowed && ["WINDOWSTART", "WINDOWEND"].contains($0.name) } ?? source.columns.count
        source.columns.insert(contentsOf: columns, at: window)
        try store.connection.transaction {
            try store.deleteSource(named: name)
            try store.insert(source)
        }
        Log.info("sql: altered \(kind.rawValue.lowercased()) \(name): added \(columns.map(\.name).joined(separator: ", "))")
    }

    private func drop(_ kind: SourceKind, _ name: String, ifExists: Bool, deleteTopic: Bool) throws {
        guard let source = try source(kind, name, for: "DROP", ifExists: ifExists) else { return }
        let readers = try store.queries().filter { query in
            query.sink != name && query.statement.uppercased().contains(name.uppercased())
                && (try? SQLParser.parseScript(query.statement).first.map { Self.reads($0.statement, name) }) == true
        }
        if let reader = readers.first {
            throw PlanError("cannot drop \(name): query \(reader.id) reads it; TERMINATE \(reader.id) first")
        }
        if let writer = try store.queries().first(where: { $0.sink == name && $0.id != source.queryID }) {
            throw PlanError("cannot drop \(name): query \(writer.id) writes into it; TERMINATE \(writer.id) first")
        }
        try store.connection.transaction {
            if let id = source.queryID { try dropQueryState(id) }
            if let table = source.resultTable { try store.connection.execute("DROP TABLE IF EXISTS \(table)") }
            try store.deleteSource(named: name)
        }
        if deleteTopic {
            let admin = try KafkaAdmin(config: kafka)
            for outcome in try admin.deleteTopics([source.topic]) where outcome.error != nil {
                throw RuntimeError("dropped \(name), but deleting topic \(source.topic) failed: \(outcome.error!)")
            }
        }
        Log.info("sql: dropped \(kind.rawValue.lowercased()) \(name)")
    }

    static func reads(_ statement: Statement, _ name: String) -> Bool {
        let select: Select
        switch statement {
        case .createAsSelect(let create): select = create.select
        case .insertSelect(_, let inserted): select = inserted
        default: return false
        }
        return select.from.name == name || select.joins.contains { $0.relation.name == name }
    }

    private func terminate(_ id: String?) throws {
        let queries = try store.queries()
        let chosen = id.map { wanted in queries.filter { $0.id.uppercased() == wanted.uppercased() } } ?? queries
        if let id, chosen.isEmpty {
            throw PlanError("unknown query \(id)" + didYouMean(id, among: queries.map(\.id)))
        }
        for query in chosen {
            try store.connection.transaction { try dropQueryState(query.id) }
            Log.info("sql: terminated query \(query.id)")
        }
    }

    /// Forgets a query: its catalog row, offsets, outbox and state tables.
    /// The sink stays (as in ksqlDB), now without a writer.
    func dropQueryState(_ id: String) throws {
        let connection = store.connection
        // Exactly this query's tables: CTAS_A_1's prefix is also CTAS_A_1_1's.
        let names = [id.lowercased() + "_acc", id.lowercased() + "_clock"] + (0..<8).flatMap { [id.lowercased() + "_i\($0)", id.lowercased() + "_j\($0)"] }
        let tables = try connection.query("SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename = ANY($2::text[])",
                                          [store.schema, PostgresTextArray.literal(names)])
        for row in tables.rows {
            guard let name = row[0] else { continue }
            try connection.execute("DROP TABLE IF EXISTS \(store.table(try connection.quoteIdentifier(name)))")
        }
        try store.deleteQuery(id: id)
        try connection.execute("UPDATE \(store.table("sources")) SET query_id = NULL WHERE query_id = $1", [id])
    }
}
