/// The built-in `columns` map: one column per top-level field of the value.
/// Column types come from the table when it exists, else from the Avro
/// schema, else from the values of the first batch (inferred in SQL over
/// the staged jsonb). Fields without a column are dropped and counted.
enum ColumnsLayout {
    /// A value that is not a JSON object has no fields to map.
    static let objectCheck = MapCheck(name: "value_is_object", expression: "jsonb_typeof(value) = 'object'")

    /// The declared map that the columns layout means for this table.
    static func resolve(_ base: SinkMap, table: TableInfo) -> SinkMap {
        var map = base
        map.layout = .declared
        map.columns = table.columns.map { column in
            MapColumn(name: column.name, type: column.type, expression: expression(for: column),
                      defaultValue: column.defaultSQL, notNull: column.notNull, identity: column.identity)
        }
        map.checks = [objectCheck] + base.checks
        return map
    }

    /// How a top-level field becomes a value for this column; nil for
    /// columns that are never written (identity, generated).
    static func expression(for column: TableInfo.Column) -> String? {
        guard !column.identity, !column.generated else { return nil }
        let field = SinkStatements.literal(column.name)
        let value: String
        switch (column.baseType, column.category) {
        case ("jsonb", _), ("json", _):
            value = "value->\(field)"
        case ("bytea", _):
            value = "decode(value->>\(field), 'base64')"
        case (_, "A"):
            value = "CASE jsonb_typeof(value->\(field)) WHEN 'array' THEN ARRAY(SELECT jsonb_array_elements_text(value->\(field))) "
                + "ELSE (value->>\(field))::text[] END"
        default:
            value = "value->>\(field)"
        }
        guard let fallback = column.defaultSQL else { return value }
        // A field the message lacks keeps the column default, as it would
        // in an INSERT that did not name the column.
        return "CASE WHEN value ? \(field) THEN CAST((\(value)) AS \(column.type)) ELSE \(fallback) END"
    }

    /// The fields of the staged values and the JSON types seen per field
    /// (nulls left out), in order of first appearance.
    static let inferenceQuery = """
        SELECT e.key,
               coalesce(string_agg(DISTINCT jsonb_typeof(e.value), ',') FILTER (WHERE jsonb_typeof(e.value) <> 'null'), ''),
               coalesce(bool_and(e.value::text ~ '^-?[0-9]{1,18}$') FILTER (WHERE jsonb_typeof(e.value) = 'number'), true)
        FROM pg_temp.pgk_staging s, jsonb_each(s.value) e
        WHERE jsonb_typeof(s.value) = 'object'
        GROUP BY e.key ORDER BY min(s.ord), e.key
        """

    /// Fields of the staged values that are not in `$1` (a text array).
    static let unknownFieldsQuery = """
        SELECT k, count(*) FROM pg_temp.pgk_staging s, jsonb_object_keys(s.value) k
        WHERE jsonb_typeof(s.value) = 'object' AND NOT (k = ANY($1::text[]))
        GROUP BY k ORDER BY k
        """

    /// The column type for a field's JSON types.
    static func inferredType(kinds: Set<String>, integral: Bool) -> String {
        switch kinds {
        case []: return "text"
        case ["number"]: return integral ? "bigint" : "double precision"
        case ["string"]: return "text"
        case ["boolean"]: return "boolean"
        default: return "jsonb"
        }
    }

    /// Columns from an Avro record schema (Confluent registry text);
    /// nil when the schema is not a record.
    static func avroColumns(schemaJSON: String) -> [MapColumn]? {
        guard let schema = try? JSON.decode(schemaJSON), schema["type"]?.stringValue == "record",
              case .array(let fields)? = schema["fields"] else { return nil }
        return fields.compactMap { field -> MapColumn? in
            guard let name = field["name"]?.stringValue, let type = field["type"] else { return nil }
            return MapColumn(name: name, type: sqlType(avro: type), expression: "")
        }
    }

    static func sqlType(avro type: Value) -> String {
        switch type {
        case .string(let name):
            switch name {
            case "boolean": return "boolean"
            case "int": return "integer"
            case "long": return "bigint"
            case "float": return "real"
            case "double": return "double precision"
            case "string": return "text"
            case "bytes", "fixed": return "bytea"
            default: return "jsonb"
            }
        case .array(let branches):
            // A nullable union [null, T] is T; other unions stay JSON.
            let nonNull = branches.filter { $0.stringValue != "null" }
            return nonNull.count == 1 ? sqlType(avro: nonNull[0]) : "jsonb"
        case .object:
            if let logical = type["logicalType"]?.stringValue {
                switch logical {
                case "date": return "date"
                case "time-millis", "time-micros": return "time"
                case "timestamp-millis", "timestamp-micros", "timestamp-nanos": return "timestamptz"
                case "local-timestamp-millis", "local-timestamp-micros", "local-timestamp-nanos": return "timestamp"
                case "uuid": return "uuid"
                case "decimal":
                    if let precision = type["precision"]?.int64Value {
                        return "numeric(\(precision), \(type["scale"]?.int64Value ?? 0))"
                    }
                    return "numeric"
                default: break
                }
            }
            switch type["type"]?.stringValue {
            case "enum": return "text"
            case "record", "map", "array": return "jsonb"
            case let primitive?: return sqlType(avro: .string(primitive))
            default: return "jsonb"
            }
        default:
            return "jsonb"
        }
    }
}
