/// Avro schemas for change events, generated from a table's columns:
/// every column nullable with a null default (so adding columns stays
/// compatible), json and arrays as JSON text, numeric as a string.
enum AvroEventSchema {
    /// Field names Avro accepts (`[A-Za-z_][A-Za-z0-9_]*`), unique per table.
    static func fieldNames(_ table: TableSchema) -> [String] {
        var used: Set<String> = []
        return table.columns.map { column in
            var name = String(String.UnicodeScalarView(column.name.unicodeScalars.map { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) ? scalar : "_"
            }))
            if name.isEmpty || name.first!.isNumber { name = "_" + name }
            var unique = name
            var counter = 2
            while used.contains(unique) { unique = "\(name)_\(counter)"; counter += 1 }
            used.insert(unique)
            return unique
        }
    }

    static func namespace(_ table: TableSchema) -> String {
        table.topic.split(separator: ".").map { part in
            let cleaned = String(String.UnicodeScalarView(part.unicodeScalars.map { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) ? scalar : "_"
            }))
            return cleaned.first.map { $0.isNumber } == true ? "_" + cleaned : cleaned
        }.filter { !$0.isEmpty }.joined(separator: ".")
    }

    static func avroType(_ column: TableSchema.Column) -> Value {
        switch column.kind {
        case .integer:
            return column.typeOID == PgTypeOID.int2 || column.typeOID == PgTypeOID.int4 ? "int" : "long"
        case .float:
            // NaN and ±Infinity arrive as strings.
            return column.typeOID == PgTypeOID.float4 ? ["float", "string"] : ["double", "string"]
        case .boolean: return "boolean"
        case .bytea: return "bytes"
        default: return "string"
        }
    }

    static func nullable(_ type: Value) -> Value {
        if case .array(let branches) = type { return .array(["null"] + branches) }
        return ["null", type]
    }

    static func rowRecord(_ table: TableSchema, names: [String], only indexes: [Int]? = nil, recordName: String,
                          namespace: String? = nil) -> Value {
        let fields: [Value] = (indexes ?? Array(table.columns.indices)).map { index in
            ["name": .string(names[index]), "type": nullable(avroType(table.columns[index])), "default": .null]
        }
        var record = ValueObject([("type", "record"), ("name", .string(recordName)), ("fields", .array(fields))])
        // Last, as key schemas always had it: the registered text stays the same.
        if let namespace { record["namespace"] = .string(namespace) }
        return .object(record)
    }

    static let source: Value = [
        "type": "record", "name": "Source", "namespace": "pgk",
        "fields": [
            ["name": "connector", "type": "string"], ["name": "db", "type": "string"],
            ["name": "schema", "type": "string"], ["name": "table", "type": "string"],
            ["name": "lsn", "type": "long"], ["name": "txId", "type": ["null", "long"], "default": .null],
            ["name": "ts_ms", "type": "long"], ["name": "snapshot", "type": "string"],
            ["name": "unchanged_toast", "type": ["type": "array", "items": "string"], "default": []],
        ],
    ]

    static func value(_ table: TableSchema, format: ChangeEventFormat, names: [String]) -> String {
        switch format {
        case .debezium:
            let schema: Value = [
                "type": "record", "name": "Envelope", "namespace": .string(namespace(table)),
                "fields": [
                    ["name": "before", "type": ["null", rowRecord(table, names: names, recordName: "Value")], "default": .null],
                    ["name": "after", "type": ["null", "Value"], "default": .null],
                    ["name": "source", "type": source],
                    ["name": "op", "type": "string"],
                    ["name": "ts_ms", "type": "long"],
                ],
            ]
            return schema.jsonText
        case .pgToBrokers:
            let schema: Value = [
                "type": "record", "name": "Change", "namespace": .string(namespace(table)),
                "fields": [
                    ["name": "fields", "type": ["type": "array", "items": "string"]],
                    ["name": "values", "type": ["type": "array", "items": ["null", "boolean", "long", "double", "string", "bytes"]]],
                    ["name": "types", "type": ["type": "array", "items": "string"]],
                    ["name": "table_name", "type": "string"],
                    ["name": "operation", "type": "string"],
                    ["name": "transaction_id", "type": ["null", "string"], "default": .null],
                ],
            ]
            return schema.jsonText
        case .flat:
            // The debezium format's before/after record (same full name),
            // so flat and enveloped schemas of a table describe rows alike.
            return rowRecord(table, names: names, recordName: "Value", namespace: namespace(table)).jsonText
        }
    }

    /// nil when the table has no key columns (null keys need no schema).
    static func key(_ table: TableSchema, names: [String]) -> String? {
        guard !table.keyColumnIndexes.isEmpty else { return nil }
        return rowRecord(table, names: names, only: table.keyColumnIndexes, recordName: "Key", namespace: namespace(table)).jsonText
    }
}
