import Foundation
import Testing
@testable import PGKCore

/// `pgk cdc outbox …` as users run it: the built binary against a real
/// database and the mock Kafka cluster.
@Suite struct OutboxShippingTests {
    @Test func snapshotOfThreeRowsShipsThreeEventsWithNoKeyForANullID() throws {
        let fixture = try OutboxFixture("ob_ship3")
        try fixture.db.execute("CREATE TABLE users (uuid text, name text, email text)")
        try fixture.db.execute("""
            INSERT INTO users VALUES ('3798821b', 'bart', 'bart@example.com'), ('e5a30fc0', NULL, 'jim@example.com'),
                                     (NULL, 'nobody', NULL)
            """)
        try fixture.kafka.createTopic(fixture.topic("users"), partitions: 1)
        try fixture.pgkOK(["cdc", "outbox", "setup", "users", "uuid"])
        let queued = try fixture.db.query("""
            SELECT pgk.outbox_event_uuid(id)::text AS uuid, floor(extract(epoch FROM created_at) * 1000)::int8
              FROM pgk.outbox_events ORDER BY id
            """)
        let run = try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty"])
        #expect(run.stdout.isEmpty)
        let events = try fixture.consume(fixture.topic("users"), atLeast: 3).map(ShippedEvent.init)
        try #require(events.count == 3)
        #expect(events.map(\.statement) == ["SNAPSHOT", "SNAPSHOT", "SNAPSHOT"])
        #expect(events.map(\.key) == ["3798821b", "e5a30fc0", nil])
        #expect(events.map(\.externalID) == ["3798821b", "e5a30fc0", nil])
        #expect(events[1].data == ValueObject([("uuid", "e5a30fc0"), ("name", .null), ("email", "jim@example.com")]))
        #expect(events.map(\.uuid) == queued.column("uuid").map { $0 ?? "" })
        #expect(events.map { $0.header("uuid") } == queued.column("uuid"))
        #expect(events.map(\.message.timestamp) == queued.rows.map { $0[1].flatMap { Int64($0) } },
                "the Kafka timestamp is the event time")
        for event in events {
            #expect(event.value["created_at"]?.stringValue?.hasSuffix("Z") == true)
            #expect(event.value["table"] == "users" && event.value["schema"] == "public")
            #expect(event.value["txid"]?.int64Value != nil)
            #expect(event.value["previous"] == .null)
        }
        #expect(try fixture.queueDepth() == 0, "shipped events are deleted")
    }

    @Test func topicsFollowThePrefixTheTemplateAndTheSchema() throws {
        let fixture = try OutboxFixture("ob_topics")
        try fixture.db.execute("CREATE SCHEMA shop")
        try fixture.db.execute("CREATE TABLE shop.\"Orders\" (id int PRIMARY KEY)")
        try fixture.db.execute("CREATE TABLE products (id int PRIMARY KEY)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "shop.Orders", "id"])
        try fixture.pgkOK(["cdc", "outbox", "setup", "products", "id"])
        try fixture.db.execute("INSERT INTO shop.\"Orders\" VALUES (1)")
        try fixture.db.execute("INSERT INTO products VALUES (2)")
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--create-topics"])
        #expect(try fixture.consume("pgk.\(fixture.database).shop.Orders", atLeast: 1).count == 1)
        #expect(try fixture.consume("pgk.\(fixture.database).products", atLeast: 1).count == 1)

        try fixture.db.execute("INSERT INTO shop.\"Orders\" VALUES (3)")
        try fixture.db.execute("INSERT INTO products VALUES (4)")
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--create-topics", "--topic-prefix", "pg2kafka.shop_test."])
        #expect(try fixture.consume("pg2kafka.shop_test.shop.Orders", atLeast: 1).count == 1)
        #expect(try fixture.consume("pg2kafka.shop_test.products", atLeast: 1).count == 1)

        try fixture.db.execute("INSERT INTO shop.\"Orders\" VALUES (5)")
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--create-topics",
                           "--topic-template", "cdc.{database}.{schema}.{table}"])
        let templated = try fixture.consume("cdc.\(fixture.database).shop.Orders", atLeast: 1).map(ShippedEvent.init)
        #expect(templated.map(\.key) == ["5"])

        let bad = try fixture.pgk(["cdc", "outbox", "run", "--topic-template", "x.{tabel}"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("unknown placeholder {tabel}"), "\(bad.stderr)")
    }

    @Test func aQueueOfMoreThanAThousandEventsDrainsCompletely() throws {
        let fixture = try OutboxFixture("ob_drain")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.db.execute("INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 2500) i")
        try fixture.db.execute("UPDATE t SET v = v || '!' WHERE id % 5 = 0")
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 3)
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--batch-size", "700"])
        #expect(try fixture.queueDepth() == 0)
        let messages = try fixture.consume(fixture.topic("t"), atLeast: 3000)
        #expect(messages.count == 3000)
        let model = try ReplicaModel.build(from: messages)
        #expect(model.rows == (try ReplicaModel.table("t", keyColumn: "id", on: fixture.db)))
    }

    @Test func dryRunPrintsEventsAndLeavesTheQueueIntact() throws {
        let fixture = try OutboxFixture("ob_dry")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        try fixture.db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.db.execute("DELETE FROM t WHERE id = 1")
        let before = try fixture.queuedUUIDs()
        let dry = try fixture.pgkOK(["cdc", "outbox", "run", "--dry-run", "--exit-when-empty", "--batch-size", "2"])
        let lines = dry.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 3, "\(dry.stdout)")
        let events = try lines.map { try JSON.decode($0) }
        #expect(events.map { $0["statement"]?.stringValue } == ["SNAPSHOT", "SNAPSHOT", "DELETE"])
        #expect(events[2]["previous"] == .object(ValueObject([("id", 1), ("v", "a")])))
        #expect(Set(events.compactMap { $0["uuid"]?.stringValue }) == before)
        #expect(try fixture.queuedUUIDs() == before, "a dry run ships and deletes nothing")
        // And nothing reached Kafka.
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(fixture.kafka))
        #expect(try admin.metadata().topic(fixture.topic("t")) == nil)
    }

    @Test func aMissingTopicFailsNamingItAndLosesNothing() throws {
        let fixture = try OutboxFixture("ob_missing")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.db.execute("INSERT INTO t VALUES (1), (2)")
        let failed = try fixture.pgk(["cdc", "outbox", "run", "--exit-when-empty"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("Kafka topic '\(fixture.topic("t"))' does not exist"), "\(failed.stderr)")
        #expect(failed.stderr.contains("--create-topics"))
        #expect(try fixture.queueDepth() == 2)
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--create-topics"])
        #expect(try fixture.consume(fixture.topic("t"), atLeast: 2).count == 2)
        #expect(try fixture.queueDepth() == 0)
    }

    @Test func statusReportsTablesQueueDepthAndAge() throws {
        let fixture = try OutboxFixture("ob_status")
        let empty = try fixture.pgkOK(["cdc", "outbox", "status", "-o", "json"])
        #expect(try JSON.decode(empty.stdout)["installed"] == false)
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try fixture.db.execute("INSERT INTO t VALUES (1), (2)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        usleep(200_000)
        let status = try JSON.decode(try fixture.pgkOK(["cdc", "outbox", "status", "--output", "json"]).stdout)
        #expect(status["installed"] == true)
        #expect(status["queue_depth"] == 2)
        #expect((status["oldest_event_age_seconds"].flatMap { if case .double(let d) = $0 { return d } else { return nil } } ?? 0) >= 0.2)
        #expect(status["leader"] == .null)
        guard case .array(let tables)? = status["tables"] else { Issue.record("no tables"); return }
        #expect(tables.count == 1)
        #expect(tables.first?["table"] == "t" && tables.first?["snapshot"] == "done" && tables.first?["queued"] == 2)
        #expect(tables.first?["capture"] == "statement")
        let text = try fixture.pgkOK(["cdc", "outbox", "status"]).stdout
        #expect(text.contains("queue: 2 event(s)") && text.contains("public.t"), "\(text)")
        #expect(text.contains("CAPTURE") && text.contains("statement"), "\(text)")
        // A capture trigger dropped by hand shows up.
        try fixture.db.execute("DROP TRIGGER pgk_outbox_capture ON t")
        let broken = try JSON.decode(try fixture.pgkOK(["cdc", "outbox", "status", "--output", "json"]).stdout)
        guard case .array(let after)? = broken["tables"] else { Issue.record("no tables"); return }
        #expect(after.first?["capture"] == "missing")
    }

    @Test func teardownAndUninstallFromTheCommandLine() throws {
        let fixture = try OutboxFixture("ob_cli")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        let refused = try fixture.pgk(["cdc", "outbox", "uninstall"])
        #expect(refused.status == 1 && refused.stderr.contains("still set up (public.t)"), "\(refused.stderr)")
        let typo = try fixture.pgk(["cdc", "outbox", "teardown", "tt"])
        #expect(typo.status == 0 && typo.stderr.contains("tt is not set up; nothing changed"), "\(typo.stderr)")
        try fixture.pgkOK(["cdc", "outbox", "teardown", "t"])
        try fixture.pgkOK(["cdc", "outbox", "uninstall"])
        #expect(try fixture.db.query("SELECT to_regnamespace('pgk') IS NULL").scalar == "t")
        let again = try fixture.pgkOK(["cdc", "outbox", "uninstall"])
        #expect(again.stderr.contains("not installed"))
        let run = try fixture.pgk(["cdc", "outbox", "run", "--exit-when-empty"])
        #expect(run.status == 1 && run.stderr.contains("run 'pgk cdc outbox setup"), "\(run.stderr)")
    }

    @Test func msgpackPackingCarriesTheSameEvent() throws {
        let fixture = try OutboxFixture("ob_msgpack")
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, doc jsonb)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.db.execute("INSERT INTO t VALUES (1, '{\"a\": [1, \"x\"]}')")
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--packing", "msgpack"])
        let messages = try fixture.consume(fixture.topic("t"), atLeast: 1)
        try #require(messages.count == 1)
        let value = try MsgPack.decode(messages[0].value ?? [])
        #expect(value["statement"] == "INSERT")
        #expect(value["data"] == .object(ValueObject([("id", 1), ("doc", .object(ValueObject([("a", [1, "x"])])))])))
    }

    @Test func avroPackingRegistersAnEnvelopeSchemaPerTopic() throws {
        let fixture = try OutboxFixture("ob_avro")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        try fixture.db.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "t", "id"])
        try fixture.db.execute("INSERT INTO t VALUES (1, 'a')")
        try fixture.db.execute("UPDATE t SET name = NULL")
        try fixture.kafka.createTopic(fixture.topic("t"), partitions: 1)
        let without = try fixture.pgk(["cdc", "outbox", "run", "--exit-when-empty", "--packing", "avro"])
        #expect(without.status == 64 && without.stderr.contains("--registry"), "\(without.stderr)")
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty", "--packing", "avro", "--registry", registry.url])
        let client = try SchemaRegistryClient(url: registry.url)
        #expect(try client.latest(subject: fixture.topic("t") + "-value").version == 1)
        let decoder = AvroMessageDecoder(registry: client)
        let values = try fixture.consume(fixture.topic("t"), atLeast: 2).map { try decoder.decode($0.value ?? []) }
        try #require(values.count == 2)
        #expect(values.map { $0["statement"] } == ["INSERT", "UPDATE"])
        #expect(values.map { $0["external_id"] } == ["1", "1"])
        #expect(try JSON.decode(values[0]["data"]?.stringValue ?? "") == .object(ValueObject([("id", 1), ("name", "a")])))
        #expect(try JSON.decode(values[1]["previous"]?.stringValue ?? "") == .object(ValueObject([("name", "a")])))
        #expect(values[0]["previous"] == .null)
    }

    @Test func kcatReadsTheEventsAsJSON() throws {
        try KafkaInteropTests.requireKcat()
        let fixture = try OutboxFixture("ob_kcat")
        try fixture.db.execute("CREATE TABLE products (id bigserial PRIMARY KEY, sku text, name text)")
        try fixture.pgkOK(["cdc", "outbox", "setup", "products", "sku"])
        try fixture.db.execute("INSERT INTO products (sku, name) VALUES ('CM01-R', 'Red \"Coffee\" Mug ☕')")
        try fixture.db.execute("UPDATE products SET name = 'Big Red Coffee Mug' WHERE sku = 'CM01-R'")
        try fixture.kafka.createTopic(fixture.topic("products"), partitions: 1)
        try fixture.pgkOK(["cdc", "outbox", "run", "--exit-when-empty"])
        let (status, out, stderr) = try KafkaTestSupport.run(KafkaInteropTests.kcat, [
            "-C", "-b", fixture.kafka.bootstrapServers, "-t", fixture.topic("products"), "-o", "beginning", "-e", "-q",
            "-f", "%k\t%h\t%s\n"])
        try #require(status == 0, "kcat: \(stderr)")
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(lines)")
        let fields = lines.map { $0.split(separator: "\t", maxSplits: 2).map(String.init) }
        #expect(fields.map { $0[0] } == ["CM01-R", "CM01-R"])
        #expect(fields.allSatisfy { $0[1].hasPrefix("uuid=") })
        // Python's json module as an independent JSON reader.
        let python = try KafkaTestSupport.run("/usr/bin/env", ["python3", "-c", """
            import json, sys
            for line in sys.stdin:
                e = json.loads(line)
                print(e["statement"], json.dumps(e["data"], ensure_ascii=False, sort_keys=True), e["previous"] is None or json.dumps(e["previous"], ensure_ascii=False))
            """], input: Data(fields.map { $0[2] }.joined(separator: "\n").utf8))
        #expect(python.0 == 0, "python: \(python.2)")
        #expect(String(decoding: python.1, as: UTF8.self) == """
            INSERT {"id": 1, "name": "Red \\"Coffee\\" Mug ☕", "sku": "CM01-R"} True
            UPDATE {"name": "Big Red Coffee Mug"} {"name": "Red \\"Coffee\\" Mug ☕"}

            """)
    }
}
