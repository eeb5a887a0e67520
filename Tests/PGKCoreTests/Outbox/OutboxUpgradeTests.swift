import Foundation
import Synchronization
import Testing
@testable import PGKCore

/// An installation made by a pgk with schema version 1 (row triggers for
/// everything) upgrades on the next `setup` or `run`.
@Suite struct OutboxUpgradeTests {
    /// Installs version 1 and registers `table` the way version 1's setup did.
    static func installVersion1(_ db: PostgresConnection, tables: [String], idColumn: String = "id") throws {
        #expect(try OutboxSchema.migrate(on: db, upTo: 1) == [1])
        for table in tables {
            try db.execute("""
                INSERT INTO pgk.outbox_tables (relid, schema_name, table_name, id_column, snapshot_state)
                VALUES (to_regclass($1)::oid, 'public', $1, $2, 'skipped')
                """, [table, idColumn])
            try db.execute("""
                CREATE TRIGGER pgk_outbox_capture AFTER INSERT OR UPDATE OR DELETE ON \(table) FOR EACH ROW
                EXECUTE FUNCTION pgk.outbox_capture('\(idColumn)', 'public', '\(table)')
                """)
            try db.execute("""
                CREATE TRIGGER pgk_outbox_truncate AFTER TRUNCATE ON \(table) FOR EACH STATEMENT
                EXECUTE FUNCTION pgk.outbox_capture_truncate('\(idColumn)', 'public', '\(table)')
                """)
        }
        #expect(try OutboxSchema.installedVersion(on: db) == 1)
    }

    @Test func setupUpgradesVersion1KeepingTheQueueAndReattachingEveryTable() throws {
        let db = try OutboxCaptureTests.database("ob_upgrade")
        try db.execute("CREATE TABLE a (id int PRIMARY KEY, v text)")
        try db.execute("CREATE TABLE gone (id int PRIMARY KEY)")
        try db.execute("CREATE TABLE m (id int PRIMARY KEY) PARTITION BY RANGE (id)")
        try db.execute("CREATE TABLE m_all PARTITION OF m DEFAULT")
        try db.execute("CREATE TABLE b (id int PRIMARY KEY)")
        try Self.installVersion1(db, tables: ["a", "gone", "m"])
        try db.execute("INSERT INTO a VALUES (1, 'queued by version 1')")
        try db.execute("DROP TABLE gone") // a registration whose table is gone
        let before = try db.query("SELECT id, data::text FROM pgk.outbox_events ORDER BY id").rows.map(\.values)
        #expect(try OutboxRegistry.registrations(on: db).map(\.capture) == [.row, .missing, .row])

        #expect(try OutboxCaptureTests.setup(db, "b", "id") == .registered(snapshotRows: 0))
        #expect(try OutboxSchema.installedVersion(on: db) == 2)
        #expect(try db.query("SELECT count(*) FROM pgk.outbox_migrations").scalar == "2")
        #expect(try db.query("SELECT id, data::text FROM pgk.outbox_events ORDER BY id").rows.map(\.values) == before)
        let captures = Dictionary(uniqueKeysWithValues: try OutboxRegistry.registrations(on: db).map {
            ($0.table.name, $0.capture)
        })
        #expect(captures == ["a": .statement, "b": .statement, "gone": .missing, "m": .row])
        #expect(try OutboxCaptureTests.triggers(db, "a") == ["pgk_outbox_capture row", "pgk_outbox_capture_insert statement",
                                                             "pgk_outbox_partition_guard row", "pgk_outbox_truncate statement"])

        // Each change is captured exactly once after the upgrade.
        try db.execute("INSERT INTO a VALUES (2, 'x'), (3, 'y')")
        try db.execute("UPDATE a SET v = 'z' WHERE id = 2")
        try db.execute("DELETE FROM a WHERE id = 3")
        try db.execute("INSERT INTO m VALUES (9)")
        let events = try OutboxCaptureTests.queued(db)
        #expect(events.map { "\($0.statement) \($0.table):\($0.externalID ?? "")" }
                == ["INSERT a:1", "INSERT a:2", "INSERT a:3", "UPDATE a:2", "DELETE a:3", "INSERT m:9"])
        #expect(try OutboxRegistry.uninstall(force: true, on: db).wasInstalled)
        #expect(try db.query("SELECT to_regnamespace('pgk') IS NULL").scalar == "t")
    }

    /// The triggers are swapped inside the migration's transaction: writes
    /// that run meanwhile are each captured exactly once.
    @Test func writesDuringTheUpgradeAreCapturedExactlyOnce() throws {
        let url = try TestPostgres.freshDatabase("ob_upgradewrites")
        let db = try PostgresConnection(conninfo: url)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try Self.installVersion1(db, tables: ["t"])
        let stop = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let writers = (0..<2).map { worker in
            TestThread.start {
                do {
                    let connection = try PostgresConnection(conninfo: url)
                    var next = worker * 1_000_000
                    while !stop.load(ordering: .relaxed) {
                        try connection.execute("INSERT INTO t SELECT i FROM generate_series($1::int, $1::int + 9) i",
                                               [String(next)])
                        next += 10
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        usleep(300_000)
        let upgraded = Result { try OutboxSchema.migrate(on: db) }
        usleep(300_000)
        stop.store(true, ordering: .relaxed)
        writers.forEach { $0.join() }
        #expect(try upgraded.get() == [2])
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let mismatch = try db.query("""
            SELECT count(*) FILTER (WHERE e.n IS DISTINCT FROM 1), count(*)
              FROM t LEFT JOIN (SELECT external_id, count(*) AS n FROM pgk.outbox_events GROUP BY 1) e
                ON e.external_id = t.id::text
            """).rows[0]
        #expect(mismatch[0] == "0", "rows without exactly one INSERT event: \(mismatch[0] ?? "?") of \(mismatch[1] ?? "?")")
        #expect(Int(mismatch[1] ?? "0")! > 100, "writes ran during the upgrade")
        #expect(try db.query("SELECT count(*) FROM pgk.outbox_events").scalar == mismatch[1])
    }

    @Test func runUpgradesVersion1AndADryRunChangesNothing() throws {
        let fixture = try OutboxFixture("ob_upgraderun")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try Self.installVersion1(fixture.db, tables: ["t"])
        try fixture.db.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)

        let dry = try fixture.pgkOK(["cdc", "outbox", "run", "--dry-run", "--exit-when-empty"])
        #expect(dry.stdout.split(separator: "\n").count == 2, "\(dry.stdout)")
        #expect(try OutboxSchema.installedVersion(on: fixture.db) == 1, "a dry run does not migrate")
        #expect(try fixture.queueDepth() == 2)

        let run = try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty"])
        #expect(run.stderr.contains("upgraded schema pgk to version 2"), "\(run.stderr)")
        #expect(try OutboxSchema.installedVersion(on: fixture.db) == 2)
        #expect(try OutboxRegistry.registrations(on: fixture.db).map(\.capture) == [.statement])
        #expect(try fixture.queueDepth() == 0)
        try fixture.db.execute("INSERT INTO t VALUES (3, 'three')")
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty"])
        let keys = try fixture.consume(fixture.topic("t"), atLeast: 3).map { try ShippedEvent($0).key }
        #expect(keys == ["1", "2", "3"])
    }

    @Test func runWithoutTheRightsToUpgradeStopsAndSaysSo() throws {
        let fixture = try OutboxFixture("ob_upgraderights")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try Self.installVersion1(fixture.db, tables: ["t"])
        let role = "shipper_\(UInt32.random(in: 0...UInt32.max))"
        try fixture.db.execute("CREATE ROLE \(role) LOGIN")
        defer { _ = try? fixture.db.execute("DROP OWNED BY \(role)"); _ = try? fixture.db.execute("DROP ROLE \(role)") }
        try fixture.db.execute("GRANT USAGE ON SCHEMA pgk TO \(role)")
        try fixture.db.execute("GRANT SELECT, DELETE ON ALL TABLES IN SCHEMA pgk TO \(role)")
        let url = fixture.url.replacingOccurrences(of: "postgres@", with: "\(role)@")
        try #require(url != fixture.url, "the test URL names its user: \(fixture.url)")

        let run = try fixture.pgk(["-d", url, "cdc", "outbox", "run", "--exit-when-empty"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("upgrading pgk's outbox schema from version 1 to 2 failed"), "\(run.stderr)")
        #expect(run.stderr.contains("as the owner of the set-up tables"), "\(run.stderr)")
        #expect(try OutboxSchema.installedVersion(on: fixture.db) == 1, "nothing half-done")
        #expect(try OutboxRegistry.registrations(on: fixture.db).map(\.capture) == [.row])
    }
}
