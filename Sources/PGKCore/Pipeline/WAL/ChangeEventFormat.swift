/// The shape of the event values pgk produces.
enum ChangeEventFormat: String, CaseIterable, Sendable {
    /// `{before, after, source, op, ts_ms}` as Debezium's PostgreSQL connector.
    case debezium
    /// `{fields, values, types, table_name, operation, transaction_id}` as pg_to_brokers.
    case pgToBrokers = "pg_to_brokers"
    /// The after-image row alone, as Debezium's ExtractNewRecordState SMT
    /// leaves it (what ksqlDB tables read): a delete is a tombstone, a
    /// truncate produces nothing (a row-keyed topic cannot express it).
    case flat

    /// What an event of one operation carries.
    enum Output { case document, tombstone, nothing }

    func output(for operation: RowChange.Operation) -> Output {
        guard self == .flat else { return .document }
        switch operation {
        case .delete: return .tombstone
        case .truncate: return .nothing
        case .create, .update, .read: return .document
        }
    }

    /// The event value for `change`; `now` is the processing time (Unix ms).
    /// `names` replaces column names (Avro). `.null` where `output` is not
    /// a document.
    func value(for change: RowChange, database: String, now: Int64, rendering: TupleValues.Rendering? = nil,
               names: [String]? = nil) -> Value {
        switch self {
        case .debezium:
            return DebeziumEvent.value(change, database: database, now: now, rendering: rendering ?? .json, names: names)
        case .pgToBrokers:
            return PgToBrokersEvent.value(change, rendering: rendering ?? .jsonAsText)
        case .flat:
            guard output(for: change.operation) == .document, let after = change.after else { return .null }
            // The same rendering as the debezium format's `after`.
            return TupleValues.object(TupleValues.row(after, table: change.table, rendering: rendering ?? .json, names: names))
        }
    }

    func value(for change: RowChange, database: String, now: Int64) -> Value {
        value(for: change, database: database, now: now, rendering: nil, names: nil)
    }

    /// The event key: the key columns as an object; nil for a null key.
    func key(for change: RowChange) -> Value? {
        ChangeEventFormat.key(for: change, rendering: .json, names: nil)
    }

    static func key(for change: RowChange, rendering: TupleValues.Rendering, names: [String]?) -> Value? {
        switch change.operation {
        case .truncate: return nil
        case .delete: return TupleValues.key(change.before, table: change.table, rendering: rendering, names: names)
        case .update:
            // After a key change the new key identifies the row from now on.
            return TupleValues.key(change.after, table: change.table, rendering: rendering, names: names)
                ?? TupleValues.key(change.before, table: change.table, rendering: rendering, names: names)
        default: return TupleValues.key(change.after, table: change.table, rendering: rendering, names: names)
        }
    }
}

enum DebeziumEvent {
    static let sourceKeys = ["connector", "db", "schema", "table", "lsn", "txId", "ts_ms", "snapshot"]
    static let envelopeKeys = ["before", "after", "source", "op", "ts_ms"]

    static func value(_ change: RowChange, database: String, now: Int64, rendering: TupleValues.Rendering,
                      names: [String]?) -> Value {
        let table = change.table
        let before = change.before.map {
            TupleValues.row($0, table: table, keyOnly: change.beforeIsKeyOnly, rendering: rendering, names: names)
        }
        let after = change.after.map { TupleValues.row($0, table: table, rendering: rendering, names: names) }
        var sourceValues: [Value] = [
            "pgk", .string(database), .string(table.schema), .string(table.name),
            .int(Int64(bitPattern: change.lsn.value)), change.transactionID.map { .int(Int64($0)) } ?? .null,
            .int(change.commitTimeMilliseconds), .string(change.snapshot.rawValue),
        ]
        var sourceKeys = sourceKeys
        if let toast = after?.unchangedToast, !toast.isEmpty {
            sourceKeys.append("unchanged_toast")
            // Original column names: they tell the consumer which columns to keep.
            sourceValues.append(.array(toast.map(Value.string)))
        }
        let values: [Value] = [
            before.map(TupleValues.object) ?? .null,
            after.map(TupleValues.object) ?? .null,
            .object(ValueObject(uniqueKeys: sourceKeys, values: sourceValues)),
            .string(change.operation.rawValue),
            .int(now),
        ]
        return .object(ValueObject(uniqueKeys: envelopeKeys, values: values))
    }
}

/// pg_to_brokers' record (it parsed test_decoding output): the row's field
/// names, values and type names (the new row; for deletes the old key),
/// the schema-qualified table and the operation in upper case. json values
/// stay text, as pg_to_brokers delivered them; snapshot rows are INSERTs.
enum PgToBrokersEvent {
    static let keys = ["fields", "values", "types", "table_name", "operation", "transaction_id"]

    static func operationName(_ operation: RowChange.Operation) -> String {
        switch operation {
        case .create, .read: return "INSERT"
        case .update: return "UPDATE"
        case .delete: return "DELETE"
        case .truncate: return "TRUNCATE"
        }
    }

    static func value(_ change: RowChange, rendering: TupleValues.Rendering) -> Value {
        var row = TupleValues.Row()
        if change.operation == .delete {
            if let before = change.before {
                row = TupleValues.row(before, table: change.table, keyOnly: change.beforeIsKeyOnly, rendering: rendering)
            }
        } else if let after = change.after {
            row = TupleValues.row(after, table: change.table, rendering: rendering)
        }
        let values: [Value] = [
            .array(row.names.map(Value.string)), .array(row.values), .array(row.types.map(Value.string)),
            .string(change.table.qualifiedName), .string(operationName(change.operation)),
            change.transactionID.map { .string(String($0)) } ?? .null,
        ]
        return .object(ValueObject(uniqueKeys: keys, values: values))
    }
}
