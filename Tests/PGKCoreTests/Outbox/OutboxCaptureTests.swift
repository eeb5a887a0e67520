import Foundation
import Testing
@testable import PGKCore

/// What the triggers and the snapshot put in the queue (pg2kafka's
/// behavioural cases and pgk's additions), read straight from the queue.
@Suite struct OutboxCaptureTests {
    struct Queued: Equatable {
        var statement: String
        var externalID: String?
        var data: Value
        var previous: Value?
        var schema: String
        var table: String
    }

    static func queued(_ db: PostgresConnection) throws -> [Queued] {
        try db.query("""
            SELECT statement, external_id, data::text, previous::text, schema_name, table_name
              FROM pgk.outbox_events ORDER BY id
            """).rows.map { row in
            Queued(statement: row[0] ?? "", externalID: row[1], data: try JSON.decode(row[2] ?? "null"),
                   previous: try row[3].map { try JSON.decode($0) }, schema: row[4] ?? "", table: row[5] ?? "")
        }
    }

    static func database(_ label: String) throws -> PostgresConnection {
        try PostgresConnection(conninfo: try TestPostgres.freshDatabase(label))
    }

    static func setup(_ db: PostgresConnection, _ table: String, _ column: String, snapshot: Bool = true) throws -> OutboxSetupOutcome {
        try OutboxRegistry.setup(table: try QualifiedName.parse(table), idColumn: column, snapshot: snapshot,
                                 on: db, stop: StopToken())
    }

    static func triggerCount(_ db: PostgresConnection, _ table: String) throws -> Int {
        Int(try db.query("""
            SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal
            """, [table]).scalar ?? "-1") ?? -1
    }

    static func triggers(_ db: PostgresConnection, _ table: String) throws -> [String] {
        try db.query("""
            SELECT tgname || CASE WHEN (tgtype & 1) = 1 THEN ' row' ELSE ' statement' END AS t
              FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal ORDER BY tgname
            """, [table]).column("t").compactMap { $0 }
    }

    @Test func setupAttachesTheCaptureTriggersOnceAndIsIdempotent() throws {
        let db = try Self.database("ob_setup")
        try db.execute("CREATE TABLE products (id bigserial PRIMARY KEY, sku text, name text)")
        try db.execute("INSERT INTO products (sku, name) VALUES ('CM01-R', 'Red Coffee Mug')")
        #expect(try Self.setup(db, "products", "sku") == .registered(snapshotRows: 1))
        let expected = ["pgk_outbox_capture row", "pgk_outbox_capture_insert statement",
                        "pgk_outbox_partition_guard row", "pgk_outbox_truncate statement"]
        #expect(try Self.triggers(db, "products") == expected)
        #expect(try db.query("""
            SELECT pg_get_triggerdef(oid) FROM pg_trigger
             WHERE tgrelid = 'products'::regclass AND tgname = 'pgk_outbox_capture_insert'
            """).scalar?.contains("REFERENCING NEW TABLE AS pgk_inserted FOR EACH STATEMENT") == true)
        #expect(try OutboxRegistry.registrations(on: db).map(\.capture) == [.statement])

        #expect(try Self.setup(db, "products", "sku") == .alreadySetUp)
        #expect(try Self.triggers(db, "products") == expected)
        #expect(try Self.queued(db).count == 1, "a second setup must not snapshot again")
        #expect(try OutboxSchema.migrate(on: db).isEmpty, "migrations run once")
        #expect(try OutboxSchema.installedVersion(on: db) == OutboxSchema.latestVersion)

        #expect(throws: RuntimeError.self) { try Self.setup(db, "products", "name") }
    }

    @Test func insertCapturesTheFullRowIncludingNulls() throws {
        let db = try Self.database("ob_insert")
        try db.execute("CREATE TABLE users (uuid text, name text, email text, age int)")
        _ = try Self.setup(db, "users", "uuid")
        try db.execute("INSERT INTO users VALUES ('u-1', 'bart', NULL, 42)")
        let events = try Self.queued(db)
        try #require(events.count == 1)
        #expect(events[0].statement == "INSERT")
        #expect(events[0].externalID == "u-1")
        #expect(events[0].data == .object(ValueObject([("uuid", "u-1"), ("name", "bart"), ("email", .null), ("age", 42)])))
        #expect(events[0].previous == nil)
        #expect(events[0].schema == "public" && events[0].table == "users")
    }

    @Test func updateToNullCarriesOnlyTheChangedColumn() throws {
        let db = try Self.database("ob_update")
        try db.execute("CREATE TABLE users (uuid text PRIMARY KEY, name text, email text)")
        try db.execute("INSERT INTO users VALUES ('u-1', 'bart', 'bart@example.com')")
        _ = try Self.setup(db, "users", "uuid", snapshot: false)
        try db.execute("UPDATE users SET email = NULL WHERE uuid = 'u-1'")
        try db.execute("UPDATE users SET name = name WHERE uuid = 'u-1'")
        let events = try Self.queued(db)
        try #require(events.count == 1, "the no-op UPDATE emits nothing: \(events)")
        #expect(events[0].statement == "UPDATE")
        #expect(events[0].data == .object(ValueObject([("email", .null)])))
        #expect(events[0].previous == .object(ValueObject([("email", "bart@example.com")])))
    }

    @Test func changingTheExternalIDDeletesTheOldKeyAndInsertsTheNewOne() throws {
        let db = try Self.database("ob_rekey")
        try db.execute("CREATE TABLE products (id int PRIMARY KEY, sku text, name text)")
        try db.execute("INSERT INTO products VALUES (1, 'CM01-R', 'mug')")
        _ = try Self.setup(db, "products", "sku", snapshot: false)
        try db.execute("UPDATE products SET sku = 'CM02-R' WHERE id = 1")
        let events = try Self.queued(db)
        try #require(events.count == 2, "\(events)")
        #expect(events[0].statement == "DELETE" && events[0].externalID == "CM01-R")
        #expect(events[0].previous == .object(ValueObject([("id", 1), ("sku", "CM01-R"), ("name", "mug")])))
        #expect(events[1].statement == "INSERT" && events[1].externalID == "CM02-R")
        #expect(events[1].data == .object(ValueObject([("id", 1), ("sku", "CM02-R"), ("name", "mug")])))
    }

    @Test func hstoreAndJsonbUpdatesDiffAsWholeValues() throws {
        let db = try Self.database("ob_hstore")
        try db.execute("CREATE EXTENSION IF NOT EXISTS hstore")
        try db.execute("CREATE TABLE docs (id int PRIMARY KEY, tags hstore, body jsonb, note text)")
        try db.execute("INSERT INTO docs VALUES (1, 'a=>1, b=>2', '{\"x\": [1, 2], \"y\": {\"z\": true}}', 'n')")
        _ = try Self.setup(db, "docs", "id", snapshot: false)
        // Same values written differently: nothing changed.
        try db.execute("UPDATE docs SET tags = 'b=>2, a=>1', body = '{\"y\": {\"z\": true}, \"x\": [1,2]}'")
        // One key inside each changes: the whole new value is the change.
        try db.execute("UPDATE docs SET tags = 'a=>1, b=>3', body = '{\"x\": [1, 2], \"y\": {\"z\": false}}'")
        let events = try Self.queued(db)
        try #require(events.count == 1, "\(events)")
        #expect(events[0].data == .object(ValueObject([
            ("tags", .object(ValueObject([("a", "1"), ("b", "3")]))),
            ("body", .object(ValueObject([("x", [1, 2]), ("y", .object(ValueObject([("z", false)])))]))),
        ])))
        #expect(events[0].previous == .object(ValueObject([
            ("tags", .object(ValueObject([("a", "1"), ("b", "2")]))),
            ("body", .object(ValueObject([("x", [1, 2]), ("y", .object(ValueObject([("z", true)])))]))),
        ])))
    }

    @Test func deleteCarriesThePreviousRowAndTruncateIsCaptured() throws {
        let db = try Self.database("ob_delete")
        try db.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
        try db.execute("INSERT INTO items VALUES (1, 'one'), (2, 'two')")
        _ = try Self.setup(db, "items", "id", snapshot: false)
        try db.execute("DELETE FROM items WHERE id = 1")
        try db.execute("TRUNCATE items")
        let events = try Self.queued(db)
        try #require(events.count == 2)
        #expect(events[0].statement == "DELETE")
        #expect(events[0].externalID == "1")
        #expect(events[0].data == .object(ValueObject()))
        #expect(events[0].previous == .object(ValueObject([("id", 1), ("name", "one")])))
        #expect(events[1] == Queued(statement: "TRUNCATE", externalID: nil, data: .object(ValueObject()),
                                    previous: nil, schema: "public", table: "items"))
    }

    @Test func mixedCaseSchemaQualifiedTablesWork() throws {
        let db = try Self.database("ob_case")
        try db.execute("CREATE SCHEMA \"My Shop\"")
        try db.execute("CREATE TABLE \"My Shop\".\"LineItems\" (\"ID\" int PRIMARY KEY, \"Sku\" text, \"Qty\" int)")
        try db.execute("CREATE TABLE \"My Shop\".lineitems (id int)")
        try db.execute("INSERT INTO \"My Shop\".\"LineItems\" VALUES (1, 'A', 1)")
        #expect(try Self.setup(db, "\"My Shop\".\"LineItems\"", "Sku") == .registered(snapshotRows: 1))
        try db.execute("UPDATE \"My Shop\".\"LineItems\" SET \"Qty\" = 2")
        try db.execute("INSERT INTO \"My Shop\".lineitems VALUES (1)")
        let events = try Self.queued(db)
        #expect(events.map(\.statement) == ["SNAPSHOT", "UPDATE"], "the lower-case twin is not captured")
        #expect(events.allSatisfy { $0.schema == "My Shop" && $0.table == "LineItems" })
        #expect(events.map(\.externalID) == ["A", "A"])
        #expect(events.last?.data == .object(ValueObject([("Qty", 2)])))
        let registrations = try OutboxRegistry.registrations(on: db)
        #expect(registrations.map(\.table.description) == ["\"My Shop\".LineItems"])
        // Case matters: the folded spelling names the other table, which has no column Sku.
        #expect(throws: RuntimeError.self) { try Self.setup(db, "\"My Shop\".lineitems", "Sku") }
    }

    @Test func externalIDIsTheSameTextInSnapshotAndTriggerEvents() throws {
        let db = try Self.database("ob_extid")
        try db.execute("CREATE TABLE readings (taken timestamptz PRIMARY KEY, value numeric)")
        try db.execute("SET TimeZone = 'Asia/Kolkata'")
        try db.execute("INSERT INTO readings VALUES ('2024-03-01 10:00:00.5+00', 1.50)")
        _ = try Self.setup(db, "readings", "taken")
        try db.execute("UPDATE readings SET value = 2")
        let events = try Self.queued(db)
        try #require(events.count == 2)
        #expect(events[0].statement == "SNAPSHOT" && events[1].statement == "UPDATE")
        #expect(events[0].externalID == events[1].externalID, "\(events.map(\.externalID))")
        #expect(events[0].data.stringValue == nil && events[0].data != .null)
    }

    @Test func createdAtIsTheRealInstantInUTCWhateverTheTimeZone() throws {
        let url = try TestPostgres.freshDatabase("ob_time")
        let db = try PostgresConnection(conninfo: url)
        try db.execute("ALTER DATABASE \(try db.quoteIdentifier(db.databaseName)) SET TimeZone = 'America/New_York'")
        let session = try PostgresConnection(conninfo: url)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        _ = try Self.setup(db, "t", "id")
        #expect(try session.query("SHOW TimeZone").scalar == "America/New_York")
        try session.execute("INSERT INTO t VALUES (1)")
        let row = try session.query("""
            SELECT id, txid, (extract(epoch FROM created_at) * 1000000)::int8, schema_name, table_name,
                   statement, external_id, data, previous,
                   to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
              FROM pgk.outbox_events
            """).rows[0]
        let event = OutboxEvent(row: row, uuids: try OutboxEventUUID.load(on: db))
        #expect(event.createdAtText == row[9])
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(event.createdAtMilliseconds - now) < 60_000, "created_at is now, not hours off")
    }

    @Test func eventUUIDsAreVersion8AndTheSameInSwiftAndSQL() throws {
        let db = try Self.database("ob_uuid")
        try db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        _ = try Self.setup(db, "t", "id")
        let uuids = try OutboxEventUUID.load(on: db)
        for id: Int64 in [1, 2, 255, 256, 1 << 40, Int64.max >> 2] {
            let sql = try db.query("SELECT pgk.outbox_event_uuid($1)::text", [String(id)]).scalar
            #expect(uuids.uuid(for: id) == sql)
            let text = uuids.uuid(for: id)
            #expect(Array(text)[14] == "8", "version 8: \(text)")
            #expect("89ab".contains(Array(text)[19]), "RFC variant: \(text)")
        }
        #expect(uuids.uuid(for: 1) != uuids.uuid(for: 2))
        // A reinstall draws a new prefix, so reused ids never reuse uuids.
        let before = uuids.uuid(for: 1)
        _ = try OutboxRegistry.uninstall(force: true, on: db)
        _ = try Self.setup(db, "t", "id")
        #expect(try OutboxEventUUID.load(on: db).uuid(for: 1) != before)
    }

    @Test func setupRejectsMissingTablesAndColumnsAndChangesNothing() throws {
        let db = try Self.database("ob_reject")
        try db.execute("CREATE TABLE products (id int, sku text)")
        do {
            _ = try Self.setup(db, "produts", "sku")
            Issue.record("setup of a missing table succeeded")
        } catch {
            #expect("\(error)".contains("table produts does not exist"), "\(error)")
        }
        do {
            _ = try Self.setup(db, "products", "SKU")
            Issue.record("setup with a missing column succeeded")
        } catch {
            #expect("\(error)".contains("has no column \"SKU\""), "\(error)")
            #expect("\(error)".contains("did you mean \"sku\"?"), "\(error)")
        }
        #expect(try OutboxSchema.installedVersion(on: db) == nil, "nothing installed by a failed setup")
        #expect(try Self.triggerCount(db, "products") == 0)
        try db.execute("INSERT INTO products VALUES (1, 'a')")
    }

    @Test func aDroppedIDColumnGivesNullKeysInsteadOfFailingWrites() throws {
        let db = try Self.database("ob_dropcol")
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, code text, v text)")
        _ = try Self.setup(db, "t", "code", snapshot: false)
        try db.execute("ALTER TABLE t DROP COLUMN code")
        try db.execute("INSERT INTO t VALUES (1, 'a')")
        try db.execute("UPDATE t SET v = 'b'")
        let events = try Self.queued(db)
        #expect(events.map(\.statement) == ["INSERT", "UPDATE"])
        #expect(events.map(\.externalID) == [nil, nil])
    }

    @Test func applicationRolesNeedNoPrivilegesOnSchemaPgk() throws {
        let db = try Self.database("ob_definer")
        let role = "app_\(UInt32.random(in: 0...UInt32.max))"
        try db.execute("CREATE TABLE orders (id int PRIMARY KEY, total numeric)")
        _ = try Self.setup(db, "orders", "id")
        try db.execute("CREATE ROLE \(role)")
        defer { _ = try? db.execute("DROP OWNED BY \(role)"); _ = try? db.execute("DROP ROLE \(role)") }
        try db.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO \(role)")
        try db.transaction {
            try db.execute("SET LOCAL ROLE \(role)")
            #expect(try db.query("SELECT has_schema_privilege('pgk', 'USAGE')").scalar == "f")
            // A search_path the application controls cannot redirect pgk's inserts.
            try db.execute("SET LOCAL search_path = public")
            try db.execute("INSERT INTO orders VALUES (7, 9.99)")
            try db.execute("UPDATE orders SET total = 10 WHERE id = 7")
            try db.execute("DELETE FROM orders WHERE id = 7")
        }
        #expect(try Self.queued(db).map(\.statement) == ["INSERT", "UPDATE", "DELETE"])
        for function in ["pgk.outbox_capture", "pgk.outbox_capture_inserts", "pgk.outbox_capture_truncate"] {
            #expect(try db.query("SELECT prosecdef AND proconfig @> '{\"search_path=pg_catalog, pg_temp\"}' FROM pg_proc WHERE oid = $1::regproc",
                                 [function]).scalar == "t", "\(function) runs as its owner with a fixed search_path")
        }
    }

    @Test func snapshotResumesAfterAnInterruption() throws {
        let db = try Self.database("ob_resume")
        try db.execute("CREATE TABLE t (a int, b text, v text, PRIMARY KEY (a, b))")
        try db.execute("INSERT INTO t SELECT i % 4, 'k' || i, 'v' FROM generate_series(1, 25) i")
        let stopped = StopToken()
        stopped.stop()
        #expect(throws: RuntimeError.self) {
            try OutboxRegistry.setup(table: QualifiedName(name: "t"), idColumn: "b", snapshot: true,
                                     chunkSize: 4, on: db, stop: stopped)
        }
        #expect(try OutboxRegistry.registrations(on: db).first?.snapshotState == .pending)
        // Resume with a composite key in chunks of 4: each row exactly once.
        let outcome = try OutboxRegistry.setup(table: QualifiedName(name: "t"), idColumn: "b", snapshot: true,
                                               chunkSize: 4, on: db, stop: StopToken())
        #expect(outcome == .resumedSnapshot(snapshotRows: 25))
        let ids = try Self.queued(db).map { $0.externalID ?? "" }
        #expect(ids.count == 25 && Set(ids).count == 25)
        #expect(try OutboxRegistry.registrations(on: db).first?.snapshotState == .done)
    }

    @Test func teardownKeepsQueuedEventsAndUninstallRefusesUnlessForced() throws {
        let db = try Self.database("ob_teardown")
        try db.execute("CREATE TABLE a (id int PRIMARY KEY)")
        try db.execute("CREATE TABLE b (id int PRIMARY KEY)")
        _ = try Self.setup(db, "a", "id")
        _ = try Self.setup(db, "b", "id")
        try db.execute("INSERT INTO a VALUES (1)")
        #expect(try OutboxRegistry.teardown(table: QualifiedName(name: "a"), on: db))
        #expect(try !OutboxRegistry.teardown(table: QualifiedName(name: "a"), on: db))
        #expect(try Self.triggerCount(db, "a") == 0)
        try db.execute("INSERT INTO a VALUES (2)")
        #expect(try Self.queued(db).count == 1, "teardown stops capture but keeps what was queued")

        #expect(throws: RuntimeError.self) { try OutboxRegistry.uninstall(force: false, on: db) }
        #expect(try OutboxRegistry.teardown(table: QualifiedName(name: "b"), on: db))
        #expect(throws: RuntimeError.self, "one event is still queued") {
            try OutboxRegistry.uninstall(force: false, on: db)
        }
        _ = try Self.setup(db, "b", "id", snapshot: false)
        let outcome = try OutboxRegistry.uninstall(force: true, on: db)
        #expect(outcome == .init(wasInstalled: true, droppedRegistrations: 1, droppedEvents: 1))
        #expect(try db.query("SELECT to_regnamespace('pgk') IS NULL").scalar == "t")
        #expect(try Self.triggerCount(db, "b") == 0)
        try db.execute("INSERT INTO b VALUES (3)") // application writes still work
    }
}
