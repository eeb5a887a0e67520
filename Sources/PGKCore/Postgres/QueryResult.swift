import CLibPQ

/// The rows of one statement, copied out of libpq (text format) so the
/// PGresult can be freed at once. Values are the server's text output;
/// NULL is nil.
struct QueryResult: Sendable {
    let columnNames: [String]
    /// Type OIDs per column (e.g. 23 int4, 25 text, 3802 jsonb).
    let columnTypes: [UInt32]
    let rows: [Row]
    /// e.g. "INSERT 0 3", "SELECT 2", "CREATE TABLE".
    let commandTag: String
    /// Rows touched by INSERT/UPDATE/DELETE/MERGE/SELECT/COPY/MOVE/FETCH;
    /// nil for other commands.
    let rowsAffected: Int?

    struct Row: Sendable {
        let values: [String?]
        let columnIndex: [String: Int]

        subscript(index: Int) -> String? { values[index] }
        /// nil both for SQL NULL and for a column the row does not have;
        /// use `has(column:)` when the difference matters.
        subscript(column: String) -> String? {
            columnIndex[column].flatMap { values[$0] }
        }
        func has(column: String) -> Bool { columnIndex[column] != nil }
    }

    var count: Int { rows.count }
    var isEmpty: Bool { rows.isEmpty }
    /// First column of the first row; nil when there is none or it is NULL.
    var scalar: String? { rows.first.flatMap { $0.values.first ?? nil } }

    func index(ofColumn name: String) -> Int? { columnNames.firstIndex(of: name) }

    /// Every row's value in one column; empty when there is no such column.
    func column(_ name: String) -> [String?] {
        guard let index = index(ofColumn: name) else { return [] }
        return rows.map { $0.values[index] }
    }

    init(columnNames: [String], columnTypes: [UInt32], values: [[String?]],
                commandTag: String, rowsAffected: Int?) {
        self.columnNames = columnNames
        self.columnTypes = columnTypes
        var columnIndex: [String: Int] = [:]
        // The first of duplicate names wins, as in most drivers.
        for (index, name) in columnNames.enumerated() where columnIndex[name] == nil {
            columnIndex[name] = index
        }
        self.rows = values.map { Row(values: $0, columnIndex: columnIndex) }
        self.commandTag = commandTag
        self.rowsAffected = rowsAffected
    }

    /// Copies everything out of `result`. The caller still owns and clears it.
    init(copying result: OpaquePointer) {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var names: [String] = []
        var types: [UInt32] = []
        names.reserveCapacity(columnCount)
        for column in 0..<Int32(columnCount) {
            names.append(String(cString: PQfname(result, column)))
            types.append(UInt32(PQftype(result, column)))
        }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var rowValues: [String?] = []
            rowValues.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) != 0 {
                    rowValues.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let raw = UnsafeRawPointer(PQgetvalue(result, row, column)!)
                    rowValues.append(String(decoding: UnsafeRawBufferPointer(start: raw, count: length),
                                            as: UTF8.self))
                }
            }
            values.append(rowValues)
        }
        let tag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        let affected = PQcmdTuples(result).map { String(cString: $0) } ?? ""
        self.init(columnNames: names, columnTypes: types, values: values,
                  commandTag: tag, rowsAffected: Int(affected))
    }
}
