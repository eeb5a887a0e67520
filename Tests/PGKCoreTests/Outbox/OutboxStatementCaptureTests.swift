import Foundation
import Testing
@testable import PGKCore

/// INSERTs captured once per statement (schema version 2): bulk writes and
/// COPY, the same event text as before, and where pgk falls back to the
/// row trigger (partitioned tables, partitions, inheritance children).
@Suite struct OutboxStatementCaptureTests {
    typealias Capture = OutboxCaptureTests

    static func externalIDs(_ db: PostgresConnection) throws -> [String?] {
        try db.query("SELECT external_id FROM pgk.outbox_events ORDER BY id").column("external_id")
    }

    static func capture(of table: String, _ db: PostgresConnection) throws -> OutboxRegistration.Capture? {
        try OutboxRegistry.registrations(on: db).first { $0.table.name == table }?.capture
    }

    @Test func aBulkInsertAndACopyEnqueueOneEventPerRowInRowOrderWithOneNotify() throws {
        let url = try TestPostgres.freshDatabase("ob_bulk")
        let db = try PostgresConnection(conninfo: url)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        _ = try Capture.setup(db, "t", "id", snapshot: false)
        #expect(try Self.capture(of: "t", db) == .statement)
        let listener = try PostgresConnection(conninfo: url)
        try listener.listen(OutboxSchema.notifyChannel)

        try db.execute("INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 10000) i")
        let events = try Capture.queued(db)
        #expect(events.count == 10_000)
        #expect(events.allSatisfy { $0.statement == "INSERT" && $0.previous == nil && $0.table == "t" })
        #expect(events.map(\.externalID) == (1...10_000).map { String($0) }, "ids follow the statement's row order")
        #expect(events[41].data == .object(ValueObject([("id", 42), ("v", "v42")])))
        var notes = try listener.waitForNotifications(timeoutMilliseconds: 5_000, stop: StopToken())
        notes += try listener.waitForNotifications(timeoutMilliseconds: 300, stop: StopToken())
        #expect(notes.count == 1, "one NOTIFY for the statement: \(notes)")

        // A statement that inserts nothing enqueues and notifies nothing.
        try db.execute("INSERT INTO t SELECT i, 'none' FROM generate_series(1, 0) i")
        #expect(try db.query("SELECT count(*) FROM pgk.outbox_events").scalar == "10000")
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 300, stop: StopToken()).isEmpty)

        // COPY fires the statement trigger too.
        let copy = try db.copyIn(into: QualifiedName(name: "t"), columns: ["id", "v"])
        for id in 20_001...20_500 { try copy.appendRow([String(id), "copied \(id)"]) }
        #expect(try copy.finish() == 500)
        let copied = try Capture.queued(db).suffix(500)
        #expect(copied.map(\.externalID) == (20_001...20_500).map { String($0) })
        #expect(copied.first?.data == .object(ValueObject([("id", 20_001), ("v", "copied 20001")])))
        #expect(try listener.waitForNotifications(timeoutMilliseconds: 5_000, stop: StopToken()).count == 1)
    }

    /// The statement trigger's `data` and external id must be the very text
    /// the row trigger and the snapshot produce, for every kind of column,
    /// whatever the session's TimeZone, and with columns named like the
    /// aliases pgk's SQL uses.
    @Test func statementCapturedEventsAreTheSameTextAsSnapshotAndRowEvents() throws {
        let db = try Capture.database("ob_sametext")
        try db.execute("SET TimeZone = 'Asia/Kolkata'")
        let columns = """
            (taken timestamptz PRIMARY KEY, n int, t text, r text, j jsonb, js json, a int[], b bool,
             num numeric, f float8, d date, "Mixed Case" text, bin bytea)
            """
        try db.execute("CREATE TABLE perstatement \(columns)")
        // Partitioned, so captured per row, for comparison.
        try db.execute("CREATE TABLE perrow \(columns) PARTITION BY RANGE (taken)")
        try db.execute("CREATE TABLE perrow_all PARTITION OF perrow DEFAULT")
        _ = try Capture.setup(db, "perstatement", "taken", snapshot: false)
        _ = try Capture.setup(db, "perrow", "taken", snapshot: false)
        #expect(try Self.capture(of: "perstatement", db) == .statement)
        #expect(try Self.capture(of: "perrow", db) == .row)
        let values = """
            ('2024-03-01 10:00:00.5+00', 1, 'tee', 'x"y\\z', '{"b": [1, 2.50], "a": null}', '{ "keep" :  "spaces" }',
             '{1,NULL,3}', true, 1.50, 'NaN', '2024-02-29', 'é ✓', '\\x00ff'),
            ('2024-03-01 10:00:01+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, NULL)
            """
        try db.execute("INSERT INTO perstatement VALUES \(values)")
        try db.execute("INSERT INTO perrow VALUES \(values)")
        let texts = try db.query("""
            SELECT table_name, external_id, data::text FROM pgk.outbox_events ORDER BY table_name, id
            """).rows
        try #require(texts.count == 4)
        let perRow = texts.filter { $0[0] == "perrow" }
        let perStatement = texts.filter { $0[0] == "perstatement" }
        #expect(perStatement.map { [$0[1], $0[2]] } == perRow.map { [$0[1], $0[2]] })
        #expect(perStatement.first?[1] == "2024-03-01T15:30:00.5+05:30", "the key as row_to_json renders it")

        // And the snapshot of the same rows (same session, same TimeZone).
        try db.execute("DELETE FROM pgk.outbox_events")
        #expect(try OutboxRegistry.teardown(table: QualifiedName(name: "perstatement"), on: db))
        _ = try Capture.setup(db, "perstatement", "taken")
        let snapshot = try db.query("SELECT external_id, data::text FROM pgk.outbox_events ORDER BY id").rows
        #expect(snapshot.map { [$0[0], $0[1]] } == perStatement.map { [$0[1], $0[2]] })
    }

    @Test func upsertsCaptureInsertedRowsPerStatementAndUpdatedRowsPerRow() throws {
        let db = try Capture.database("ob_upsert")
        try db.execute("CREATE TABLE stock (sku text PRIMARY KEY, qty int)")
        try db.execute("INSERT INTO stock VALUES ('A', 1)")
        _ = try Capture.setup(db, "stock", "sku", snapshot: false)
        try db.execute("""
            INSERT INTO stock VALUES ('A', 5), ('B', 2), ('C', 3)
            ON CONFLICT (sku) DO UPDATE SET qty = excluded.qty
            """)
        try db.execute("INSERT INTO stock VALUES ('C', 9), ('D', 4) ON CONFLICT DO NOTHING")
        let events = try Capture.queued(db)
        #expect(events.map(\.statement) == ["UPDATE", "INSERT", "INSERT", "INSERT"], "\(events)")
        #expect(events.map(\.externalID) == ["A", "B", "C", "D"])
        #expect(events[0].data == .object(ValueObject([("qty", 5)])))
        #expect(events[0].previous == .object(ValueObject([("qty", 1)])))
    }

    @Test func beforeTriggerChangesAreInTheInsertEventAndSetupWarnsAboutAfterTriggers() throws {
        let fixture = try OutboxFixture("ob_before")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, v text, stamped text)")
        try fixture.db.execute("""
            CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.stamped := 'by trigger'; RETURN NEW; END $$
            """)
        try fixture.db.execute("CREATE TRIGGER stamp BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION stamp()")
        try fixture.db.execute("""
            CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$
            """)
        try fixture.db.execute("CREATE TRIGGER audit AFTER INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION audit()")
        let setup = try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        #expect(setup.stderr.contains("AFTER INSERT trigger(s) audit;"), "\(setup.stderr)")
        #expect(!setup.stderr.contains("stamp"), "BEFORE triggers are no concern: \(setup.stderr)")
        try fixture.db.execute("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')")
        let events = try Capture.queued(fixture.db)
        #expect(events.map { $0.data["stamped"] } == ["by trigger", "by trigger"])
    }

    @Test func partitionedTablesAreCapturedPerRowThroughTheParentAndEveryPartition() throws {
        let db = try Capture.database("ob_parted")
        try db.execute("CREATE TABLE m (id int, v text, PRIMARY KEY (id)) PARTITION BY RANGE (id)")
        try db.execute("CREATE TABLE m_low PARTITION OF m FOR VALUES FROM (0) TO (1000)")
        try db.execute("INSERT INTO m VALUES (1, 'before setup')")
        #expect(try Capture.setup(db, "m", "id") == .registered(snapshotRows: 1))
        #expect(try Self.capture(of: "m", db) == .row)
        #expect(try Capture.triggers(db, "m") == ["pgk_outbox_capture row", "pgk_outbox_truncate statement"])
        try db.execute("CREATE TABLE m_high PARTITION OF m FOR VALUES FROM (1000) TO (3000)")

        try db.execute("INSERT INTO m SELECT i, 'bulk' FROM generate_series(2, 1999) i") // both partitions
        try db.execute("INSERT INTO m_low VALUES (0, 'straight into a partition')")
        try db.execute("INSERT INTO m_high VALUES (2000, 'into a partition made after setup')")
        try db.execute("UPDATE m_low SET v = 'updated' WHERE id = 1")
        try db.execute("DELETE FROM m WHERE id = 1500")
        let events = try Capture.queued(db)
        #expect(events.count == 1 + 1998 + 1 + 1 + 1 + 1)
        #expect(events.allSatisfy { $0.schema == "public" && $0.table == "m" })
        #expect(Dictionary(grouping: events, by: \.statement).mapValues(\.count)
                == ["SNAPSHOT": 1, "INSERT": 2000, "UPDATE": 1, "DELETE": 1])
        #expect(Set(events.filter { $0.statement == "INSERT" }.compactMap(\.externalID)).count == 2000)

        // A partition set up on its own is captured per row as well.
        try db.execute("CREATE TABLE n (id int, v text) PARTITION BY LIST (v)")
        try db.execute("CREATE TABLE n_a PARTITION OF n FOR VALUES IN ('a')")
        _ = try Capture.setup(db, "n_a", "id", snapshot: false)
        #expect(try Self.capture(of: "n_a", db) == .row)
        try db.execute("INSERT INTO n VALUES (7, 'a')")
        #expect(try Capture.queued(db).last?.table == "n_a", "a row routed through the parent is captured")

        // Teardown of the parent drops the partitions' clones too.
        #expect(try OutboxRegistry.teardown(table: QualifiedName(name: "m"), on: db))
        #expect(try db.query("""
            SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgk\\_%' AND tgrelid IN ('m'::regclass, 'm_low'::regclass, 'm_high'::regclass)
            """).scalar == "0")
    }

    @Test func aTableCapturedPerStatementCannotSilentlyBecomeAPartitionOrAnInheritanceChild() throws {
        let db = try Capture.database("ob_guard")
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try db.execute("CREATE TABLE parent (id int, v text) PARTITION BY RANGE (id)")
        try db.execute("CREATE TABLE base (id int, v text)")
        _ = try Capture.setup(db, "t", "id", snapshot: false)
        for statement in ["ALTER TABLE parent ATTACH PARTITION t FOR VALUES FROM (0) TO (100)",
                          "ALTER TABLE t INHERIT base"] {
            do {
                try db.execute(statement)
                Issue.record("\(statement) succeeded: inserts through the parent would bypass capture")
            } catch let error as PostgresError {
                #expect("\(error)".contains("pgk_outbox_partition_guard"), "\(error)")
            }
        }
        // After teardown it is the user's to do; set up the parent instead.
        #expect(try OutboxRegistry.teardown(table: QualifiedName(name: "t"), on: db))
        try db.execute("ALTER TABLE parent ATTACH PARTITION t FOR VALUES FROM (0) TO (100)")
    }

    /// Legacy inheritance: INSERT never reaches another table of the
    /// hierarchy, so a parent keeps per-statement capture; a child cannot
    /// have the guard and is captured per row.
    @Test func inheritanceParentsAreCapturedPerStatementAndChildrenPerRow() throws {
        let db = try Capture.database("ob_inherit")
        try db.execute("CREATE TABLE animal (id int PRIMARY KEY, name text)")
        try db.execute("CREATE TABLE dog (bark text) INHERITS (animal)")
        _ = try Capture.setup(db, "animal", "id", snapshot: false)
        _ = try Capture.setup(db, "dog", "id", snapshot: false)
        #expect(try Self.capture(of: "animal", db) == .statement)
        #expect(try Self.capture(of: "dog", db) == .row)
        try db.execute("CREATE TABLE cat () INHERITS (animal)") // a parent may still get children
        try db.execute("INSERT INTO animal VALUES (1, 'generic')")
        try db.execute("INSERT INTO dog VALUES (2, 'rex', 'woof')")
        try db.execute("INSERT INTO cat VALUES (3, 'tom')")
        let events = try Capture.queued(db)
        #expect(events.map { "\($0.table):\($0.externalID ?? "")" } == ["animal:1", "dog:2"])
    }
}
