/// `pgk cdc wal setup` and `teardown`: the publication and the slot, with
/// every prerequisite checked and explained before anything is created.
extension WALCommands {
    static let tablesOption: Option<[[QualifiedName]]> = .parsedList(
        "tables", name: "TABLE,...", help: "Tables to capture (schema.table; repeatable)") { text in
            try text.split(separator: ",").map { try QualifiedName.parse(String($0)) }
        }
    static let allTablesOption: Option<Bool> = .flag(
        "all-tables", help: "Capture every table, including future ones (superuser only)")
    static let keepPublicationOption: Option<Bool> = .flag("keep-publication", help: "Drop only the slot")

    static let setup = CommandSpec(
        name: "setup",
        summary: "check prerequisites, create the publication and the slot",
        discussion: """
        Checks wal_level, free replication slots and WAL senders, the \
        REPLICATION privilege, and that every captured table has a primary \
        key or a replica identity (without one PostgreSQL rejects UPDATE and \
        DELETE on a published table). Each problem is printed with its fix, \
        and nothing is created until all are solved. An existing publication \
        gets the missing --tables added.
        """,
        options: [
            slotOption.spec, publicationOption.spec, tablesOption.spec, allTablesOption.spec,
        ],
        examples: [Example("pgk cdc wal setup --tables admission,research", "Capture two tables in the search path.")],
        run: { invocation in
            let tables = invocation[tablesOption].flatMap { $0 }
            let allTables = invocation[allTablesOption]
            if allTables && !tables.isEmpty { throw invocation.usageError("give --tables or --all-tables, not both") }
            let setup = WALSetup(conninfo: invocation.globals.database, slot: invocation[slotOption],
                                 publication: invocation[publicationOption], tables: tables, allTables: allTables)
            try setup.run(invocation: invocation)
            return ExitStatus.ok
        })

    static let teardown = CommandSpec(
        name: "teardown",
        summary: "drop the slot and the publication",
        discussion: """
        Drops the replication slot (releasing the WAL it holds) and the \
        publication, and forgets the slot's snapshot in pgk.wal_snapshots, \
        so a later 'run --snapshot initial' copies the tables again.
        """,
        options: [slotOption.spec, publicationOption.spec, keepPublicationOption.spec],
        run: { invocation in
            let slot = invocation[slotOption]
            let publication = invocation[publicationOption]
            try ReplicationConnection.validateSlotName(slot)
            let db = try PostgresConnection(conninfo: invocation.globals.database, applicationName: "pgk-cdc")
            let active = try db.query("SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = $1", [slot])
            if let row = active.rows.first {
                if let pid = row[0] { throw WALError.slotInUse(slot: slot, pid: pid) }
                try db.execute("SELECT pg_drop_replication_slot($1)", [slot])
                Log.info("dropped replication slot \(slot)")
            } else {
                Log.info("replication slot \(slot) does not exist")
            }
            if !invocation[keepPublicationOption] {
                try db.execute("DROP PUBLICATION IF EXISTS \(try db.quoteIdentifier(publication))")
                Log.info("dropped publication \(publication)")
            }
            try SnapshotStateStore(connection: db).clear(slot: slot)
            return ExitStatus.ok
        })
}

/// The checks and statements behind `setup`.
struct WALSetup {
    let conninfo: String?
    let slot: String
    let publication: String
    let tables: [QualifiedName]
    let allTables: Bool

    struct Problem {
        var what: String
        var fix: String
    }

    func run(invocation: Invocation) throws {
        try ReplicationConnection.validateSlotName(slot)
        let db = try PostgresConnection(conninfo: conninfo, applicationName: "pgk-cdc")
        let publicationExists = try db.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [publication]).count == 1
        if !publicationExists && tables.isEmpty && !allTables {
            throw invocation.usageError("publication \(publication) does not exist: give --tables or --all-tables to create it")
        }
        let slotExists = try db.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slot]).count == 1
        var problems = try serverProblems(db, needSlot: !slotExists)
        let resolved = try resolveTables(db, &problems)
        if allTables {
            let isSuper = try db.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar == "t"
            if !isSuper && !publicationExists {
                problems.append(Problem(what: "--all-tables needs a superuser to create the publication",
                                        fix: "run setup as a superuser, or list the tables with --tables"))
            }
            problems += try identityProblems(db, oids: nil)
        } else {
            problems += try identityProblems(db, oids: resolved.map(\.oid))
        }
        guard problems.isEmpty else {
            for problem in problems { Log.error("\(problem.what) (fix: \(problem.fix))") }
            throw RuntimeError("\(problems.count) prerequisite(s) missing; nothing was created")
        }
        try createPublication(db, exists: publicationExists, tables: resolved.map(\.sql))
        if slotExists {
            Log.info("replication slot \(slot) already exists")
        } else {
            let replication = try ReplicationConnection(conninfo: conninfo, applicationName: "pgk-cdc")
            let created = try replication.createLogicalSlot(slot, exportSnapshot: false)
            Log.info("created replication slot \(slot) (pgoutput) at \(created.consistentPoint)")
        }
        let members = try db.query("SELECT count(*) FROM pg_publication_tables WHERE pubname = $1", [publication]).scalar ?? "0"
        Log.info("publication \(publication) captures \(members) table(s); next: pgk cdc wal run --slot \(slot) --publication \(publication)")
    }

    func serverProblems(_ db: PostgresConnection, needSlot: Bool) throws -> [Problem] {
        var problems: [Problem] = []
        let walLevel = try db.query("SHOW wal_level").scalar ?? "?"
        if walLevel != "logical" {
            problems.append(Problem(what: "wal_level is \(walLevel), logical decoding needs 'logical'",
                                    fix: "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL"))
        }
        let limits = try db.query("""
            SELECT current_setting('max_replication_slots')::int AS max_slots,
                   (SELECT count(*) FROM pg_replication_slots)::int AS slots,
                   current_setting('max_wal_senders')::int AS max_senders,
                   (SELECT count(*) FROM pg_stat_replication)::int AS senders
            """).rows.first
        let maxSlots = Int(limits?["max_slots"] ?? "") ?? 0, slots = Int(limits?["slots"] ?? "") ?? 0
        let maxSenders = Int(limits?["max_senders"] ?? "") ?? 0, senders = Int(limits?["senders"] ?? "") ?? 0
        if needSlot && slots >= maxSlots {
            problems.append(Problem(what: "all \(maxSlots) replication slots are in use (max_replication_slots)",
                                    fix: "ALTER SYSTEM SET max_replication_slots = \(max(10, maxSlots * 2)); then restart PostgreSQL, or drop an unused slot"))
        }
        if senders >= maxSenders {
            problems.append(Problem(what: "all \(maxSenders) WAL senders are busy (max_wal_senders)",
                                    fix: "ALTER SYSTEM SET max_wal_senders = \(max(10, maxSenders * 2)); then restart PostgreSQL"))
        }
        let role = try db.query("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user").scalar
        if role != "t" {
            let user = try db.quoteIdentifier(db.userName)
            problems.append(Problem(what: "role \(db.userName) lacks the REPLICATION privilege",
                                    fix: "ALTER ROLE \(user) REPLICATION; (as a superuser)"))
        }
        return problems
    }

    struct ResolvedTable {
        var oid: String
        var sql: String
    }

    func resolveTables(_ db: PostgresConnection, _ problems: inout [Problem]) throws -> [ResolvedTable] {
        var resolved: [ResolvedTable] = []
        for table in tables {
            let sql = try table.sql(on: db)
            guard let oid = try db.query("SELECT to_regclass($1)::oid::text", [sql]).scalar else {
                problems.append(Problem(what: "table \(table) does not exist",
                                        fix: "check the name (names are case-sensitive; quote mixed case as \"MyTable\")"))
                continue
            }
            resolved.append(ResolvedTable(oid: oid, sql: sql))
        }
        return resolved
    }

    /// Tables whose UPDATE/DELETE would fail once published.
    func identityProblems(_ db: PostgresConnection, oids: [String]?) throws -> [Problem] {
        let filter = oids == nil ? "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
                                 : "c.oid = ANY($1::oid[])"
        let rows = try db.query("""
            SELECT n.nspname, c.relname, c.relreplident,
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND \(filter)
            """, oids.map { ["{" + $0.joined(separator: ",") + "}"] } ?? [])
        var problems: [Problem] = []
        for row in rows.rows {
            let name = QualifiedName(schema: row["nspname"], name: row["relname"] ?? "")
            let identity = row["relreplident"] ?? "d"
            if identity == "n" || (identity == "d" && row["has_pk"] != "t") {
                let sql = try name.sql(on: db)
                problems.append(Problem(what: "table \(name) has no primary key and no replica identity: "
                                            + "PostgreSQL rejects UPDATE and DELETE on it once it is published",
                                        fix: "ALTER TABLE \(sql) ADD PRIMARY KEY (…); or ALTER TABLE \(sql) REPLICA IDENTITY FULL;"))
            }
        }
        return problems
    }

    func createPublication(_ db: PostgresConnection, exists: Bool, tables: [String]) throws {
        let name = try db.quoteIdentifier(publication)
        if !exists {
            try db.execute("CREATE PUBLICATION \(name) " + (allTables ? "FOR ALL TABLES" : "FOR TABLE " + tables.joined(separator: ", ")))
            Log.info("created publication \(publication)")
            return
        }
        guard !tables.isEmpty else { return }
        let members = Set(try db.query("""
            SELECT c.oid::text FROM pg_publication_tables pt
            JOIN pg_namespace n ON n.nspname = pt.schemaname
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
            WHERE pt.pubname = $1
            """, [publication]).column("oid").compactMap { $0 })
        var missing: [String] = []
        for table in tables {
            let oid = try db.query("SELECT to_regclass($1)::oid::text", [table]).scalar
            if let oid, !members.contains(oid) { missing.append(table) }
        }
        if !missing.isEmpty {
            try db.execute("ALTER PUBLICATION \(name) ADD TABLE " + missing.joined(separator: ", "))
            Log.info("added \(missing.joined(separator: ", ")) to publication \(publication)")
        }
    }
}
