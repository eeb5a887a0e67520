/// `pgk cdc wal status`: where the slot is, how far behind, and what the
/// publication captures.
extension WALCommands {
    static let status = CommandSpec(
        name: "status",
        summary: "show the slot's position and lag and the publication's tables",
        discussion: """
        lag_bytes is the WAL the slot holds back: from its confirmed flush \
        LSN to the server's current position. wal_status 'lost' means the \
        slot was invalidated and can no longer stream.
        """,
        options: [slotOption.spec, publicationOption.spec, OutputFormat.option.spec],
        examples: [Example("pgk cdc wal status -o json | jq .slot.lag_bytes", "The slot's lag in bytes.")],
        run: { invocation in
            let db = try PostgresConnection(conninfo: invocation.globals.database, applicationName: "pgk-cdc")
            let report = try WALStatusReport.collect(db, slot: invocation[slotOption],
                                                     publication: invocation[publicationOption])
            try invocation.output.write(report.render(invocation[OutputFormat.option]))
            return ExitStatus.ok
        })
}

struct WALStatusReport {
    var slot: ValueObject
    var publication: ValueObject

    static func collect(_ db: PostgresConnection, slot name: String, publication: String) throws -> WALStatusReport {
        let slotRows = try db.query("""
            SELECT s.plugin, s.database, s.active, s.active_pid, s.confirmed_flush_lsn::text AS confirmed,
                   s.restart_lsn::text AS restart, s.wal_status, s.safe_wal_size,
                   pg_current_wal_lsn()::text AS current,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::int8 AS lag
            FROM pg_replication_slots s WHERE s.slot_name = $1
            """, [name])
        var slot = ValueObject()
        slot["name"] = .string(name)
        if let row = slotRows.rows.first {
            slot["exists"] = true
            slot["plugin"] = text(row["plugin"])
            slot["database"] = text(row["database"])
            slot["active"] = .bool(row["active"] == "t")
            slot["active_pid"] = row["active_pid"].flatMap { Int64($0) }.map(Value.int) ?? .null
            slot["confirmed_flush_lsn"] = text(row["confirmed"])
            slot["restart_lsn"] = text(row["restart"])
            slot["current_wal_lsn"] = text(row["current"])
            slot["lag_bytes"] = row["lag"].flatMap { Int64($0) }.map(Value.int) ?? .null
            slot["wal_status"] = text(row["wal_status"])
            slot["safe_wal_size"] = row["safe_wal_size"].flatMap { Int64($0) }.map(Value.int) ?? .null
        } else {
            slot["exists"] = false
        }
        var pub = ValueObject()
        pub["name"] = .string(publication)
        let pubRows = try db.query("SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1",
                                   [publication])
        if let row = pubRows.rows.first {
            pub["exists"] = true
            pub["all_tables"] = .bool(row["puballtables"] == "t")
            let operations = [("insert", "pubinsert"), ("update", "pubupdate"), ("delete", "pubdelete"), ("truncate", "pubtruncate")]
                .filter { row[$0.1] == "t" }.map { Value.string($0.0) }
            pub["operations"] = .array(operations)
            let tables = try db.query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
                                      [publication])
            pub["tables"] = .array(tables.rows.map {
                .string(QualifiedName(schema: $0["schemaname"], name: $0["tablename"] ?? "").description)
            })
        } else {
            pub["exists"] = false
        }
        return WALStatusReport(slot: slot, publication: pub)
    }

    private static func text(_ value: String?) -> Value { value.map(Value.string) ?? .null }

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .json:
            return JSON.encode(["slot": .object(slot), "publication": .object(publication)]) + "\n"
        case .table:
            var rows: [[String]] = []
            for (key, value) in slot where key != "name" { rows.append(["slot " + (slot["name"]?.stringValue ?? ""), key, TextTable.cell(value)]) }
            for (key, value) in publication where key != "name" {
                let shown: String
                if case .array(let items) = value { shown = items.compactMap(\.stringValue).joined(separator: ", ") } else { shown = TextTable.cell(value) }
                rows.append(["publication " + (publication["name"]?.stringValue ?? ""), key, shown])
            }
            return TextTable(headers: ["OBJECT", "FIELD", "VALUE"]).render(rows)
        }
    }
}
