import Foundation
import Testing
@testable import PGKCore

/// setup, status, teardown, Avro packing and memory on a large transaction.
@Suite struct WALCommandTests {
    @Test func setupExplainsEveryMissingPrerequisiteAndCreatesNothing() throws {
        let fx = try WALFixture("prereq")
        defer { fx.close() }
        let role = "norepl_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try fx.db.executeScript("""
            CREATE TABLE keyed (id int PRIMARY KEY);
            CREATE TABLE loose (a int, b text);
            CREATE ROLE \(role) LOGIN;
            ALTER TABLE keyed OWNER TO \(role);
            ALTER TABLE loose OWNER TO \(role);
            """)
        defer { _ = try? fx.db.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)") }
        let url = fx.url.replacingOccurrences(of: "postgres@", with: "\(role)@")
        let result = try CommandRunner.pgk(["cdc", "wal", "setup", "-d", url, "--slot", fx.slot, "--tables", "keyed,loose,missing"],
                                           environment: WALFixture.environment)
        #expect(result.status == 1)
        #expect(result.stderr.contains("lacks the REPLICATION privilege") && result.stderr.contains("ALTER ROLE \"\(role)\" REPLICATION"),
                "\(result.stderr)")
        #expect(result.stderr.contains("table public.loose has no primary key and no replica identity"), "\(result.stderr)")
        #expect(result.stderr.contains("REPLICA IDENTITY FULL"), "\(result.stderr)")
        #expect(result.stderr.contains("table missing does not exist"), "\(result.stderr)")
        #expect(!result.stderr.contains("keyed has no"), "a table with a primary key is fine")
        #expect(try fx.scalar("SELECT count(*) FROM pg_publication") == "0")
        #expect(try fx.slotConfirmed() == nil)

        let usage = try fx.pgk("setup")
        #expect(usage.status == 64 && usage.stderr.contains("--tables or --all-tables"), "\(usage.stderr)")
    }

    @Test func allTablesNeverCapturesPgksOwnSchema() throws {
        let fx = try WALFixture("alltables")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE orders (id int PRIMARY KEY);
            INSERT INTO orders VALUES (1);
            CREATE SCHEMA IF NOT EXISTS pgk;
            CREATE TABLE pgk.bookkeeping (id int PRIMARY KEY);
            INSERT INTO pgk.bookkeeping VALUES (1);
            """)
        try fx.pgkOK("setup", ["--all-tables"])
        // The snapshot records itself in pgk.wal_snapshots; the second run
        // streams changes to both schemas.
        try fx.pgkOK("run", ["--exit-when-caught-up"])
        try fx.db.executeScript("INSERT INTO orders VALUES (2); INSERT INTO pgk.bookkeeping VALUES (2)")
        try fx.pgkOK("run", ["--exit-when-caught-up"])
        #expect(try WALKafka.count(fx.kafka, fx.topic("orders")) == 2)
        let topics = try KafkaAdmin(config: KafkaConfig(brokers: fx.kafka.bootstrapServers)).metadata(topic: nil)
            .topics.map(\.name)
        #expect(!topics.contains { $0.hasPrefix(fx.prefix + ".pgk.") }, "pgk's own tables became topics: \(topics)")
    }

    @Test func theFirstRunAfterSetupSaysWhatItDoes() throws {
        let fx = try WALFixture("firstrun")
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
        try fx.setup("t")
        let run = try fx.pgkOK("run", ["--exit-when-caught-up"])
        #expect(!run.stderr.contains("recreating"), "\(run.stderr)")
        #expect(run.stderr.contains("setup creates it without one"), "\(run.stderr)")
        let line = try #require(run.stderr.split(separator: "\n").first { $0.contains("streaming slot") })
        let words = line.split(separator: " ").map(String.init)
        let from = try #require(words.firstIndex(of: "from").flatMap { LSN(words[$0 + 1]) }, "\(line)")
        let until = try #require(words.firstIndex(of: "until").flatMap { LSN(words[$0 + 1]) }, "\(line)")
        #expect(until >= from, "\(line)")
    }

    @Test func setupExplainsWalLevel() throws {
        let cluster = try LocalPostgresCluster.started(options: .init(settings: ["wal_level": "replica"]))
        defer { cluster.shutdown() }
        let url = try cluster.createDatabase("wal_level_check")
        let db = try PostgresConnection(conninfo: url)
        try db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        let result = try CommandRunner.pgk(["cdc", "wal", "setup", "-d", url, "--tables", "t"], environment: WALFixture.environment)
        #expect(result.status == 1)
        #expect(result.stderr.contains("wal_level is replica") && result.stderr.contains("ALTER SYSTEM SET wal_level = logical"),
                "\(result.stderr)")
    }

    @Test func statusReportsTheSlotAndTeardownRemovesIt() throws {
        let fx = try WALFixture("status")
        defer { fx.close() }
        try fx.db.executeScript("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)")
        try fx.setup("a,b")
        let again = try fx.pgkOK("setup", ["--tables", "a,b"])
        #expect(again.stderr.contains("already exists"), "setup is repeatable: \(again.stderr)")
        try fx.db.execute("INSERT INTO a SELECT generate_series(1, 1000)")
        let status = try JSON.decode(try fx.pgkOK("status", ["-o", "json"]).stdout)
        #expect(status[path: "slot", "exists"] == true && status[path: "slot", "active"] == false)
        #expect(status[path: "slot", "wal_status"] == "reserved" && status[path: "slot", "plugin"] == "pgoutput")
        #expect((status[path: "slot", "lag_bytes"]?.int64Value ?? 0) > 0, "inserts after setup are WAL the slot holds")
        #expect(status[path: "slot", "confirmed_flush_lsn"]?.stringValue.flatMap(LSN.init) != nil)
        #expect(status[path: "publication", "tables"] == ["public.a", "public.b"])
        #expect(status[path: "publication", "operations"] == ["insert", "update", "delete", "truncate"])

        // Other tests write WAL on the same cluster, so compare with the
        // position at the start of the run, which is what it promises to reach.
        let before = try fx.currentLSN()
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up"])
        let caughtUp = try JSON.decode(try fx.pgkOK("status", ["-o", "json"]).stdout)
        let confirmed = caughtUp[path: "slot", "confirmed_flush_lsn"]?.stringValue.flatMap(LSN.init)
        #expect(confirmed.map { $0 >= before } == true, "\(caughtUp.jsonText) vs \(before)")
        let table = try fx.pgkOK("status").stdout
        #expect(table.contains("confirmed_flush_lsn") && table.contains("public.a, public.b"), "\(table)")

        try fx.pgkOK("teardown")
        let gone = try JSON.decode(try fx.pgkOK("status", ["-o", "json"]).stdout)
        #expect(gone[path: "slot", "exists"] == false && gone[path: "publication", "exists"] == false)
        let missing = try fx.pgk("run", ["--snapshot", "never"])
        #expect(missing.status == 1 && missing.stderr.contains("publication pgk does not exist"), "\(missing.stderr)")
    }

    @Test func avroPackingRegistersSchemasFromRelationMetadata() throws {
        let fx = try WALFixture("avro")
        defer { fx.close() }
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        try fx.db.executeScript("""
            CREATE TABLE "Orders" (id bigint PRIMARY KEY, qty int, price numeric(10,2), ok bool, doc jsonb, tags text[],
                at timestamptz, "odd name" text, raw bytea, ratio float8);
            """)
        try fx.setup(#""Orders""#)
        try fx.db.execute("""
            INSERT INTO "Orders" VALUES (1, 2, 3.50, true, '{"a": 1}', '{x,y}', '2024-01-01 00:00:00+00', 'n', '\\x0102', 'Infinity')
            """)
        try fx.db.execute(#"UPDATE "Orders" SET qty = 3"#)
        try fx.db.execute(#"DELETE FROM "Orders""#)
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up", "--packing", "avro", "--registry", registry.url])
        let client = try SchemaRegistryClient(url: registry.url)
        let decoder = AvroMessageDecoder(registry: client)
        let messages = try fx.messages(fx.topic("Orders")).filter { $0.value != nil }
        try #require(messages.count == 3)
        let events = try messages.map { try decoder.decode($0.value!) }
        #expect(events.map { $0["op"] } == ["c", "u", "d"])
        let after = try #require(events[0]["after"])
        #expect(after["id"] == 1 && after["qty"] == 2 && after["price"] == "3.50" && after["ok"] == true)
        #expect(after["doc"] == #"{"a": 1}"# && after["tags"] == #"["x","y"]"# && after["at"] == "2024-01-01T00:00:00Z")
        #expect(after["odd_name"] == "n" && after["raw"] == .bytes([1, 2]) && after["ratio"] == "Infinity")
        #expect(events[0][path: "source", "table"] == "Orders" && events[0][path: "source", "unchanged_toast"] == [])
        #expect(events[2][path: "before", "id"] == 1 && events[2][path: "before", "qty"] == .null)
        #expect(try decoder.decode(try #require(messages[0].key)) == .object(ValueObject([("id", 1)])))
        #expect(Set(registry.subjects).isSuperset(of: [fx.topic("Orders") + "-value", fx.topic("Orders") + "-key"]))
    }

    /// A million rows in one transaction: pgk streams them with its
    /// in-flight window, never holding the transaction.
    @Test func millionRowTransactionStreamsInBoundedMemory() throws {
        let fx = try WALFixture("million")
        defer { fx.close() }
        let rows = 1_000_000
        try fx.db.executeScript("CREATE TABLE big (id bigint PRIMARY KEY, name text, amount numeric(12,2))")
        try fx.kafka.createTopic(fx.topic("big"), partitions: 128)
        try fx.setup("big")
        try fx.db.execute("INSERT INTO big SELECT g, 'name ' || g, g * 1.25 FROM generate_series(1, \(rows)) g")
        let rssFile = FileManager.default.temporaryDirectory.appendingPathComponent("pgk-rss-\(fx.slot)").path
        defer { try? FileManager.default.removeItem(atPath: rssFile) }
        let result = try CommandRunner.run("/usr/bin/time", ["-f", "%M", "-o", rssFile, RepositoryPaths.binary]
                                           + fx.arguments("run", ["--snapshot", "never", "--exit-when-caught-up", "-q"]),
                                           environment: WALFixture.environment, timeoutSeconds: 600)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(try WALKafka.count(fx.kafka, fx.topic("big")) == Int64(rows))
        let peakKiB = Int(try String(contentsOfFile: rssFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        // The events alone are ~200 MB; holding the transaction would show.
        #expect(peakKiB > 0 && peakKiB < 150 * 1024, "peak RSS \(peakKiB / 1024) MiB")
        Log.info("1M-row transaction: peak RSS \(peakKiB / 1024) MiB")
    }
}

extension WALCommandTests {
    @Test func snapshotOnlyCopiesAndLeavesNoSlot() throws {
        let fx = try WALFixture("snaponly")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE t (id int PRIMARY KEY, v text);
            INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 500) g;
            CREATE PUBLICATION pgk FOR TABLE t;
            """)
        try fx.pgkOK("run", ["--snapshot", "only", "--format", "pg_to_brokers"])
        let events = try fx.events(fx.topic("t"))
        #expect(events.count == 500 && events.allSatisfy { $0["operation"] == "INSERT" })
        #expect(Set(events.compactMap { ($0["values"]?.arrayValue?.first)?.int64Value }) == Set((1...500).map(Int64.init)))
        #expect(try fx.scalar("SELECT count(*) FROM pg_replication_slots WHERE database = current_database()") == "0")
    }
}

extension Value {
    var arrayValue: [Value]? { if case .array(let items) = self { return items } else { return nil } }
}

extension WALCommandTests {
    @Test func snapshotHonoursRowFiltersColumnListsAndPartitionRoots() throws {
        let fx = try WALFixture("pubshape")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE measures (id int, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
            CREATE TABLE measures_a PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2024-07-01');
            CREATE TABLE measures_b PARTITION OF measures FOR VALUES FROM ('2024-07-01') TO ('2025-01-01');
            INSERT INTO measures VALUES (1, '2024-02-01', 1), (2, '2024-08-01', 2);
            CREATE TABLE people (id int PRIMARY KEY, name text, secret text, active bool);
            INSERT INTO people VALUES (1, 'ann', 's1', true), (2, 'bob', 's2', false);
            CREATE PUBLICATION pgk FOR TABLE measures, people (id, name, active) WHERE (active)
                WITH (publish_via_partition_root = true);
            """)
        try fx.pgkOK("run", ["--exit-when-caught-up"])
        try fx.db.executeScript("""
            INSERT INTO measures VALUES (3, '2024-09-01', 3);
            INSERT INTO people VALUES (3, 'cy', 's3', true), (4, 'di', 's4', false);
            """)
        try fx.pgkOK("run", ["--exit-when-caught-up"])
        let measures = try fx.events(fx.topic("measures"))
        #expect(measures.compactMap { $0["op"]?.stringValue }.sorted() == ["c", "r", "r"], "rows of both partitions, under the root")
        #expect(Set(measures.compactMap { $0[path: "after", "id"]?.int64Value }) == [1, 2, 3])
        let people = try fx.events(fx.topic("people"))
        #expect(people.compactMap { $0[path: "after", "name"]?.stringValue }.sorted() == ["ann", "cy"])
        #expect(people.allSatisfy { $0[path: "after", "secret"] == nil }, "only the published columns")
    }
}
