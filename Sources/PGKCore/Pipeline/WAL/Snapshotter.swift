/// Copies the captured tables inside the snapshot that creating the slot
/// exported, so the rows it emits (`op: r`) plus the changes streamed from
/// the slot's consistent point are exactly the tables' history: nothing
/// missing, nothing twice.
struct Snapshotter {
    let conninfo: String?
    let stop: StopToken

    struct Outcome {
        var rows = 0
        var tables = 0
    }

    /// `snapshotName` nil: a fresh REPEATABLE READ snapshot (`--snapshot only`).
    func run(tables: [TableCatalog.PublishedTable], snapshotName: String?, lsn: LSN,
             emit: (RowChange) throws -> Void) throws -> Outcome {
        let connection = try PostgresConnection(conninfo: conninfo, applicationName: "pgk-cdc-snapshot")
        try ReplicationConnection.applySessionSettings { try connection.execute($0) }
        try connection.executeScript("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if let snapshotName {
            guard !snapshotName.isEmpty, snapshotName.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
                throw WALError.protocolViolation("unexpected snapshot name '\(snapshotName)'")
            }
            try connection.execute("SET TRANSACTION SNAPSHOT '\(snapshotName)'")
        }
        let info = try connection.query("""
            SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::int8 % 4294967296)::text AS xid,
                   (extract(epoch FROM now()) * 1000)::int8::text AS now
            """)
        let xid = info.rows.first?["xid"].flatMap { UInt32($0) }
        let time = info.rows.first?["now"].flatMap { Int64($0) } ?? unixMilliseconds()
        var outcome = Outcome()
        // One row of lookahead, so the very last row can say snapshot "last".
        var pending: RowChange?
        for published in tables {
            let table = published.schema
            let columns = try table.columns.map { try connection.quoteIdentifier($0.name) }.joined(separator: ", ")
            let name = try QualifiedName(schema: table.schema, name: table.name).sql(on: connection)
            // Each published partition is listed on its own unless the root is.
            let from = (published.isPartitioned ? "" : "ONLY ") + name
            let filter = published.rowFilter.map { $0.isEmpty ? "" : " WHERE \($0)" } ?? ""
            let sql = "COPY (SELECT \(columns) FROM \(from)\(filter)) TO STDOUT"
            Log.debug("snapshot: copying \(table.displayName)")
            try connection.copyOut(sql: sql) { line in
                if stop.isStopped { throw SnapshotInterrupted() }
                let fields = try CopyTextDecoder.decodeFields(line)
                if let previous = pending { try emit(previous) }
                pending = RowChange(table: table, operation: .read, after: TupleData(textValues: fields), lsn: lsn,
                                    transactionID: xid, commitTimeMilliseconds: time, snapshot: .yes)
                outcome.rows += 1
            }
            outcome.tables += 1
        }
        if var last = pending {
            last.snapshot = .last
            try emit(last)
        }
        try connection.executeScript("COMMIT")
        return outcome
    }
}

struct SnapshotInterrupted: Error, CustomStringConvertible {
    var description: String { "the snapshot was interrupted" }
}
