/// A table as the catalog names it, found from what the user typed.
struct OutboxTableRef: Sendable, Equatable, CustomStringConvertible {
    var relid: UInt32
    var schema: String
    var name: String

    var qualifiedName: QualifiedName { QualifiedName(schema: schema, name: name) }
    var description: String { qualifiedName.description }
}

/// One row of `pgk.outbox_tables`.
struct OutboxRegistration: Sendable, Equatable {
    enum SnapshotState: String, Sendable {
        /// Triggers attached, snapshot not (fully) taken yet: `setup` resumes it.
        case pending
        case done
        /// `--no-snapshot`.
        case skipped
    }

    var table: OutboxTableRef
    var idColumn: String
    var snapshotState: SnapshotState
    /// The key of the last row a committed snapshot chunk enqueued.
    var snapshotCursor: [String]?
    var snapshotRows: Int64
    /// False when the table was dropped after registering.
    var tableExists: Bool
    /// How its changes are captured, read from the triggers it has.
    var capture: Capture

    enum Capture: String, Sendable {
        /// INSERT per statement (transition table), UPDATE and DELETE per row.
        case statement
        /// Everything per row: partitioned tables, partitions, inheritance
        /// children, and tables set up by pgk before schema version 2.
        case row
        /// No capture trigger found (dropped by hand, or the table is gone).
        case missing
    }
}

/// What `setup` did.
enum OutboxSetupOutcome: Sendable, Equatable {
    /// Registered now; `snapshotRows` SNAPSHOT events were enqueued (0 with --no-snapshot).
    case registered(snapshotRows: Int64)
    /// Was registered with an unfinished snapshot, which is now complete.
    case resumedSnapshot(snapshotRows: Int64)
    /// Already set up: nothing changed.
    case alreadySetUp
}

/// setup, teardown and uninstall: the objects pgk puts in a database.
enum OutboxRegistry {
    /// Resolves `name` as PostgreSQL would (search_path for an unqualified
    /// name), with no case folding; throws a clear error when it is not a table.
    static func resolve(_ name: QualifiedName, on db: PostgresConnection) throws -> OutboxTableRef {
        let result = try db.query("""
            SELECT c.oid, n.nspname, c.relname, c.relkind
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = to_regclass($1)
            """, [try name.sql(on: db)])
        guard let row = result.rows.first, let oid = row[0].flatMap({ UInt32($0) }) else {
            throw RuntimeError("table \(name) does not exist in database \(db.databaseName)"
                + " (names are case-sensitive: pgk does not fold them to lower case)")
        }
        guard row[3] == "r" || row[3] == "p" else {
            throw RuntimeError("\(name) is not a table (relkind '\(row[3] ?? "")'); only tables can be set up")
        }
        let ref = OutboxTableRef(relid: oid, schema: row[1] ?? "", name: row[2] ?? "")
        if ref.schema == OutboxSchema.schema {
            throw RuntimeError("\(ref) belongs to pgk itself and cannot be set up")
        }
        return ref
    }

    /// Throws unless `column` is a column of `table`, naming the columns it has.
    static func validateColumn(_ column: String, of table: OutboxTableRef, on db: PostgresConnection) throws {
        let columns = try db.query("""
            SELECT attname FROM pg_attribute
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """, [String(table.relid)]).column("attname").compactMap { $0 }
        guard !columns.contains(column) else { return }
        var message = "table \(table) has no column \"\(column)\"; its columns are: "
            + columns.joined(separator: ", ")
        if let close = columns.first(where: { $0.lowercased() == column.lowercased() }) {
            message += " (did you mean \"\(close)\"? names are case-sensitive)"
        }
        throw RuntimeError(message)
    }

    static func registrations(on db: PostgresConnection) throws -> [OutboxRegistration] {
        guard try OutboxSchema.installedVersion(on: db) != nil else { return [] }
        return try db.query("""
            SELECT r.relid, r.schema_name, r.table_name, r.id_column, r.snapshot_state,
                   r.snapshot_cursor, r.snapshot_rows,
                   EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.relid) AS table_exists,
                   \(captureSQL)
              FROM pgk.outbox_tables r ORDER BY r.schema_name, r.table_name
            """).rows.map(registration(from:))
    }

    static func registration(for relid: UInt32, on db: PostgresConnection) throws -> OutboxRegistration? {
        try db.query("""
            SELECT r.relid, r.schema_name, r.table_name, r.id_column, r.snapshot_state,
                   r.snapshot_cursor, r.snapshot_rows, true, \(captureSQL)
              FROM pgk.outbox_tables r WHERE r.relid = $1
            """, [String(relid)]).rows.first.map(registration(from:))
    }

    /// The capture mode from the triggers the table has.
    private static let captureSQL = """
        CASE WHEN NOT EXISTS (SELECT 1 FROM pg_trigger t
                               WHERE t.tgrelid = r.relid AND t.tgname = '\(OutboxSchema.rowTriggerName)') THEN 'missing'
             WHEN EXISTS (SELECT 1 FROM pg_trigger t
                           WHERE t.tgrelid = r.relid AND t.tgname = '\(OutboxSchema.insertTriggerName)') THEN 'statement'
             ELSE 'row' END AS capture
        """

    private static func registration(from row: QueryResult.Row) -> OutboxRegistration {
        OutboxRegistration(
            table: OutboxTableRef(relid: UInt32(row[0] ?? "") ?? 0, schema: row[1] ?? "", name: row[2] ?? ""),
            idColumn: row[3] ?? "",
            snapshotState: OutboxRegistration.SnapshotState(rawValue: row[4] ?? "") ?? .pending,
            snapshotCursor: row[5].map(PostgresTextArray.parse),
            snapshotRows: Int64(row[6] ?? "") ?? 0,
            tableExists: row[7] == "t",
            capture: OutboxRegistration.Capture(rawValue: row[8] ?? "") ?? .missing)
    }

    /// `pgk cdc outbox setup`: migrate, validate, register, attach the
    /// triggers, then snapshot the existing rows (resumable). Running it
    /// again on a set-up table warns and changes nothing.
    static func setup(table name: QualifiedName, idColumn: String, snapshot: Bool,
                             chunkSize: Int = OutboxSnapshot.defaultChunkSize,
                             on db: PostgresConnection, stop: StopToken) throws -> OutboxSetupOutcome {
        // Validate before touching anything, so a typo changes nothing.
        let table = try resolve(name, on: db)
        try validateColumn(idColumn, of: table, on: db)
        let applied = try OutboxSchema.migrate(on: db)
        if !applied.isEmpty {
            Log.info("outbox: installed schema pgk migration(s) \(applied.map(String.init).joined(separator: ", "))")
        }

        if let existing = try registration(for: table.relid, on: db) {
            guard existing.idColumn == idColumn else {
                throw RuntimeError("\(table) is already set up with id column \"\(existing.idColumn)\"; "
                    + "run 'pgk cdc outbox teardown \(table)' first to change it")
            }
            guard existing.snapshotState == .pending else {
                Log.warning("outbox: \(table) is already set up (id column \"\(idColumn)\"); nothing changed")
                return .alreadySetUp
            }
            Log.info("outbox: resuming the unfinished snapshot of \(table)")
            let rows = try OutboxSnapshot.run(existing, chunkSize: chunkSize, on: db, stop: stop)
            return .resumedSnapshot(snapshotRows: rows)
        }

        let registered = try db.transaction {
            // Serializes with a concurrent setup of the same table.
            try db.execute("SELECT pg_advisory_xact_lock(\(OutboxLeadership.lockNamespace), $1::int)",
                           [String(Int32(bitPattern: table.relid))])
            if try registration(for: table.relid, on: db) != nil {
                throw RuntimeError("\(table) was set up concurrently by another session")
            }
            let state: OutboxRegistration.SnapshotState = snapshot ? .pending : .skipped
            try db.execute("""
                INSERT INTO pgk.outbox_tables (relid, schema_name, table_name, id_column, snapshot_state)
                VALUES ($1, $2, $3, $4, $5)
                """, [String(table.relid), table.schema, table.name, idColumn, state.rawValue])
            let capture = try attachTriggers(table, on: db)
            return OutboxRegistration(table: table, idColumn: idColumn, snapshotState: state,
                                      snapshotCursor: nil, snapshotRows: 0, tableExists: true, capture: capture)
        }
        Log.info("outbox: capturing changes to \(table) (id column \"\(idColumn)\"; "
            + (registered.capture == .statement ? "INSERT per statement, UPDATE and DELETE per row)" : "per row)"))
        if registered.capture == .statement {
            let triggers = try afterInsertTriggers(on: table, db: db)
            if !triggers.isEmpty {
                Log.warning("outbox: \(table) has AFTER INSERT trigger(s) \(triggers.joined(separator: ", ")); "
                    + "they run before pgk queues a statement's INSERT events, so a change one of them makes to "
                    + "the rows just inserted would be queued before the INSERT itself (do that in a BEFORE trigger)")
            }
        }
        guard snapshot else { return .registered(snapshotRows: 0) }
        let rows = try OutboxSnapshot.run(registered, chunkSize: chunkSize, on: db, stop: stop)
        return .registered(snapshotRows: rows)
    }

    /// (Re)creates the table's capture triggers from its registration; the
    /// server-side function chooses per-statement INSERT capture where it is
    /// sound (see `OutboxSchema.version2`) and quotes every argument itself.
    @discardableResult
    static func attachTriggers(_ table: OutboxTableRef, on db: PostgresConnection) throws -> OutboxRegistration.Capture {
        let mode = try db.query("SELECT pgk.outbox_attach_capture($1::oid)", [String(table.relid)]).scalar
        return OutboxRegistration.Capture(rawValue: mode ?? "") ?? .missing
    }

    /// The application's own AFTER INSERT triggers on `table`. With INSERTs
    /// captured per statement they all run before the INSERT events are
    /// queued, which matters only if one changes the rows just inserted.
    static func afterInsertTriggers(on table: OutboxTableRef, db: PostgresConnection) throws -> [String] {
        // tgtype bits: 2 BEFORE, 4 INSERT, 64 INSTEAD OF.
        try db.query("""
            SELECT tgname FROM pg_trigger
             WHERE tgrelid = $1 AND NOT tgisinternal AND (tgtype & 4) <> 0 AND (tgtype & 66) = 0
               AND tgname <> ALL ($2::text[])
             ORDER BY tgname
            """, [String(table.relid), PostgresTextArray.literal(OutboxSchema.triggerNames)])
            .column("tgname").compactMap { $0 }
    }

    /// `pgk cdc outbox teardown`: drops the triggers and the registration.
    /// Events already queued stay and are still shipped. Returns false when
    /// the table was not registered.
    static func teardown(table name: QualifiedName, on db: PostgresConnection) throws -> Bool {
        guard try OutboxSchema.installedVersion(on: db) != nil else { return false }
        return try db.transaction {
            var relid: UInt32?
            if let table = try? resolve(name, on: db) {
                relid = table.relid
            } else {
                // The table may have been dropped; find its registration by name.
                let matches = try db.query("""
                    SELECT relid FROM pgk.outbox_tables
                     WHERE table_name = $1 AND ($2::text IS NULL OR schema_name = $2)
                    """, [name.name, name.schema])
                guard matches.count <= 1 else {
                    throw RuntimeError("\(name) matches \(matches.count) registered tables; qualify it with its schema")
                }
                relid = matches.rows.first?[0].flatMap { UInt32($0) }
            }
            guard let relid, let registered = try registration(for: relid, on: db) else { return false }
            let exists = try db.query("SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = $1::oid)",
                                      [String(relid)]).scalar == "t"
            if exists { try detachTriggers(relid: relid, on: db) }
            try db.execute("DELETE FROM pgk.outbox_tables WHERE relid = $1", [String(relid)])
            Log.info("outbox: stopped capturing changes to \(registered.table)")
            return true
        }
    }

    /// Drops every trigger any version of pgk attached (on a partitioned
    /// table this drops the partitions' clones too).
    static func detachTriggers(relid: UInt32, on db: PostgresConnection) throws {
        let statements = try db.query("""
            SELECT format('DROP TRIGGER IF EXISTS %I ON %s', name, $1::oid::regclass) AS command
              FROM unnest($2::text[]) AS name
            """, [String(relid), PostgresTextArray.literal(OutboxSchema.triggerNames)])
        for statement in statements.column("command") {
            if let statement { try db.execute(statement) }
        }
    }

    struct UninstallOutcome: Sendable, Equatable {
        var wasInstalled: Bool
        var droppedRegistrations: Int
        var droppedEvents: Int64
    }

    /// `pgk cdc outbox uninstall`: drops pgk's outbox objects. Refuses while
    /// tables are registered or events are unshipped, unless `force`.
    static func uninstall(force: Bool, on db: PostgresConnection) throws -> UninstallOutcome {
        guard try OutboxSchema.installedVersion(on: db) != nil else {
            return UninstallOutcome(wasInstalled: false, droppedRegistrations: 0, droppedEvents: 0)
        }
        return try db.transaction {
            try db.execute("SELECT pg_advisory_xact_lock(\(OutboxLeadership.lockNamespace), hashtext('pgk.outbox.migrate'))")
            let registered = try registrations(on: db)
            let queued = Int64(try db.query("SELECT count(*) FROM pgk.outbox_events").scalar ?? "0") ?? 0
            if !force {
                if !registered.isEmpty {
                    let names = registered.map { $0.table.description }.joined(separator: ", ")
                    throw RuntimeError("\(registered.count) table(s) are still set up (\(names)); "
                        + "run 'pgk cdc outbox teardown TABLE' for each, or pass --force")
                }
                if queued > 0 {
                    throw RuntimeError("\(queued) event(s) are still queued and would be lost; "
                        + "ship them with 'pgk cdc outbox run --exit-when-empty', or pass --force")
                }
            }
            for registration in registered where registration.tableExists {
                try detachTriggers(relid: registration.table.relid, on: db)
            }
            // CASCADE drops any capture trigger still pointing at the
            // functions (e.g. a registration removed by hand), so no table
            // is left with a trigger that would fail its writes.
            try db.executeScript("""
                DROP FUNCTION IF EXISTS pgk.outbox_capture() CASCADE;
                DROP FUNCTION IF EXISTS pgk.outbox_capture_inserts() CASCADE;
                DROP FUNCTION IF EXISTS pgk.outbox_capture_truncate() CASCADE;
                DROP FUNCTION IF EXISTS pgk.outbox_attach_capture(oid);
                DROP FUNCTION IF EXISTS pgk.outbox_event_uuid(bigint);
                DROP TABLE IF EXISTS pgk.outbox_events, pgk.outbox_tables, pgk.outbox_install, pgk.outbox_migrations;
                """)
            // The schema goes only if nothing else (other pgk parts) lives there.
            let leftovers = try db.query("""
                SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgk'
                """).scalar ?? "0"
            let functions = try db.query("""
                SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgk'
                """).scalar ?? "0"
            if leftovers == "0" && functions == "0" { try db.execute("DROP SCHEMA IF EXISTS pgk") }
            return UninstallOutcome(wasInstalled: true, droppedRegistrations: registered.count, droppedEvents: queued)
        }
    }
}
