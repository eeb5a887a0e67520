import Foundation
import Synchronization
import Testing
@testable import PGKCore

/// Commit order: late commits are never skipped, a row's events arrive in
/// the order its writes committed, and a snapshot taken while the table is
/// being written leaves a consumer with exactly the table.
@Suite struct OutboxOrderingTests {
    @Test func aLowerIDCommittingLastIsShippedNotSkipped() throws {
        let fixture = try OutboxFixture("ob_late")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)
        let shipper = try fixture.spawn(["cdc", "outbox", "run"], name: "shipper")

        let early = try PostgresConnection(conninfo: fixture.url)
        try early.begin()
        try early.execute("INSERT INTO t VALUES (1, 'early')") // draws the lower event id
        try fixture.db.execute("INSERT INTO t VALUES (2, 'late')") // higher id, commits first
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount(fixture.topic("t")) >= 1 },
                "the committed event ships while the lower id is still open; log: \(fixture.log(of: "shipper"))")
        try early.commit()
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount(fixture.topic("t")) >= 2 },
                "the lower id ships once it commits; log: \(fixture.log(of: "shipper"))")

        let events = try fixture.consume(fixture.topic("t"), atLeast: 2).map(ShippedEvent.init)
        #expect(events.map(\.key) == ["2", "1"])
        #expect(try fixture.queueDepth() == 0)

        shipper.send(signal: SIGTERM)
        #expect(shipper.wait(timeoutMilliseconds: 15_000) == .exited(0), "SIGTERM exits 0: \(fixture.log(of: "shipper"))")
    }

    /// A transaction that got its xid early but writes the row last: by
    /// transaction id it would come first, yet it committed last.
    @Test func aRowsEventsFollowCommitOrderNotTransactionIDOrder() throws {
        let fixture = try OutboxFixture("ob_xidorder")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try fixture.db.execute("INSERT INTO t VALUES (1, 'initial')")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id", "--no-snapshot"])
        let older = try PostgresConnection(conninfo: fixture.url)
        try older.begin()
        let olderXID = try older.query("SELECT pg_current_xact_id()::text").scalar
        try fixture.db.execute("UPDATE t SET v = 'second-to-commit-first' WHERE id = 1")
        try older.execute("UPDATE t SET v = 'written-last' WHERE id = 1")
        try older.commit()
        let txids = try fixture.db.query("SELECT txid::text FROM pgk.outbox_events ORDER BY id").column("txid")
        try #require(txids.count == 2)
        #expect(txids[1] == olderXID)
        #expect(Int64(txids[1]!)! < Int64(txids[0]!)!, "the last write has the older transaction id")

        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty"])
        let events = try fixture.consume(fixture.topic("t"), atLeast: 2).map(ShippedEvent.init)
        #expect(events.map { $0.data["v"]?.stringValue } == ["second-to-commit-first", "written-last"])
        let model = try ReplicaModel.build(from: events.map(\.message))
        #expect(model.rows["1"]?["v"] == "written-last")
    }

    @Test func aSnapshotDuringConcurrentWritesLeavesTheConsumerEqualToTheTable() throws {
        let fixture = try OutboxFixture("ob_snapconc")
        let rows = 20_000
        try fixture.db.execute("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, note text)")
        try fixture.db.execute("INSERT INTO items SELECT i, 0, NULL FROM generate_series(1, \(rows)) i")

        let stop = Atomic<Bool>(false)
        let writes = Atomic<Int>(0)
        let slowest = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let url = fixture.url
        let writers = (0..<2).map { worker in
            TestThread.start {
                do {
                    let db = try PostgresConnection(conninfo: url)
                    var next = rows + 1 + worker * 1_000_000
                    while !stop.load(ordering: .relaxed) {
                        let started = SystemClock.shared.nowMilliseconds
                        let id = Int.random(in: 1...rows)
                        switch Int.random(in: 0..<10) {
                        case 0..<7:
                            try db.execute("UPDATE items SET qty = qty + 1, note = $2 WHERE id = $1",
                                           [String(id), "w\(worker)"])
                        case 7:
                            try db.execute("INSERT INTO items VALUES ($1, 1, 'new')", [String(next)])
                            next += 1
                        case 8:
                            // A new key below every other: the row leaves the
                            // snapshot's range, and the key-change events must
                            // still give the consumer the whole row.
                            try db.execute("UPDATE items SET id = $2 WHERE id = $1", [String(id), String(-next)])
                            next += 1
                        default:
                            try db.execute("DELETE FROM items WHERE id = $1", [String(id)])
                        }
                        let took = Int(SystemClock.shared.nowMilliseconds - started)
                        _ = slowest.max(took, ordering: .relaxed)
                        writes.add(1, ordering: .relaxed)
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        // Joined exactly once, on every path (a second pthread_join is undefined).
        var joined = false
        func stopWriters() {
            guard !joined else { return }
            joined = true
            stop.store(true, ordering: .relaxed)
            writers.forEach { $0.join() }
        }
        defer { stopWriters() }
        usleep(200_000)
        let before = writes.load(ordering: .relaxed)
        let setup = try fixture.pgkOK(["cdc", "outbox", "setup", "items", "id", "--snapshot-chunk-size", "500"])
        let during = writes.load(ordering: .relaxed) - before
        usleep(300_000)
        stopWriters()
        #expect(failures.withLock { $0 }.isEmpty, "writers failed: \(failures.withLock { $0 })")
        #expect(during > 100, "writes continued during the snapshot (\(during) committed); \(setup.stderr)")
        #expect(slowest.load(ordering: .relaxed) < 2_000, "no write waited long for the snapshot")

        let queued = try fixture.queueDepth()
        try #require(queued > rows, "snapshot plus the concurrent writes: \(queued)")
        try fixture.kafka.createTopic(fixture.topic("items"), partitions: 4)
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--batch-size", "5000"], timeoutSeconds: 300)
        let messages = try fixture.consume(fixture.topic("items"), atLeast: queued, timeoutMilliseconds: 120_000)
        #expect(messages.count == queued)
        let model = try ReplicaModel.build(from: messages)
        let table = try ReplicaModel.table("items", keyColumn: "id", on: fixture.db)
        #expect(model.rows.count == table.count)
        let wrong = table.filter { model.rows[$0.key] != $0.value }.prefix(5)
        #expect(wrong.isEmpty, "rows differ, e.g. \(wrong.map { "\($0.key): table \($0.value) consumer \(String(describing: model.rows[$0.key]))" })")
    }
}
