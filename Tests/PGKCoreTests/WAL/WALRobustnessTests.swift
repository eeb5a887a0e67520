import Foundation
import Testing
@testable import PGKCore

/// Crashes, restarts, outages and the snapshot handover.
@Suite struct WALRobustnessTests {
    /// Inserts `count` rows into `table (id, v)` in transactions of `perTransaction`.
    static func insertRows(_ db: PostgresConnection, _ table: String, from first: Int = 1, count: Int, perTransaction: Int) throws {
        try db.executeScript("""
            DO $$ BEGIN FOR t IN 0..\(count / perTransaction - 1) LOOP
                INSERT INTO \(table) SELECT g, g FROM generate_series(\(first) + t * \(perTransaction), \(first - 1) + (t + 1) * \(perTransaction)) g;
                COMMIT; END LOOP; END $$
            """)
    }

    @Test func killNineMidStreamThenRestartLosesNothing() throws {
        let fx = try WALFixture("kill9")
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE t (id int PRIMARY KEY, v int)")
        try fx.kafka.createTopic(fx.topic("t"), partitions: 16)
        try fx.setup("t")
        try Self.insertRows(fx.db, "t", count: 60_000, perTransaction: 100)
        let first = try BackgroundProcess.pgk(fx.arguments("run", ["--snapshot", "never"]), environment: WALFixture.environment)
        let midway = try eventually(seconds: 60) { try WALKafka.count(fx.kafka, fx.topic("t")) >= 15_000 }
        first.signal(SIGKILL)
        _ = first.wait(seconds: 10)
        try #require(midway, "the first run never got going: \(first.stderr)")
        let produced = try WALKafka.count(fx.kafka, fx.topic("t"))
        let confirmed = try #require(try fx.slotConfirmed())

        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up"])
        let events = try fx.events(fx.topic("t"))
        let ids = events.compactMap { $0[path: "after", "id"]?.int64Value }
        #expect(Set(ids) == Set((1...60_000).map(Int64.init)), "every row arrived at least once")
        let duplicates = ids.count - Set(ids).count
        #expect(duplicates < 60_000, "replayed from the confirmed position, not from the start")
        // Rows are written one transaction after another, so a row sent twice
        // must come from a transaction after the confirmed position.
        var seen = Set<Int64>()
        var replayedBeforeConfirmed = 0
        for event in events {
            guard let id = event[path: "after", "id"]?.int64Value, let lsn = event[path: "source", "lsn"]?.int64Value else {
                continue
            }
            if !seen.insert(id).inserted && UInt64(lsn) < confirmed.value { replayedBeforeConfirmed += 1 }
        }
        #expect(replayedBeforeConfirmed == 0, "events at or before the confirmed LSN \(confirmed) were sent again")
        Log.info("kill -9 after \(produced) events (slot confirmed \(confirmed)): \(duplicates) duplicate(s) on restart")
    }

    @Test func snapshotHandoverUnderConcurrentWritesIsGapFree() throws {
        let fx = try WALFixture("handover")
        defer { fx.close() }
        let rows = 150_000
        try fx.db.executeScript("""
            CREATE TABLE items (id int PRIMARY KEY, v int);
            INSERT INTO items SELECT g, 0 FROM generate_series(1, \(rows)) g;
            """)
        try fx.kafka.createTopic(fx.topic("items"), partitions: 32)
        try fx.setup("items")
        let run = try BackgroundProcess.pgk(fx.arguments("run", ["--snapshot", "initial"]), environment: WALFixture.environment)

        // Write from the start: while the slot is created, while the snapshot
        // runs, and on after it completed.
        let writer = try PostgresConnection(conninfo: fx.url)
        var nextID = rows + 1
        var writesDuringSnapshot = 0
        var writesAfter = 0
        var snapshotDone = false
        var iteration = 0
        while writesAfter < 200 {
            iteration += 1
            let id = Int.random(in: 1..<nextID)
            switch iteration % 4 {
            case 0: try writer.execute("DELETE FROM items WHERE id = $1", [String(id)])
            case 1: try writer.execute("INSERT INTO items VALUES ($1, 1)", [String(nextID)]); nextID += 1
            default: try writer.execute("UPDATE items SET v = v + 1 WHERE id = $1", [String(id)])
            }
            if !snapshotDone, iteration % 20 == 0 {
                snapshotDone = try SnapshotStateStore(connection: fx.db).load(slot: fx.slot) != nil
            }
            if snapshotDone { writesAfter += 1 } else { writesDuringSnapshot += 1 }
            try #require(iteration < 200_000 && run.isRunning, "the run ended early: \(run.stderr)")
        }
        try #require(writesDuringSnapshot >= 50, "only \(writesDuringSnapshot) writes overlapped the snapshot")
        let end = try fx.currentLSN()
        try #require(try eventually(seconds: 60) { (try fx.slotConfirmed() ?? .zero) >= end }, "\(run.stderr)")
        run.signal(SIGTERM)
        #expect(run.wait(seconds: 30) == 0, "\(run.stderr)")

        // Replay per key (a key's events share a partition, so keep their order).
        var state: [Int64: Int64] = [:]
        var violations: [String] = []
        for message in try fx.messages(fx.topic("items")) {
            guard let bytes = message.value else { continue }
            let event = try JSON.decode(bytes)
            let op = event["op"]?.stringValue ?? "?"
            let row = op == "d" ? event["before"] : event["after"]
            guard let id = row?["id"]?.int64Value else { violations.append("no id in \(event.jsonText)"); continue }
            switch op {
            case "r", "c":
                if state[id] != nil { violations.append("\(op) for present id \(id): seen twice") }
                state[id] = event[path: "after", "v"]?.int64Value
            case "u":
                if state[id] == nil { violations.append("update for absent id \(id): a change was lost") }
                state[id] = event[path: "after", "v"]?.int64Value
            case "d":
                if state.removeValue(forKey: id) == nil { violations.append("delete for absent id \(id)") }
            default:
                violations.append("unexpected op \(op)")
            }
        }
        #expect(violations.count == 0, "\(violations.prefix(5))")
        let table = try fx.db.query("SELECT id, v FROM items").rows
        var expected: [Int64: Int64] = [:]
        for row in table { expected[Int64(row[0]!)!] = Int64(row[1]!)! }
        #expect(state == expected, "consumed \(state.count) rows, table has \(expected.count)")
        Log.info("handover: \(writesDuringSnapshot) writes during the snapshot, \(writesAfter) after")
    }

    @Test func interruptedSnapshotStartsOverCleanly() throws {
        let fx = try WALFixture("resnap")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE t (id int PRIMARY KEY, v int);
            INSERT INTO t SELECT g, g FROM generate_series(1, 300000) g;
            """)
        try fx.kafka.createTopic(fx.topic("t"), partitions: 64)
        try fx.setup("t")
        let first = try BackgroundProcess.pgk(fx.arguments("run"), environment: WALFixture.environment)
        let started = try eventually(seconds: 60) { try WALKafka.count(fx.kafka, fx.topic("t")) > 1000 }
        first.signal(SIGKILL)
        _ = first.wait(seconds: 10)
        try #require(started, "\(first.stderr)")
        let partial = try WALKafka.count(fx.kafka, fx.topic("t"))
        try #require(partial < 300_000, "the snapshot finished before the kill; nothing to test")
        try fx.db.executeScript("DELETE FROM t WHERE id <= 10; INSERT INTO t VALUES (300001, 1);")

        let second = try fx.pgkOK("run", ["--exit-when-caught-up"])
        #expect(second.stderr.contains("creating it again exporting a snapshot"), "\(second.stderr)")
        let events = try fx.events(fx.topic("t"))
        let last = try #require(events.first { $0[path: "source", "snapshot"] == "last" })
        let snapshotLSN = last[path: "source", "lsn"]
        let snapshot = events.filter { $0["op"] == "r" && $0[path: "source", "lsn"] == snapshotLSN }
        let ids = snapshot.compactMap { $0[path: "after", "id"]?.int64Value }
        #expect(ids.count == 299_991 && Set(ids).count == ids.count, "one complete snapshot of the current rows")
        #expect(!Set(ids).contains(5) && Set(ids).contains(300_001))
        #expect(events.filter { $0["op"] != "r" }.isEmpty, "the changes made before the new slot are in its snapshot")
    }

    @Test func heartbeatKeepsAnIdleSlotsLagBounded() throws {
        let fx = try WALFixture("heartbeat")
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE quiet (id int PRIMARY KEY)")
        try fx.setup("quiet")
        let run = try BackgroundProcess.pgk(fx.arguments("run", ["--snapshot", "never", "--heartbeat", "300ms", "-v"]), environment: WALFixture.environment)
        try #require(try eventually { try fx.scalar("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [fx.slot]) == "t" },
                     "\(run.stderr)")
        let confirmedBefore = try #require(try fx.slotConfirmed())
        // WAL from another database: the slot's own database stays idle.
        let busy = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("heartbeat_busy"))
        try busy.executeScript("""
            CREATE TABLE noise (id int, pad text);
            INSERT INTO noise SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g;
            """)
        let generated = try fx.currentLSN()
        try #require(generated.bytes(since: confirmedBefore) > 10_000_000, "the noise should be far ahead of the slot")
        let bounded = try eventually(seconds: 30) {
            generated.bytes(since: try fx.slotConfirmed() ?? .zero) < 1_000_000
        }
        let lagAtEnd = generated.bytes(since: try fx.slotConfirmed() ?? .zero)
        #expect(bounded, "lag stayed at \(lagAtEnd) bytes: \(run.stderr)")
        #expect(eventually { run.stderr.contains("heartbeat confirmed") }, "\(run.stderr)")
        run.signal(SIGTERM)
        #expect(run.wait(seconds: 30) == 0, "SIGTERM ends the run with status 0: \(run.stderr)")
        #expect(run.stderr.contains("to slot \(fx.slot)"), "\(run.stderr)")
    }

    @Test func postgresRestartIsSurvived() throws {
        let cluster = try TestPostgres.privateCluster()
        defer { cluster.shutdown() }
        let fx = try WALFixture("restart", cluster: cluster)
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE t (id int PRIMARY KEY, v int)")
        try fx.setup("t")
        let run = try BackgroundProcess.pgk(fx.arguments("run", ["--snapshot", "never"]), environment: WALFixture.environment)
        try Self.insertRows(fx.db, "t", count: 100, perTransaction: 10)
        try #require(try eventually { try WALKafka.count(fx.kafka, fx.topic("t")) == 100 }, "\(run.stderr)")
        try cluster.restart()
        let db = try PostgresConnection(conninfo: fx.url)
        try Self.insertRows(db, "t", from: 101, count: 100, perTransaction: 10)
        #expect(try eventually(seconds: 60) { try WALKafka.count(fx.kafka, fx.topic("t")) >= 200 }, "\(run.stderr)")
        run.signal(SIGTERM)
        #expect(run.wait(seconds: 30) == 0, "\(run.stderr)")
        let ids = Set(try fx.events(fx.topic("t")).compactMap { $0[path: "after", "id"]?.int64Value })
        #expect(ids == Set((1...200).map(Int64.init)))
        #expect(run.stderr.contains("reconnecting"), "\(run.stderr)")
    }

    @Test func brokerOutageIsBackpressureNotLoss() throws {
        let fx = try WALFixture("brokerdown")
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE t (id int PRIMARY KEY, v int)")
        try fx.setup("t")
        let run = try BackgroundProcess.pgk(fx.arguments("run", ["--snapshot", "never"]), environment: WALFixture.environment)
        try Self.insertRows(fx.db, "t", count: 10, perTransaction: 10)
        try #require(try eventually { try WALKafka.count(fx.kafka, fx.topic("t")) == 10 }, "\(run.stderr)")
        fx.kafka.setBrokersUp(false)
        let before = try fx.currentLSN()
        try Self.insertRows(fx.db, "t", from: 11, count: 100, perTransaction: 10)
        let after = try fx.currentLSN()
        Thread.sleep(forTimeInterval: 3)
        #expect(try fx.slotConfirmed()! < after, "nothing undelivered may be confirmed")
        #expect(run.isRunning, "\(run.stderr)")
        fx.kafka.setBrokersUp(true)
        #expect(try eventually(seconds: 60) { (try fx.slotConfirmed() ?? .zero) >= after }, "\(run.stderr)")
        run.signal(SIGTERM)
        #expect(run.wait(seconds: 30) == 0, "\(run.stderr)")
        let ids = Set(try fx.events(fx.topic("t")).compactMap { $0[path: "after", "id"]?.int64Value })
        #expect(ids == Set((1...110).map(Int64.init)))
        _ = before
    }

    @Test func invalidatedSlotIsAClearError() throws {
        let cluster = try LocalPostgresCluster.started(options: .init(settings: [
            "max_slot_wal_keep_size": "1MB", "wal_keep_size": "0", "min_wal_size": "32MB", "max_wal_size": "64MB",
        ]))
        defer { cluster.shutdown() }
        let fx = try WALFixture("lost", cluster: cluster)
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE t (id int PRIMARY KEY, pad text)")
        try fx.setup("t")
        let other = try PostgresConnection(conninfo: cluster.createDatabase("lost_noise"))
        try other.executeScript("CREATE TABLE noise (pad text)")
        try #require(try eventually(seconds: 60) {
            try other.executeScript("""
                INSERT INTO noise SELECT repeat('x', 1000) FROM generate_series(1, 20000);
                SELECT pg_switch_wal(); CHECKPOINT;
                """)
            return try fx.scalar("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", [fx.slot]) == "lost"
        }, "the slot was never invalidated")
        let status = try fx.pgkOK("status", ["-o", "json"])
        #expect(try JSON.decode(status.stdout)[path: "slot", "wal_status"] == "lost")
        let result = try fx.pgk("run", ["--snapshot", "never"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("can no longer stream") && result.stderr.contains("teardown"), "\(result.stderr)")
    }
}
