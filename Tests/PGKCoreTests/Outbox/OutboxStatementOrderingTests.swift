import Foundation
import Synchronization
import Testing
@testable import PGKCore

/// Commit order with INSERTs captured per statement: a statement's id
/// draws happen after every lock it waited for, and one statement that
/// moves keys around (writable CTEs) still leaves a consumer equal to the
/// table.
@Suite struct OutboxStatementOrderingTests {
    /// `body` on its own thread with `connection`, so the test can watch
    /// that backend block on a lock.
    final class Writer: Sendable {
        let pid: Int32
        private let thread: TestThread
        private let failure: Failure

        final class Failure: Sendable {
            let message = Mutex<String?>(nil)
        }

        init(_ connection: PostgresConnection, _ body: @escaping @Sendable (PostgresConnection) throws -> Void) {
            pid = connection.backendPID
            let failure = Failure()
            self.failure = failure
            thread = TestThread.start {
                do { try body(connection) } catch { failure.message.withLock { $0 = "\(error)" } }
            }
        }

        /// Joins the thread; the error the body threw, if any.
        func finish() -> String? {
            thread.join()
            return failure.message.withLock { $0 }
        }
    }

    static func waitsForALock(_ pid: Int32, _ db: PostgresConnection) throws -> Bool {
        try OutboxFixture.waitUntil(timeoutMilliseconds: 10_000) {
            try db.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [String(pid)]).scalar == "Lock"
        }
    }

    /// The writer took its transaction id first, so ordering by xid would
    /// put its INSERT of key 5 before the DELETE it had to wait for.
    @Test func aBulkInsertThatWaitedForAKeyDrawsItsIDsAfterTheDeleteItWaitedFor() throws {
        let url = try TestPostgres.freshDatabase("ob_stmtwait")
        let db = try PostgresConnection(conninfo: url)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try db.execute("INSERT INTO t SELECT i, 'old' FROM generate_series(1, 10) i")
        _ = try OutboxCaptureTests.setup(db, "t", "id", snapshot: false)

        let inserter = try PostgresConnection(conninfo: url)
        try inserter.begin()
        _ = try inserter.query("SELECT pg_current_xact_id()") // the older transaction id
        let deleter = try PostgresConnection(conninfo: url)
        try deleter.begin()
        try deleter.execute("DELETE FROM t WHERE id = 5")
        let insert = Writer(inserter) { connection in
            try connection.execute("INSERT INTO t SELECT i, 'new' FROM generate_series(100, 1099) i "
                + "UNION ALL SELECT 5, 'new'")
        }
        #expect(try Self.waitsForALock(insert.pid, db), "the bulk insert waits for the deleted key")
        try deleter.commit()
        let failure = insert.finish()
        try #require(failure == nil, "\(failure ?? "")")
        try inserter.commit()

        let rows = try db.query("""
            SELECT id, statement, txid::text FROM pgk.outbox_events WHERE external_id = '5' ORDER BY id
            """).rows
        #expect(rows.map { $0[1] } == ["DELETE", "INSERT"], "\(rows.map(\.values))")
        if rows.count == 2 {
            #expect(Int64(rows[1][2]!)! < Int64(rows[0][2]!)!, "the INSERT's transaction is the older one")
        }
        #expect(try db.query("SELECT count(*) FROM pgk.outbox_events WHERE statement = 'INSERT'").scalar == "1001")
    }

    @Test func aLaterWriterOfABulkInsertedRowGetsAHigherID() throws {
        let url = try TestPostgres.freshDatabase("ob_stmtlater")
        let db = try PostgresConnection(conninfo: url)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        _ = try OutboxCaptureTests.setup(db, "t", "id", snapshot: false)
        let bulk = try PostgresConnection(conninfo: url)
        try bulk.begin()
        try bulk.execute("INSERT INTO t SELECT i, 'bulk' FROM generate_series(1, 5000) i")

        let upsert = Writer(try PostgresConnection(conninfo: url)) { connection in
            try connection.execute("INSERT INTO t VALUES (2500, 'upsert') ON CONFLICT (id) DO UPDATE SET v = excluded.v")
        }
        #expect(try Self.waitsForALock(upsert.pid, db), "the upsert waits for the bulk insert's key")
        try bulk.commit()
        let failure = upsert.finish()
        try #require(failure == nil, "\(failure ?? "")")

        let last = try db.query("SELECT statement, external_id, data::text FROM pgk.outbox_events ORDER BY id DESC LIMIT 1").rows
        #expect(last.first?[0] == "UPDATE" && last.first?[1] == "2500", "\(last.map(\.values))")
        #expect(try db.query("SELECT count(*) FROM pgk.outbox_events WHERE statement = 'INSERT'").scalar == "5000")
    }

    /// Keys leaving and arriving within one statement: a DELETE per
    /// statement would be queued after the UPDATE that takes over its key
    /// (the first case), which is why DELETE stays per row.
    @Test func writableCTEsThatMoveKeysLeaveTheConsumerEqualToTheTable() throws {
        let fixture = try OutboxFixture("ob_wcte")
        let db = fixture.db
        try db.execute("CREATE TABLE sw (id int PRIMARY KEY, sku text UNIQUE NOT NULL, v text)")
        try db.execute("INSERT INTO sw VALUES (1, 'k1', 'a'), (2, 'k2', 'b'), (3, 'k3', 'c'), (4, 'k4', 'd')")
        try fixture.pgkOK(["cdc", "outbox", "setup", "sw", "sku"])
        // Row 1 goes, row 2 takes its key.
        try db.execute("""
            WITH d AS (DELETE FROM sw WHERE id = 1 RETURNING sku)
            UPDATE sw SET sku = d.sku, v = 'took k1' FROM d WHERE sw.id = 2
            """)
        // Row 3 moves off k3 (per row), a new row takes k3 (per statement).
        try db.execute("""
            WITH u AS (UPDATE sw SET sku = 'k3-old' WHERE sku = 'k3' RETURNING id)
            INSERT INTO sw SELECT 30, 'k3', 'new k3' FROM u
            """)
        // Delete and re-insert the same key in one statement.
        try db.execute("""
            WITH d AS (DELETE FROM sw WHERE id = 4 RETURNING sku)
            INSERT INTO sw SELECT 40, sku, 'reinserted' FROM d
            """)
        let table = try ReplicaModel.table("sw", keyColumn: "sku", on: db)
        #expect(table.keys.sorted() == ["k1", "k3", "k3-old", "k4"])

        let queued = try fixture.queueDepth()
        try fixture.kafka.createTopic(fixture.topic("sw"), partitions: 2)
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty"])
        let messages = try fixture.consume(fixture.topic("sw"), atLeast: queued)
        #expect(messages.count == queued)
        let model = try ReplicaModel.build(from: messages)
        #expect(model.rows == table, "consumer \(model.rows) table \(table)")
    }
}
