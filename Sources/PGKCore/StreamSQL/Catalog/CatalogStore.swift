/// The catalog in PostgreSQL (`--state-schema`, default `pgk_sql`):
/// streams, tables, persistent queries, their committed source offsets,
/// the changelog outbox and dead letters. What ksqlDB keeps in its
/// command topic survives restarts here, next to the results.
final class CatalogStore {
    let connection: PostgresConnection
    let schema: String
    /// The schema, quoted by libpq, for statements.
    let quotedSchema: String
    private var aggregatesPrepared = false

    init(connection: PostgresConnection, schema: String) throws {
        self.connection = connection
        self.schema = schema
        quotedSchema = try connection.quoteIdentifier(schema)
        // ksqlDB's times are UTC: so are timestamps parsed or shown here.
        try connection.execute("SET TimeZone = 'UTC'")
    }

    /// Creates the session-local aggregates and functions plans use
    /// (SessionFunctions), and sizes `work_mem`, once per connection, when a query is first
    /// planned on it, or by a pull query that calls one (SHOW and other
    /// pull queries need no TEMP privilege).
    func prepareAggregates() throws {
        guard !aggregatesPrepared else { return }
        if try connection.query("SELECT to_regprocedure('pg_temp.kparse(text, text)') IS NULL").scalar == "t" {
            try connection.executeScript(SessionFunctions.script + SessionFunctions.patternScript)
        }
        // At PostgreSQL's built-in 4MB, a join batch's hash and sort of 50k
        // records spilled to disk; raised only where no one has set it.
        _ = try connection.query("SELECT set_config('work_mem', '64MB', false) FROM pg_settings WHERE name = 'work_mem' AND source = 'default'")
        aggregatesPrepared = true
    }

    func table(_ name: String) -> String { "\(quotedSchema).\(name)" }

    /// Creates the catalog tables once; concurrent first runs are serialized by a lock.
    func prepare() throws {
        // The last migration below in place: the rest is too (they run in
        // one transaction), and a run starts without some 15 DDL round trips.
        let latest = try connection.query("""
            SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'value'
                           AND atttypid = 'json'::regtype AND NOT attisdropped)
            """, [table("changelog")]).scalar
        if latest == "t" { return }
        try connection.transaction {
            _ = try connection.query("SELECT pg_advisory_xact_lock(hashtext('pgk_sql catalog ' || $1))", [schema])
            try connection.executeScript("""
                CREATE SCHEMA IF NOT EXISTS \(quotedSchema);
                CREATE TABLE IF NOT EXISTS \(table("sources")) (
                  name text PRIMARY KEY, kind text NOT NULL, topic text NOT NULL,
                  key_format text NOT NULL, value_format text NOT NULL, columns jsonb NOT NULL,
                  key_columns text[] NOT NULL, partitions integer, query_id text, result_table text,
                  statement text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS \(table("queries")) (
                  id text PRIMARY KEY, sink text NOT NULL, statement text NOT NULL,
                  offset_reset text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
                CREATE TABLE IF NOT EXISTS \(table("offsets")) (
                  query_id text NOT NULL, topic text NOT NULL, partition integer NOT NULL,
                  next_offset bigint NOT NULL, PRIMARY KEY (query_id, topic, partition));
                CREATE TABLE IF NOT EXISTS \(table("changelog")) (
                  seq bigserial PRIMARY KEY, query_id text NOT NULL, topic text NOT NULL,
                  key jsonb, value jsonb);
                CREATE TABLE IF NOT EXISTS \(table("dead_letters")) (
                  id bigserial PRIMARY KEY, query_id text NOT NULL, topic text NOT NULL,
                  partition integer NOT NULL, kafka_offset bigint NOT NULL, reason text NOT NULL,
                  key bytea, value bytea, at timestamptz NOT NULL DEFAULT now());
                CREATE SEQUENCE IF NOT EXISTS \(table("arrival"));
                ALTER TABLE \(table("sources")) ADD COLUMN IF NOT EXISTS timestamp_column text;
                ALTER TABLE \(table("sources")) ADD COLUMN IF NOT EXISTS timestamp_format text;
                ALTER TABLE \(table("changelog")) ADD COLUMN IF NOT EXISTS ts bigint;
                ALTER TABLE \(table("sources")) ADD COLUMN IF NOT EXISTS value_delimiter text;
                ALTER TABLE \(table("sources")) ADD COLUMN IF NOT EXISTS wrap_single_value boolean;
                ALTER TABLE \(table("sources")) ADD COLUMN IF NOT EXISTS key_delimiter text;
                ALTER TABLE \(table("queries")) ADD COLUMN IF NOT EXISTS function_properties jsonb;
                ALTER TABLE \(table("sources")) ADD COLUMN IF NOT EXISTS window_size bigint;
                -- Keep last: prepare() checks for this type. The outbox holds
                -- JSON text: its rows are written once and read once, as text;
                -- jsonb took a quarter of each insert and a third of each read.
                ALTER TABLE \(table("changelog")) ALTER COLUMN key TYPE json USING key::json,
                  ALTER COLUMN value TYPE json USING value::json;
                """)
        }
    }

    // MARK: sources

    func sources() throws -> [CatalogSource] {
        let result = try connection.query("""
            SELECT name, kind, topic, key_format, value_format, columns::text, array_to_json(key_columns)::text,
                   partitions, query_id, result_table, statement, timestamp_column, timestamp_format, value_delimiter,
                   wrap_single_value, key_delimiter, window_size FROM \(table("sources")) ORDER BY name
            """)
        return try result.rows.map { row in
            guard let name = row[0], let kind = row[1].flatMap(SourceKind.init(rawValue:)), let topic = row[2],
                  let keyFormat = row[3], let valueFormat = row[4], let columnsText = row[5], let keysText = row[6]
            else { throw PlanError("catalog row for \(row[0] ?? "?") is incomplete") }
            var columns: [ColumnDefinition] = []
            if case .array(let items) = try JSON.decode(columnsText) {
                for item in items {
                    guard let name = item["name"]?.stringValue, let type = item["type"]?.stringValue else { continue }
                    let role: ColumnDefinition.Role = switch item["role"]?.stringValue {
                    case "key": .key
                    case "primaryKey": .primaryKey
                    case "headers": .headers
                    default: .value
                    }
                    columns.append(ColumnDefinition(name: name, type: try SQLTypeText.parse(type), role: role))
                }
            }
            var keys: [String] = []
            if case .array(let items) = try JSON.decode(keysText) { keys = items.compactMap(\.stringValue) }
            return CatalogSource(name: name, kind: kind, topic: topic, keyFormat: keyFormat, valueFormat: valueFormat,
                             columns: columns, keyColumns: keys, partitions: row[7].flatMap { Int($0) },
                             queryID: row[8], resultTable: row[9], statement: row[10] ?? "", timestampColumn: row[11],
                             timestampFormat: row[12], valueDelimiter: row[13], keyDelimiter: row[15],
                             windowSize: row[16].flatMap { Int64($0) }, wrapSingleValue: row[14] != "f")
        }
    }

    func source(named name: String) throws -> CatalogSource? {
        try sources().first { $0.name == name }
    }

    func insert(_ source: CatalogSource) throws {
        let columns = Value.array(source.columns.map { column in
            let role = switch column.role {
            case .value: "value"
            case .key: "key"
            case .primaryKey: "primaryKey"
            case .headers: "headers"
            }
            return .object(ValueObject([("name", .string(column.name)), ("type", .string(column.type.description)),
                                        ("role", .string(role))]))
        })
        let keys = JSON.encode(.array(source.keyColumns.map { .string($0) }))
        try connection.execute("""
            INSERT INTO \(table("sources")) (name, kind, topic, key_format, value_format, columns, key_columns,
                                             partitions, query_id, result_table, statement, timestamp_column, timestamp_format,
                                             value_delimiter, wrap_single_value, key_delimiter, window_size)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8::integer,
                    $9, $10, $11, $12, $13, $14, $15::boolean, $16, $17::bigint)
            """, [source.name, source.kind.rawValue, source.topic, source.keyFormat, source.valueFormat,
                  JSON.encode(columns), keys, source.partitions.map(String.init), source.queryID,
                  source.resultTable, source.statement, source.timestampColumn, source.timestampFormat, source.valueDelimiter,
                  String(source.wrapSingleValue), source.keyDelimiter, source.windowSize.map(String.init)])
    }

    func deleteSource(named name: String) throws {
        try connection.execute("DELETE FROM \(table("sources")) WHERE name = $1", [name])
    }

    // MARK: queries

    func queries() throws -> [SQLQuery] {
        try connection.query("""
            SELECT id, sink, statement, offset_reset, function_properties::text FROM \(table("queries")) ORDER BY created_at, id
            """).rows.map { row in
            var properties: [String: String] = [:]
            if let text = row[4], case .object(let object) = try JSON.decode(text) {
                for (name, value) in object { properties[name] = value.stringValue }
            }
            return SQLQuery(id: row[0] ?? "", sink: row[1] ?? "", statement: row[2] ?? "", offsetReset: row[3] ?? "latest",
                            functionProperties: properties)
        }
    }

    func insert(_ query: SQLQuery) throws {
        let properties = JSON.encode(.object(ValueObject(query.functionProperties.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
        try connection.execute("""
            INSERT INTO \(table("queries")) (id, sink, statement, offset_reset, function_properties) VALUES ($1, $2, $3, $4, $5::jsonb)
            """, [query.id, query.sink, query.statement, query.offsetReset, properties])
    }

    /// Forgets a query with its offsets and unsent changelog.
    func deleteQuery(id: String) throws {
        for name in ["queries", "offsets", "changelog"] {
            let column = name == "queries" ? "id" : "query_id"
            try connection.execute("DELETE FROM \(table(name)) WHERE \(column) = $1", [id])
        }
    }

    /// The next query id for a sink, ksqlDB style: CTAS_NAME_n / CSAS_NAME_n.
    func nextQueryID(kind: SourceKind, sink: String) throws -> String {
        let prefix = (kind == .table ? "CTAS_" : "CSAS_") + sink + "_"
        let count = try connection.query("SELECT count(*) FROM \(table("queries")) WHERE starts_with(id, $1)", [prefix]).scalar
        return prefix + String((Int(count ?? "0") ?? 0) + 1)
    }

    // MARK: offsets

    func offsets(query id: String) throws -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for row in try connection.query("SELECT topic, partition, next_offset FROM \(table("offsets")) WHERE query_id = $1", [id]).rows {
            guard let topic = row[0], let partition = row[1].flatMap({ Int32($0) }), let next = row[2].flatMap({ Int64($0) })
            else { continue }
            result[KafkaTopicPartition(topic: topic, partition: partition)] = next
        }
        return result
    }

    /// Stores next offsets inside the caller's transaction, in one
    /// statement: a batch over 16 partitions made 16 round trips.
    func storeOffsets(query id: String, _ next: [KafkaTopicPartition: Int64]) throws {
        guard !next.isEmpty else { return }
        let sorted = next.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
        try connection.execute("""
            INSERT INTO \(table("offsets")) (query_id, topic, partition, next_offset)
            SELECT $1, n.topic, n.partition, n.next_offset FROM unnest($2::text[], $3::integer[], $4::bigint[]) AS n(topic, partition, next_offset)
            ON CONFLICT (query_id, topic, partition) DO UPDATE SET next_offset = excluded.next_offset
            """, [id, PostgresTextArray.literal(sorted.map(\.key.topic)), PostgresTextArray.literal(sorted.map { String($0.key.partition) }),
                  PostgresTextArray.literal(sorted.map { String($0.value) })])
    }
}
