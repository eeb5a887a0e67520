/// Writes change events as JSON bytes straight from the column text, with
/// no `Value` tree in between: the hot path of `--packing json`. Produces
/// the same documents as `ChangeEventFormat.value` rendered by `JSON`
/// (the tests hold the two to that). Per-table key strings are rendered
/// once and cached.
struct EventJSONWriter {
    let format: ChangeEventFormat
    let database: String
    private var tables: [UInt32: TablePieces] = [:]

    init(format: ChangeEventFormat, database: String) {
        self.format = format
        self.database = database
    }

    /// What every event of one table repeats, rendered once.
    final class TablePieces {
        var table: TableSchema
        /// `"column":` per column.
        let columnKeys: [[UInt8]]
        /// `"source":{"connector":"pgk","db":…,"schema":…,"table":…,"lsn":`
        let sourcePrefix: [UInt8]
        /// `"table_name":"schema.table","operation":"`
        let tableNameField: [UInt8]

        init(_ table: TableSchema, database: String) {
            self.table = table
            columnKeys = table.columns.map { column in
                var key: [UInt8] = []
                JSONWriter.appendString(column.name, to: &key)
                key.append(UInt8(ascii: ":"))
                return key
            }
            var source = Array(#""source":{"connector":"pgk","db":"#.utf8)
            JSONWriter.appendString(database, to: &source)
            source.append(contentsOf: #","schema":"#.utf8)
            JSONWriter.appendString(table.schema, to: &source)
            source.append(contentsOf: #","table":"#.utf8)
            JSONWriter.appendString(table.name, to: &source)
            source.append(contentsOf: #","lsn":"#.utf8)
            sourcePrefix = source
            var name = Array(#""table_name":"#.utf8)
            JSONWriter.appendString(table.qualifiedName, to: &name)
            name.append(contentsOf: #","operation":""#.utf8)
            tableNameField = name
        }
    }

    private mutating func pieces(_ table: TableSchema) -> TablePieces {
        if let cached = tables[table.relationID] {
            if cached.table === table { return cached }
            if cached.table == table {
                cached.table = table // the next comparison is by identity
                return cached
            }
        }
        let fresh = TablePieces(table, database: database)
        tables[table.relationID] = fresh
        return fresh
    }

    /// Writes the value into `value` and the key into `key`; false when
    /// the event has a null key. Nothing is written for a flat tombstone.
    mutating func write(_ change: RowChange, now: Int64, value: inout [UInt8], key: inout [UInt8]) -> Bool {
        let pieces = pieces(change.table)
        switch format {
        case .debezium: writeDebezium(change, pieces, now: now, into: &value)
        case .pgToBrokers: writePgToBrokers(change, pieces, into: &value)
        case .flat:
            if format.output(for: change.operation) == .document, let after = change.after {
                writeObject(after, pieces, keyOnly: false, jsonAsText: false, into: &value)
            }
        }
        return writeKey(change, pieces, into: &key)
    }

    // MARK: formats

    private func writeDebezium(_ change: RowChange, _ pieces: TablePieces, now: Int64, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"before":"#.utf8)
        if let before = change.before {
            writeObject(before, pieces, keyOnly: change.beforeIsKeyOnly, jsonAsText: false, into: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","after":"#.utf8)
        var toastStart = -1
        if let after = change.after {
            toastStart = writeObject(after, pieces, keyOnly: false, jsonAsText: false, into: &out)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(UInt8(ascii: ","))
        out.append(contentsOf: pieces.sourcePrefix)
        JSONWriter.appendInteger(Int64(bitPattern: change.lsn.value), to: &out)
        out.append(contentsOf: #","txId":"#.utf8)
        if let xid = change.transactionID { JSONWriter.appendInteger(Int64(xid), to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(contentsOf: #","ts_ms":"#.utf8)
        JSONWriter.appendInteger(change.commitTimeMilliseconds, to: &out)
        out.append(contentsOf: #","snapshot":""#.utf8)
        out.append(contentsOf: change.snapshot.rawValue.utf8)
        out.append(UInt8(ascii: "\""))
        if toastStart >= 0, let after = change.after {
            out.append(contentsOf: #","unchanged_toast":["#.utf8)
            var first = true
            for (index, column) in after.columns.enumerated() where index < pieces.columnKeys.count {
                guard case .unchangedToast = column else { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONWriter.appendString(pieces.table.columns[index].name, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #"},"op":""#.utf8)
        out.append(contentsOf: change.operation.rawValue.utf8)
        out.append(contentsOf: #"","ts_ms":"#.utf8)
        JSONWriter.appendInteger(now, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    private func writePgToBrokers(_ change: RowChange, _ pieces: TablePieces, into out: inout [UInt8]) {
        let tuple = change.operation == .delete ? change.before : change.after
        let keyOnly = change.operation == .delete && change.beforeIsKeyOnly
        let table = pieces.table
        func included(_ index: Int, _ column: TupleData.Column) -> Bool {
            if case .unchangedToast = column { return false }
            return index < table.columns.count && (!keyOnly || table.columns[index].isReplicaIdentity)
        }
        func list(_ body: (Int, TupleData.Column) -> Void) {
            out.append(UInt8(ascii: "["))
            var first = true
            if let tuple, change.operation != .truncate {
                for (index, column) in tuple.columns.enumerated() where included(index, column) {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    body(index, column)
                }
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: #"{"fields":"#.utf8)
        list { index, _ in JSONWriter.appendString(table.columns[index].name, to: &out) }
        out.append(contentsOf: #","values":"#.utf8)
        if let tuple {
            tuple.storage.withUnsafeBufferPointer { storage in
                list { index, column in
                    EventJSONWriter.writeColumn(column, kind: table.columns[index].kind, jsonAsText: true, storage, into: &out)
                }
            }
        } else {
            list { _, _ in }
        }
        out.append(contentsOf: #","types":"#.utf8)
        list { index, _ in JSONWriter.appendString(table.columns[index].typeName, to: &out) }
        out.append(UInt8(ascii: ","))
        out.append(contentsOf: pieces.tableNameField)
        out.append(contentsOf: PgToBrokersEvent.operationName(change.operation).utf8)
        out.append(contentsOf: #"","transaction_id":"#.utf8)
        if let xid = change.transactionID {
            out.append(UInt8(ascii: "\""))
            JSONWriter.appendInteger(Int64(xid), to: &out)
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Writes the row as an object; returns the index of the first
    /// unchanged-TOAST column left out, or -1.
    @discardableResult
    private func writeObject(_ tuple: TupleData, _ pieces: TablePieces, keyOnly: Bool, jsonAsText: Bool,
                             into out: inout [UInt8]) -> Int {
        let columns = pieces.table.columns
        var firstToast = -1
        out.append(UInt8(ascii: "{"))
        tuple.storage.withUnsafeBufferPointer { storage in
            var first = true
            for (index, column) in tuple.columns.enumerated() where index < columns.count {
                if keyOnly && !columns[index].isReplicaIdentity { continue }
                if case .unchangedToast = column {
                    if firstToast < 0 { firstToast = index }
                    continue
                }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out.append(contentsOf: pieces.columnKeys[index])
                EventJSONWriter.writeColumn(column, kind: columns[index].kind, jsonAsText: jsonAsText, storage, into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        return firstToast
    }

    private func writeKey(_ change: RowChange, _ pieces: TablePieces, into out: inout [UInt8]) -> Bool {
        let table = pieces.table
        guard change.operation != .truncate, !table.keyColumnIndexes.isEmpty else { return false }
        func usable(_ tuple: TupleData?) -> TupleData? {
            guard let tuple else { return nil }
            for index in table.keyColumnIndexes {
                guard index < tuple.count else { return nil }
                if case .unchangedToast = tuple.columns[index] { return nil }
            }
            return tuple
        }
        let source: TupleData?
        switch change.operation {
        case .delete: source = usable(change.before)
        case .update: source = usable(change.after) ?? usable(change.before)
        default: source = usable(change.after)
        }
        guard let source else { return false }
        out.append(UInt8(ascii: "{"))
        source.storage.withUnsafeBufferPointer { storage in
            for (position, index) in table.keyColumnIndexes.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: pieces.columnKeys[index])
                EventJSONWriter.writeColumn(source.columns[index], kind: table.columns[index].kind, jsonAsText: false,
                                            storage, into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        return true
    }

    // MARK: values

    static func writeColumn(_ column: TupleData.Column, kind: PgValueKind, jsonAsText: Bool,
                            _ storage: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        switch column {
        case .null, .unchangedToast:
            out.append(contentsOf: "null".utf8)
        case .text(let range), .binary(let range):
            writeValue(kind, UnsafeBufferPointer(rebasing: storage[range]), jsonAsText: jsonAsText, into: &out)
        }
    }

    /// The JSON for one value's text form, by the rules of `PgValueMapper`.
    static func writeValue(_ kind: PgValueKind, _ text: UnsafeBufferPointer<UInt8>, jsonAsText: Bool, into out: inout [UInt8]) {
        switch kind {
        case .integer where isInteger(text):
            out.append(contentsOf: text)
        case .boolean where text.count == 1 && (text[0] == UInt8(ascii: "t") || text[0] == UInt8(ascii: "f")):
            out.append(contentsOf: (text[0] == UInt8(ascii: "t") ? "true" : "false").utf8)
        case .json where !jsonAsText:
            // json and jsonb output is valid JSON: the server checked it on input.
            out.append(contentsOf: text)
        case .timestamp, .timestamptz:
            out.append(UInt8(ascii: "\""))
            var converted: [UInt8] = []
            converted.reserveCapacity(text.count + 2)
            PgValueMapper.appendRFC3339(text, hasZone: kind == .timestamptz, to: &converted)
            converted.withUnsafeBufferPointer { JSONWriter.appendEscaped($0, to: &out) }
            out.append(UInt8(ascii: "\""))
        case .numeric, .text, .json:
            appendEscaped(text, to: &out)
        default:
            // Floats, bytea, arrays and anything odd: the Value path decides.
            JSONWriter.write(PgValueMapper.value(kind, ArraySlice(text)), into: &out)
        }
    }

    static func isInteger(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !text.isEmpty, text.count <= 19 else { return false }
        var index = text[0] == UInt8(ascii: "-") ? 1 : 0
        guard index < text.count else { return false }
        // No leading zeros: JSON forbids them (the server never writes them).
        if text[index] == UInt8(ascii: "0") && text.count > index + 1 { return false }
        while index < text.count {
            guard text[index] &- UInt8(ascii: "0") < 10 else { return false }
            index += 1
        }
        return true
    }

    static func appendEscaped(_ text: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        JSONWriter.appendEscaped(text, to: &out)
        out.append(UInt8(ascii: "\""))
    }
}
