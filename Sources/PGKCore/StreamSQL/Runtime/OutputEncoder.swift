/// Encodes a query's output rows (as PostgreSQL's `to_jsonb`, keyed by
/// PostgreSQL column names) into Kafka keys and values in the sink's
/// formats, with ksqlDB's upper-case field names. Key columns go to the
/// key only, as in ksqlDB (to the value as well for an old KEY='col' layout).
final class OutputEncoder {
    let sink: CatalogSource
    private let registry: SchemaRegistryClient?
    /// (PostgreSQL name, ksqlDB name, type) of value columns, in order.
    let valueColumns: [(postgres: String, name: String, type: SQLType)]
    let keyColumns: [(postgres: String, name: String, type: SQLType)]
    private var avro: (schema: AvroSchema, id: Int32)?
    private var avroKey: (schema: AvroSchema, id: Int32)?
    /// Keys of a windowed table: the group key then the window start as
    /// 8 big-endian bytes (ksqlDB's time-windowed key format); a session's
    /// key is the group key, its end, then its start (Kafka Streams' session key).
    let windowed: Bool
    private let session: Bool
    /// Set where keys, and changelog rows, may be encoded straight from PostgreSQL's JSON.
    private(set) lazy var flatKeyLayout = FlatKeyLayout(self)
    private(set) lazy var flatLayout = FlatChangelogLayout(self)

    init(sink: CatalogSource, registry: SchemaRegistryClient?) {
        self.sink = sink
        self.registry = registry
        let columns = sink.columns.map { (postgres: postgresName($0.name), name: $0.name, type: $0.type) }
        let windowColumns = ["WINDOWSTART", "WINDOWEND"]
        let windowed = sink.keyColumns.contains("WINDOWSTART")
        self.windowed = windowed
        session = windowed && sink.keyColumns.contains("WINDOWEND")
        // In key order (GROUP BY, PARTITION BY), not the SELECT's.
        keyColumns = sink.keyColumns.compactMap { name in columns.first { $0.name == name } }
            .filter { column in !(windowed && windowColumns.contains(column.name)) }
        valueColumns = columns.filter { column in
            // (An old KEY='col' layout's key columns are value columns as well.)
            (sink.keysInValue || !sink.keyColumns.contains(column.name)) && !(windowed && windowColumns.contains(column.name))
        }
    }

    /// Whether keys come from the row (else the source's key passes through).
    var hasKeyColumns: Bool { !keyColumns.isEmpty || windowed }

    /// nil when the sink has no key columns (the source's key passes through).
    func key(_ row: Value) throws -> [UInt8]? {
        if windowed {
            let inner = try keyWithoutWindow(row, keyColumns) ?? []
            let bounds = session ? ["windowend", "windowstart"] : ["windowstart"]
            return try bounds.reduce(inner) { bytes, bound in bytes + (try KafkaPrimitive.encode(row[bound] ?? .null, as: .bigint)) }
        }
        guard !keyColumns.isEmpty else { return nil }
        return try keyWithoutWindow(row, keyColumns)
    }

    private func keyWithoutWindow(_ row: Value, _ keyColumns: [(postgres: String, name: String, type: SQLType)]) throws -> [UInt8]? {
        guard !keyColumns.isEmpty else { return nil }
        let values = keyColumns.map { row[$0.postgres] ?? .null }
        // A NULL single key is a null key in every format, as Kafka serializers write it.
        if keyColumns.count == 1 && values[0].isNull { return nil }
        // One key column is written bare, several as an object (record).
        let format = sink.keyFormat
        let keyObject = Value.object(ValueObject(zip(keyColumns, values).map { ($0.0.name, normalized($0.1, $0.0.type, format)) }))
        switch sink.keyFormat {
        case "NONE": return nil
        case "DELIMITED":
            return Array(delimitedLine(values, separator: sink.keySeparator).utf8)
        case "AVRO":
            let (schema, id) = try avroKeySchema()
            return ConfluentFrame.header(schemaID: id) + (try schema.encode(keyColumns.count == 1 ? normalized(values[0], keyColumns[0].type, format) : keyObject))
        case "KAFKA" where keyColumns.count == 1:
            return try KafkaPrimitive.encode(values[0], as: keyColumns[0].type)
        default:
            return Array(JSON.encode(keyColumns.count == 1 ? values[0] : keyObject).utf8)
        }
    }

    /// nil for a deleted row (a tombstone).
    func value(_ row: Value?) throws -> [UInt8]? {
        guard let row, !row.isNull else { return nil }
        let object = ValueObject(valueColumns.map { ($0.name, normalized(row[$0.postgres] ?? .null, $0.type, sink.valueFormat)) })
        if !sink.wrapSingleValue, sink.valueFormat == "JSON", let only = valueColumns.first {
            // Unwrapped: the column's value alone; a NULL one is the JSON null, not a tombstone.
            return Array(JSON.encode(object[only.name] ?? .null).utf8)
        }
        switch sink.valueFormat {
        case "AVRO":
            let (schema, id) = try avroSchema()
            return ConfluentFrame.header(schemaID: id) + (try schema.encode(.object(object)))
        case "DELIMITED":
            return Array(delimitedLine(object.map { $0.1 }, separator: sink.delimiter).utf8)
        case "KAFKA":
            guard let first = valueColumns.first else { return [] }
            return try KafkaPrimitive.encode(object[first.name] ?? .null, as: first.type)
        default:
            return Array(JSON.encode(.object(object)).utf8)
        }
    }

    /// jsonb renders whole doubles as integers; Avro wants them as doubles.
    /// In JSON and DELIMITED, ksqlDB writes times as numbers (TIMESTAMP in
    /// epoch milliseconds, TIME in milliseconds of the day, DATE in days)
    /// and BYTES in base64, where to_jsonb gives PostgreSQL's text; Avro
    /// takes BYTES as the bytes themselves.
    private func normalized(_ value: Value, _ type: SQLType, _ format: String) -> Value {
        if type == .double, case .int(let number) = value { return .double(Double(number)) }
        if type == .double, case .decimal(let text) = value, let number = Double(text) { return .double(number) }
        if case .array(let element) = type, case .array(let items) = value { return .array(items.map { normalized($0, element, format) }) }
        // A STRUCT has its declared fields, in order, NULL where absent; a MAP's values their type.
        if case .struct(let fields) = type, case .object(let object) = value {
            return .object(ValueObject(fields.map { ($0.0, normalized(object[$0.0] ?? .null, $0.1, format)) }))
        }
        if case .map(_, let valueType) = type, case .object(let object) = value {
            return .object(ValueObject(object.map { ($0.0, normalized($0.1, valueType, format)) }))
        }
        if type == .bytes, format == "AVRO", case .string(let text) = value, let raw = PgValueMapper.bytea(ArraySlice(text.utf8)) {
            return .bytes(raw)
        }
        guard ["JSON", "DELIMITED"].contains(format), case .string(let text) = value else { return value }
        switch type {
        case .timestamp:
            guard let (seconds, nanos) = CivilTime.parseTimestamp(text) else { return value }
            return .int(seconds * 1000 + nanos / 1_000_000)
        case .time:
            return CivilTime.parseTime(text).map { .int($0 / 1_000_000) } ?? value
        case .date:
            return CivilTime.parseDate(text).map { .int($0) } ?? value
        case .bytes:
            return PgValueMapper.bytea(ArraySlice(text.utf8)).map { .string(Base64.encode($0)) } ?? value
        default:
            return value
        }
    }

    /// A field quoted as ksqlDB's CSV printer (Commons CSV, minimal quoting)
    /// quotes it: where it holds the separator, a quote or a line break, or
    /// starts with a character up to '#' or ends with one up to a space.
    /// Fields quoted as Commons CSV's minimal mode (ksqlDB's printer) does:
    /// where they hold the separator, a quote or a line break, start with a
    /// character up to '#' or end with a blank; the line's first field also
    /// where it is empty or starts with anything but a letter or digit (`"-1",a`).
    private func delimitedLine(_ values: [Value], separator: Unicode.Scalar) -> String {
        values.enumerated().map { index, value in
            let text: String
            switch value {
            case .null: return ""
            case .string(let string): text = string
            default: text = JSON.encode(value)
            }
            let scalars = text.unicodeScalars
            var needsQuotes = scalars.contains { $0 == separator || $0 == "\"" || $0 == "\n" || $0 == "\r" }
                || scalars.first.map { $0.value <= 0x23 } == true
                || scalars.last.map { $0.value <= 0x20 } == true
            if index == 0 {
                needsQuotes = needsQuotes || scalars.first.map { !($0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0)) } ?? true
            }
            return needsQuotes ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }.joined(separator: String(separator))
    }

    /// ksqlDB's value schema for the sink, registered under `<topic>-value`.
    private func avroSchema() throws -> (AvroSchema, Int32) {
        if let avro { return avro }
        let registered = try register(Self.avroRecord(valueColumns, name: "KsqlDataSourceSchema"), subject: sink.topic + "-value")
        avro = registered
        return registered
    }

    /// The key's schema, under `<topic>-key`: a single column's type, or a
    /// record of the key columns.
    private func avroKeySchema() throws -> (AvroSchema, Int32) {
        if let avroKey { return avroKey }
        let schema = keyColumns.count == 1 ? Self.avroType(keyColumns[0].type) : Self.avroRecord(keyColumns, name: "KsqlKey")
        let registered = try register(schema, subject: sink.topic + "-key")
        avroKey = registered
        return registered
    }

    private func register(_ schema: Value, subject: String) throws -> (AvroSchema, Int32) {
        guard let registry else { throw RuntimeError("the AVRO format needs --registry (or PGK_REGISTRY)") }
        let text = JSON.encode(schema)
        return (try AvroSchema(json: text), try registry.register(subject: subject, schemaJSON: text))
    }

    private static func avroRecord(_ columns: [(postgres: String, name: String, type: SQLType)], name: String) -> Value {
        avroRecord(columns.map { ($0.name, $0.type) }, name: name)
    }

    /// A record of nullable fields; a nested STRUCT's record is named after
    /// its path (KsqlDataSourceSchema_S), as ksqlDB names them, so names never repeat.
    private static func avroRecord(_ fields: [(name: String, type: SQLType)], name: String) -> Value {
        let fields = fields.map { field in
            Value.object(ValueObject([("name", .string(field.name)),
                                      ("type", .array([.string("null"), avroType(field.type, name: "\(name)_\(field.name)")])),
                                      ("default", .null)]))
        }
        return .object(ValueObject([
            ("type", .string("record")), ("name", .string(name)),
            ("namespace", .string("io.confluent.ksql.avro_schemas")), ("fields", .array(fields)),
        ]))
    }

    static func avroType(_ type: SQLType, name: String = "KsqlDataSourceSchema") -> Value {
        func logical(_ base: String, _ name: String) -> Value {
            .object(ValueObject([("type", .string(base)), ("logicalType", .string(name))]))
        }
        switch type {
        case .boolean: return .string("boolean")
        case .integer: return .string("int")
        case .bigint: return .string("long")
        case .double: return .string("double")
        case .decimal(let precision, let scale):
            // As ksqlDB (Connect's Decimal) registers it: exact, never a double.
            return .object(ValueObject([("type", .string("bytes")), ("logicalType", .string("decimal")),
                                        ("precision", .int(Int64(precision))), ("scale", .int(Int64(scale)))]))
        case .bytes: return .string("bytes")
        case .date: return logical("int", "date")
        case .time: return logical("int", "time-millis")
        case .timestamp: return logical("long", "timestamp-millis")
        case .array(let element):
            return .object(ValueObject([("type", .string("array")), ("items", .array([.string("null"), avroType(element, name: name)]))]))
        case .struct(let fields):
            return avroRecord(fields.map { (name: $0.0, type: $0.1) }, name: name)
        case .map(_, let value):
            // Avro maps have string keys, as ksqlDB's MAPs do.
            return .object(ValueObject([("type", .string("map")), ("values", .array([.string("null"), avroType(value, name: name)]))]))
        case .string: return .string("string")
        }
    }
}
