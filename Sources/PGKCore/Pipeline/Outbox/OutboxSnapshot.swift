/// Enqueues a SNAPSHOT event for every existing row without blocking the
/// table: rows go in primary-key order, one chunk per transaction. Each
/// chunk locks only its own rows (FOR SHARE) and enqueues their events in
/// that same transaction, so a concurrent writer of a row either commits
/// before the chunk reads it (its event gets the lower id) or waits for the
/// chunk (its event gets the higher id). Either way the queue holds each
/// row's history in commit order. The triggers are attached before the
/// first chunk, so nothing written meanwhile is missed.
///
/// Progress is stored with each chunk: an interrupted snapshot resumes
/// where it stopped when `setup` runs again.
enum OutboxSnapshot {
    static let defaultChunkSize = 5_000

    struct KeyColumn {
        var name: String
        /// The server's own spelling of the type (`atttypid::regtype`),
        /// used to cast the cursor parameters.
        var type: String
    }

    static func primaryKey(of relid: UInt32, on db: PostgresConnection) throws -> [KeyColumn] {
        try db.query("""
            SELECT a.attname, a.atttypid::regtype::text
              FROM pg_index i
              CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = $1 AND i.indisprimary
             ORDER BY k.position
            """, [String(relid)]).rows.map { KeyColumn(name: $0[0] ?? "", type: $0[1] ?? "") }
    }

    /// Runs (or resumes) the snapshot; returns the total number of SNAPSHOT
    /// events enqueued for the table. Stopping leaves it resumable.
    @discardableResult
    static func run(_ registration: OutboxRegistration, chunkSize: Int = defaultChunkSize,
                           on db: PostgresConnection, stop: StopToken) throws -> Int64 {
        precondition(chunkSize > 0)
        let table = registration.table
        let key = try primaryKey(of: table.relid, on: db)
        let tableSQL = try table.qualifiedName.sql(on: db)
        var cursor = registration.snapshotCursor
        var total = registration.snapshotRows
        let progress = ProgressReporter(label: "snapshot \(table)")
        if key.isEmpty {
            Log.warning("outbox: \(table) has no primary key, so its snapshot runs as one transaction "
                + "that holds a share lock on every row until it finishes")
        }
        while true {
            if stop.isStopped {
                throw RuntimeError("snapshot of \(table) interrupted after \(total) row(s); "
                    + "run the same setup command again to resume it")
            }
            let chunk = try db.transaction { () -> (rows: Int64, last: [String]?) in
                let chunk = try enqueueChunk(table: table, tableSQL: tableSQL, idColumn: registration.idColumn,
                                             key: key, after: cursor, limit: key.isEmpty ? nil : chunkSize, on: db)
                let finished = key.isEmpty || chunk.rows < Int64(chunkSize)
                try db.execute("""
                    UPDATE pgk.outbox_tables
                       SET snapshot_cursor = $2::text[], snapshot_rows = snapshot_rows + $3,
                           snapshot_state = CASE WHEN $4 THEN 'done' ELSE snapshot_state END
                     WHERE relid = $1
                    """, [String(table.relid), (chunk.last ?? cursor).map(PostgresTextArray.literal),
                          String(chunk.rows), finished ? "true" : "false"])
                return chunk
            }
            total += chunk.rows
            if let last = chunk.last { cursor = last }
            progress.tick(units: Int(total), unitName: "rows", counters: [])
            if key.isEmpty || chunk.rows < Int64(chunkSize) { break }
        }
        progress.finish(units: Int(total), unitName: "rows", counters: [])
        return total
    }

    /// One chunk: lock the next rows, enqueue their events, return how many
    /// and the key of the last one (as text).
    static func enqueueChunk(table: OutboxTableRef, tableSQL: String, idColumn: String, key: [KeyColumn],
                             after cursor: [String]?, limit: Int?,
                             on db: PostgresConnection) throws -> (rows: Int64, last: [String]?) {
        var params: [String?] = [table.schema, table.name, idColumn]
        let quotedKey = try key.map { try db.quoteIdentifier($0.name) }
        var selectKey = ""
        var whereClause = ""
        var orderBy = ""
        var limitClause = ""
        var resultKey = ""
        if !key.isEmpty {
            selectKey = quotedKey.enumerated().map { ", t.\($0.element) AS pgk_k\($0.offset)" }.joined()
            orderBy = "ORDER BY " + quotedKey.map { "t.\($0)" }.joined(separator: ", ")
            resultKey = key.indices.map { ", chunk.pgk_k\($0)::text" }.joined()
            if let cursor, cursor.count == key.count {
                let placeholders = key.enumerated().map { index, column in
                    params.append(cursor[index])
                    return "$\(params.count)::\(column.type)"
                }
                whereClause = "WHERE (" + quotedKey.map { "t.\($0)" }.joined(separator: ", ") + ") > ("
                    + placeholders.joined(separator: ", ") + ")"
            }
        }
        if let limit {
            params.append(String(limit))
            limitClause = "LIMIT $\(params.count)"
        }
        let descending = key.indices.map { "chunk.pgk_k\($0) DESC" }.joined(separator: ", ")
        // The external id is `row_to_json(row) ->> column`, exactly as in
        // the triggers, so a row's key is the same text in both. `t.*`, not
        // `t`: a column named t would otherwise be taken instead of the row.
        let sql = """
            WITH chunk AS (
                SELECT row_to_json(t.*) AS data\(selectKey) FROM \(tableSQL) t
                \(whereClause) \(orderBy) \(limitClause) FOR SHARE OF t
            ), queued AS (
                INSERT INTO pgk.outbox_events (schema_name, table_name, statement, external_id, data)
                SELECT $1, $2, 'SNAPSHOT', chunk.data ->> $3, chunk.data FROM chunk
            )
            SELECT (SELECT count(*) FROM chunk)\(resultKey) FROM chunk
            \(descending.isEmpty ? "" : "ORDER BY " + descending) LIMIT 1
            """
        let result = try db.query(sql, params)
        guard let row = result.rows.first else { return (0, nil) }
        let rows = Int64(row[0] ?? "0") ?? 0
        let last = key.isEmpty ? nil : key.indices.map { row[$0 + 1] ?? "" }
        return (rows, last)
    }
}
