/// `pgk cdc outbox status`: what is set up, how much is queued, how old
/// the oldest unshipped event is, and which backend leads the shipping.
struct OutboxStatusReport: Sendable {
    struct TableStatus: Sendable {
        var registration: OutboxRegistration
        /// Events of this table still queued.
        var queued: Int64
    }

    var database: String
    /// nil: the outbox is not installed.
    var schemaVersion: Int?
    var tables: [TableStatus] = []
    var queueDepth: Int64 = 0
    var oldestEventAgeSeconds: Double?
    var oldestEventCreatedAt: String?
    var leader: OutboxLeadership.Holder?

    static func collect(on db: PostgresConnection) throws -> OutboxStatusReport {
        var report = OutboxStatusReport(database: db.databaseName,
                                        schemaVersion: try OutboxSchema.installedVersion(on: db))
        guard report.schemaVersion != nil else { return report }
        var queuedByTable: [String: Int64] = [:]
        for row in try db.query("""
            SELECT schema_name, table_name, count(*) FROM pgk.outbox_events GROUP BY 1, 2
            """).rows {
            queuedByTable[(row[0] ?? "") + "." + (row[1] ?? "")] = Int64(row[2] ?? "0") ?? 0
        }
        report.tables = try OutboxRegistry.registrations(on: db).map { registration in
            TableStatus(registration: registration,
                        queued: queuedByTable[registration.table.schema + "." + registration.table.name] ?? 0)
        }
        let oldest = try db.query("""
            SELECT count(*), extract(epoch FROM clock_timestamp() - min(created_at))::float8,
                   (extract(epoch FROM min(created_at)) * 1000000)::int8
              FROM pgk.outbox_events
            """).rows.first
        report.queueDepth = Int64(oldest?[0] ?? "0") ?? 0
        report.oldestEventAgeSeconds = oldest?[1].flatMap { Double($0) }
        if let micros = oldest?[2].flatMap({ Int64($0) }) {
            let (seconds, fraction) = CivilTime.split(micros, unitsPerSecond: 1_000_000)
            report.oldestEventCreatedAt = CivilTime.formatTimestamp(seconds: seconds, fraction: fraction, fractionDigits: 6)
        }
        report.leader = try OutboxLeadership.holder(queue: OutboxSchema.eventsTable, on: db)
        return report
    }

    func render(_ format: OutputFormat) -> String {
        switch format {
        case .json: return JSON.encode(jsonValue) + "\n"
        case .table: return text
        }
    }

    var jsonValue: Value {
        var object = ValueObject()
        object.appendUnchecked("database", .string(database))
        object.appendUnchecked("installed", .bool(schemaVersion != nil))
        object.appendUnchecked("schema_version", schemaVersion.map { .int(Int64($0)) } ?? .null)
        object.appendUnchecked("queue_depth", .int(queueDepth))
        object.appendUnchecked("oldest_event_age_seconds", oldestEventAgeSeconds.map(Value.double) ?? .null)
        object.appendUnchecked("oldest_event_created_at", oldestEventCreatedAt.map(Value.string) ?? .null)
        object.appendUnchecked("leader", leader.map { holder in
            .object(ValueObject([("pid", .int(Int64(holder.pid))),
                                 ("application_name", .string(holder.applicationName)),
                                 ("client_address", holder.clientAddress.map(Value.string) ?? .null)]))
        } ?? .null)
        object.appendUnchecked("tables", .array(tables.map { table in
            let registration = table.registration
            return .object(ValueObject([
                ("schema", .string(registration.table.schema)),
                ("table", .string(registration.table.name)),
                ("id_column", .string(registration.idColumn)),
                ("capture", .string(registration.capture.rawValue)),
                ("snapshot", .string(registration.snapshotState.rawValue)),
                ("snapshot_rows", .int(registration.snapshotRows)),
                ("queued", .int(table.queued)),
                ("table_exists", .bool(registration.tableExists)),
            ]))
        }))
        return .object(object)
    }

    var text: String {
        guard let schemaVersion else {
            return "outbox: not installed in database \(database) (run 'pgk cdc outbox setup TABLE ID_COLUMN')\n"
        }
        var lines = ["outbox: installed in database \(database) (schema version \(schemaVersion))"]
        lines.append("shipper: " + (leader.map { "leader is backend \($0.pid) (\($0.applicationName))" }
            ?? "none running"))
        var queue = "queue: \(queueDepth) event(s)"
        if let age = oldestEventAgeSeconds, let created = oldestEventCreatedAt {
            queue += ", oldest \(OutboxStatusReport.formatAge(age)) old (\(created))"
        }
        lines.append(queue)
        guard !tables.isEmpty else { return (lines + ["no tables set up"]).joined(separator: "\n") + "\n" }
        let rows = tables.map { table -> [String] in
            let registration = table.registration
            var snapshot = registration.snapshotState.rawValue
            if registration.snapshotState != .skipped { snapshot += " (\(registration.snapshotRows) rows)" }
            return [registration.table.description + (registration.tableExists ? "" : " (dropped)"),
                    registration.idColumn, registration.capture.rawValue, snapshot, String(table.queued)]
        }
        return lines.joined(separator: "\n") + "\n\n"
            + TextTable(headers: ["TABLE", "ID COLUMN", "CAPTURE", "SNAPSHOT", "QUEUED"]).render(rows)
    }

    static func formatAge(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        if seconds < 120 { return "\(Double(Int(seconds * 10)) / 10) s" }
        if seconds < 7200 { return "\(Int(seconds / 60)) min" }
        return "\(Double(Int(seconds / 360)) / 10) h"
    }
}
