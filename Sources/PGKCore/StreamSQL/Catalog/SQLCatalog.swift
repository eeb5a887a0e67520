/// A stream or table `pgk sql` knows: declared over a topic, or written
/// by a persistent query.
struct CatalogSource: Equatable, Sendable {
    var name: String
    var kind: SourceKind
    var topic: String
    var keyFormat: String
    var valueFormat: String
    /// Value columns and, for tables, the key column(s), in declared order.
    var columns: [ColumnDefinition]
    /// The key column of a table (PRIMARY KEY, KEY, or the legacy
    /// `KEY='col'` property, whose column also sits in the value).
    var keyColumns: [String]
    var partitions: Int?
    /// The persistent query writing it; nil for a declared source.
    var queryID: String?
    /// The PostgreSQL table holding a CREATE TABLE AS SELECT's rows.
    var resultTable: String?
    var statement: String
    /// `TIMESTAMP='col'`: ROWTIME comes from this column, not the record.
    var timestampColumn: String? = nil
    /// `TIMESTAMP_FORMAT`: a Java date-time pattern for a string TIMESTAMP column.
    var timestampFormat: String? = nil
    /// `VALUE_DELIMITER` of a DELIMITED value (a comma unless set).
    var valueDelimiter: String? = nil
    /// `KEY_DELIMITER` of a DELIMITED key with several columns (a comma unless set).
    var keyDelimiter: String? = nil
    /// A time-windowed key's window size (TUMBLING, HOPPING), in milliseconds.
    var windowSize: Int64? = nil
    /// `WRAP_SINGLE_VALUE=false`: the one value column is the whole value,
    /// not a field of an object or record.
    var wrapSingleValue = true

    /// The DELIMITED separator: `VALUE_DELIMITER`, where SPACE and TAB name themselves.
    var delimiter: Unicode.Scalar { Self.separator(valueDelimiter) }
    /// The DELIMITED key's separator: `KEY_DELIMITER`.
    var keySeparator: Unicode.Scalar { Self.separator(keyDelimiter) }

    private static func separator(_ property: String?) -> Unicode.Scalar {
        switch property?.uppercased() {
        case "SPACE"?: return " "
        case "TAB"?: return "\t"
        default: return property?.unicodeScalars.first ?? ","
        }
    }

    var isTable: Bool { kind == .table }

    /// Keyed by window too: WINDOWSTART is a key column, after the others,
    /// and WINDOWEND as well for a session (Kafka Streams' windowed keys:
    /// the key, then the start; a session's, the key, its end, its start).
    var isWindowed: Bool { keyColumns.contains("WINDOWSTART") }
    var isSessionWindowed: Bool { keyColumns.contains("WINDOWEND") }
    /// The key columns that the record key's bytes hold before any window.
    var plainKeyColumns: [String] { keyColumns.filter { !["WINDOWSTART", "WINDOWEND"].contains($0) } }

    func column(named name: String) -> ColumnDefinition? {
        columns.first { $0.name == name } ?? columns.first { $0.name.uppercased() == name.uppercased() }
    }

    /// Columns read from the record value (legacy KEY= columns included).
    var valueColumns: [ColumnDefinition] { columns.filter { $0.role == .value } }

    /// Old KSQL's layout (`KEY='col'`, before 0.10): the key columns are
    /// value columns too, so results copy them into their values as well.
    var keysInValue: Bool {
        keyColumns.contains { key in columns.contains { $0.name == key && $0.role == .value } }
    }
}

/// A persistent query: CREATE … AS SELECT, running until terminated.
struct SQLQuery: Equatable, Sendable {
    var id: String
    var sink: String
    var statement: String
    /// `auto.offset.reset` when the query was created (ksqlDB's default: latest).
    var offsetReset: String
    /// The `ksql.functions.*` properties when it was created (FunctionLimits).
    var functionProperties: [String: String] = [:]
}

/// ksqlDB's column names become PostgreSQL's: unquoted (upper-cased by the
/// parser) fold to lower case, quoted mixed case stays as written.
func postgresName(_ name: String) -> String {
    name == name.uppercased() ? name.lowercased() : name
}

/// Type names as the catalog stores them (`SQLType.description`) parsed back.
enum SQLTypeText {
    static func parse(_ text: String) throws -> SQLType {
        var rest = Substring(text)
        let type = try parse(&rest)
        guard rest.trimmingCharacters(in: .whitespaces).isEmpty else { throw PlanError("bad type text \(text)") }
        return type
    }

    private static func parse(_ rest: inout Substring) throws -> SQLType {
        rest = rest.drop { $0 == " " }
        let word = String(rest.prefix { $0.isLetter })
        rest = rest.dropFirst(word.count)
        switch word {
        case "BOOLEAN": return .boolean
        case "INTEGER": return .integer
        case "BIGINT": return .bigint
        case "DOUBLE": return .double
        case "STRING": return .string
        case "BYTES": return .bytes
        case "DATE": return .date
        case "TIME": return .time
        case "TIMESTAMP": return .timestamp
        case "DECIMAL":
            let inside = rest.dropFirst().prefix { $0 != ")" }
            rest = rest.dropFirst(inside.count + 2)
            let parts = inside.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2 else { throw PlanError("bad DECIMAL type") }
            return .decimal(precision: parts[0], scale: parts[1])
        case "ARRAY":
            rest = rest.dropFirst()
            let element = try parse(&rest)
            rest = rest.dropFirst()
            return .array(element)
        case "MAP":
            rest = rest.dropFirst()
            let key = try parse(&rest)
            rest = rest.dropFirst()  // ","
            let value = try parse(&rest)
            rest = rest.dropFirst()
            return .map(key, value)
        case "STRUCT":
            rest = rest.dropFirst()
            var fields: [(String, SQLType)] = []
            while let first = rest.first, first != ">" {
                if first == "," || first == " " { rest = rest.dropFirst(); continue }
                fields.append((try fieldName(&rest), try parse(&rest)))
            }
            rest = rest.dropFirst()
            return .struct(fields)
        default:
            throw PlanError("unknown type \(word)")
        }
    }

    /// A STRUCT field's name: a word, or back-quoted (see SQLType.fieldName).
    private static func fieldName(_ rest: inout Substring) throws -> String {
        guard rest.first == "`" else {
            let name = String(rest.prefix { $0 != " " })
            rest = rest.dropFirst(name.count)
            return name
        }
        var name = ""
        rest = rest.dropFirst()
        while let character = rest.first {
            rest = rest.dropFirst()
            if character == "`" {
                guard rest.first == "`" else { return name }
                rest = rest.dropFirst()
            }
            name.append(character)
        }
        throw PlanError("bad STRUCT field name in type text")
    }
}
