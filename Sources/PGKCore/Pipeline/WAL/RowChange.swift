/// One captured change, before formatting.
struct RowChange: Sendable {
    enum Operation: String, Sendable {
        case create = "c", update = "u", delete = "d", read = "r", truncate = "t"
    }

    /// Debezium's `source.snapshot`: "false", "true", or "last" for the
    /// final row of a snapshot.
    enum SnapshotMarker: String, Sendable {
        case no = "false", yes = "true", last = "last"
    }

    var table: TableSchema
    var operation: Operation
    /// The old row or its replica-identity key, when the server sent it.
    var before: TupleData?
    var beforeIsKeyOnly: Bool
    var after: TupleData?
    /// The LSN of the change (the consistent point for snapshot rows).
    var lsn: LSN
    var transactionID: UInt32?
    /// Commit time (snapshot time for snapshot rows), Unix ms.
    var commitTimeMilliseconds: Int64
    var snapshot: SnapshotMarker

    init(table: TableSchema, operation: Operation, before: TupleData? = nil, beforeIsKeyOnly: Bool = false,
                after: TupleData? = nil, lsn: LSN, transactionID: UInt32?, commitTimeMilliseconds: Int64,
                snapshot: SnapshotMarker = .no) {
        self.table = table
        self.operation = operation
        self.before = before
        self.beforeIsKeyOnly = beforeIsKeyOnly
        self.after = after
        self.lsn = lsn
        self.transactionID = transactionID
        self.commitTimeMilliseconds = commitTimeMilliseconds
        self.snapshot = snapshot
    }
}

/// Column values of a tuple as a JSON object, with the rules both formats
/// share: unchanged TOAST values are left out (and reported), key-only old
/// tuples keep just the replica-identity columns.
enum TupleValues {
    struct Row {
        var names: [String] = []
        var values: [Value] = []
        var types: [String] = []
        var unchangedToast: [String] = []
    }

    /// How column values are shaped for the target encoding.
    enum Rendering {
        /// json/jsonb embedded, arrays as JSON arrays.
        case json
        /// json/jsonb as their text (pg_to_brokers).
        case jsonAsText
        /// json/jsonb and arrays as JSON text: Avro fields have fixed types.
        case avro
    }

    /// `names` replaces the column names (Avro needs sanitized ones).
    static func row(_ tuple: TupleData, table: TableSchema, keyOnly: Bool = false, rendering: Rendering = .json,
                    names: [String]? = nil) -> Row {
        var row = Row()
        row.names.reserveCapacity(tuple.count)
        row.values.reserveCapacity(tuple.count)
        for (index, column) in tuple.columns.enumerated() where index < table.columns.count {
            let schema = table.columns[index]
            if keyOnly && !schema.isReplicaIdentity { continue }
            let value: Value
            switch column {
            case .null: value = .null
            case .unchangedToast:
                row.unchangedToast.append(schema.name)
                continue
            case .text(let range), .binary(let range):
                value = render(schema.kind, tuple.storage[range], rendering)
            }
            row.names.append(names?[index] ?? schema.name)
            row.values.append(value)
            row.types.append(schema.typeName)
        }
        return row
    }

    static func render(_ kind: PgValueKind, _ text: ArraySlice<UInt8>, _ rendering: Rendering) -> Value {
        switch (rendering, kind) {
        case (.json, _): return PgValueMapper.value(kind, text)
        case (.jsonAsText, .json), (.avro, .json): return .string(PgValueMapper.string(text))
        case (.avro, .array): return .string(PgValueMapper.value(kind, text).jsonText)
        default: return PgValueMapper.value(kind, text)
        }
    }

    static func object(_ row: Row) -> Value {
        .object(ValueObject(uniqueKeys: row.names, values: row.values))
    }

    /// The Kafka key: the key columns as an object, or nil when the table
    /// has none or a key value is missing (unchanged TOAST).
    static func key(_ tuple: TupleData?, table: TableSchema, rendering: Rendering = .json, names: [String]? = nil) -> Value? {
        guard let tuple, !table.keyColumnIndexes.isEmpty else { return nil }
        var keyNames: [String] = []
        var values: [Value] = []
        for index in table.keyColumnIndexes {
            guard index < tuple.count else { return nil }
            let column = table.columns[index]
            switch tuple.columns[index] {
            case .null: values.append(.null)
            case .unchangedToast: return nil
            case .text(let range), .binary(let range): values.append(render(column.kind, tuple.storage[range], rendering))
            }
            keyNames.append(names?[index] ?? column.name)
        }
        return .object(ValueObject(uniqueKeys: keyNames, values: values))
    }
}
