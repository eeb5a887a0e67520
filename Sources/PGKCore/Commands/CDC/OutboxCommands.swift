/// `pgk cdc outbox`: trigger-fed outbox → Kafka, for databases without WAL
/// access or extensions (hosted PostgreSQL). Replaces pg2kafka.
enum OutboxCommands {
    static let spec = CommandSpec(
        name: "outbox",
        summary: "capture changes with triggers into an outbox and ship them to Kafka",
        discussion: """
        For databases where logical replication and extensions are not \
        available. 'setup' installs schema pgk (an event queue and SECURITY \
        DEFINER trigger functions; versioned migrations) and attaches \
        triggers to the table; 'run' ships the queued events to Kafka with \
        acknowledgements, in commit order per row, deleting each only once \
        Kafka has it. Several 'run' processes may run: one leads, the \
        others stand by.

        Each event is JSON: uuid, external_id (the id column's value, also \
        the Kafka key), statement (INSERT, UPDATE, DELETE, SNAPSHOT or \
        TRUNCATE), data, previous, schema, table, txid and created_at (RFC \
        3339, UTC). data is the whole row for INSERT and SNAPSHOT, the \
        changed columns' new values for UPDATE (compared as jsonb, so hstore \
        and jsonb columns change as whole values; an UPDATE that changes \
        nothing emits nothing), and {} for DELETE and TRUNCATE. previous \
        holds the changed columns' old values for UPDATE and the whole old \
        row for DELETE. An UPDATE of the id column arrives as a DELETE of \
        the old key followed by an INSERT under the new one.
        """,
        subcommands: [setup, teardown, uninstall, run, status])

    static func connect(_ invocation: Invocation) throws -> PostgresConnection {
        try PostgresConnection(conninfo: invocation.globals.database, applicationName: "pgk cdc outbox")
    }

    static func tableName(_ invocation: Invocation) throws -> QualifiedName {
        try QualifiedName.parse(invocation.argument("TABLE")!)
    }

    static let noSnapshot: Option<Bool> = .flag("no-snapshot", help: "Do not enqueue SNAPSHOT events for existing rows")
    static let snapshotChunkSize: Option<Int> = .integer("snapshot-chunk-size", 1...Int64.max, name: "ROWS",
                                                         help: "Rows per snapshot transaction",
                                                         default: OutboxSnapshot.defaultChunkSize)
    static let force: Option<Bool> = .destructiveFlag("force", help: "Tear down every table and drop queued events too")

    static let setup = CommandSpec(
        name: "setup",
        summary: "install the outbox, attach the capture triggers and snapshot the table",
        discussion: """
        Installs or migrates pgk's objects in schema pgk, checks that TABLE \
        and ID_COLUMN exist, attaches the triggers, then enqueues a SNAPSHOT \
        event for every existing row in primary-key chunks that lock only \
        their own rows, so writes continue meanwhile. An interrupted snapshot \
        resumes when setup runs again; on a table already set up it warns and \
        changes nothing. Names are case-sensitive and may be \
        schema-qualified and quoted: 'Shop."Order Lines"'.

        INSERTs are captured once per statement (a transition table; COPY \
        too), UPDATE and DELETE per row. Partitioned tables, partitions and \
        inheritance children are captured entirely per row; set up the \
        partitioned table, and partitions made later are captured too. A \
        table captured per statement cannot be attached as a partition or \
        made an inheritance child until it is torn down (its trigger \
        pgk_outbox_partition_guard makes PostgreSQL refuse), and setup warns \
        when the table has AFTER INSERT triggers of its own: they run \
        before pgk queues the statement's INSERT events.
        """,
        arguments: [
            ArgumentSpec("TABLE", help: "The table, optionally schema-qualified"),
            ArgumentSpec("ID_COLUMN", help: "The column whose value is the Kafka key (external_id)"),
        ],
        options: [
            noSnapshot.spec, snapshotChunkSize.spec,
        ],
        examples: [
            Example("pgk cdc outbox setup products sku", "Capture products, keyed by sku (pg2kafka.setup)."),
            Example("pgk cdc outbox setup 'shop.\"LineItems\"' id --no-snapshot", "Mixed case, no snapshot."),
        ],
        run: { invocation in
            let db = try connect(invocation)
            let table = try tableName(invocation)
            let outcome = try OutboxRegistry.setup(
                table: table, idColumn: invocation.argument("ID_COLUMN")!,
                snapshot: !invocation[noSnapshot],
                chunkSize: invocation[snapshotChunkSize],
                on: db, stop: invocation.stop)
            switch outcome {
            case .registered(let rows), .resumedSnapshot(let rows):
                Log.info("outbox: \(table) is set up; \(rows) SNAPSHOT event(s) queued")
            case .alreadySetUp:
                break
            }
            return ExitStatus.ok
        })

    static let teardown = CommandSpec(
        name: "teardown",
        summary: "stop capturing a table: drop its triggers and registration",
        discussion: "Events already queued for the table stay queued and are still shipped.",
        arguments: [ArgumentSpec("TABLE", help: "The table, optionally schema-qualified")],
        examples: [Example("pgk cdc outbox teardown products", "Stop capturing products.")],
        run: { invocation in
            let db = try connect(invocation)
            let table = try tableName(invocation)
            if try !OutboxRegistry.teardown(table: table, on: db) {
                Log.warning("outbox: \(table) is not set up; nothing changed")
            }
            return ExitStatus.ok
        })

    static let uninstall = CommandSpec(
        name: "uninstall",
        summary: "drop pgk's outbox objects from the database",
        discussion: """
        Drops the queue, the registrations and the trigger functions (and \
        schema pgk when nothing else is in it). Refuses while tables are set \
        up or events are still queued, unless --force, which also drops the \
        triggers of every set-up table.
        """,
        options: [force.spec],
        run: { invocation in
            let db = try connect(invocation)
            let outcome = try OutboxRegistry.uninstall(force: invocation[force], on: db)
            if !outcome.wasInstalled {
                Log.info("outbox: not installed in database \(db.databaseName); nothing to do")
            } else {
                Log.info("outbox: uninstalled (\(outcome.droppedRegistrations) table(s) torn down, "
                    + "\(outcome.droppedEvents) queued event(s) dropped)")
            }
            return ExitStatus.ok
        })

    static let status = CommandSpec(
        name: "status",
        summary: "show set-up tables, queue depth and the oldest unshipped event",
        options: [OutputFormat.option.spec],
        examples: [Example("pgk cdc outbox status -o json", "The same as JSON, for monitoring.")],
        run: { invocation in
            let db = try connect(invocation)
            let report = try OutboxStatusReport.collect(on: db)
            let format = invocation[OutputFormat.option]
            try invocation.output.write(report.render(format))
            return ExitStatus.ok
        })
}
