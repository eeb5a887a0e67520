import Testing
@testable import PGKCore

/// `pgk cdc wal run --format flat` end to end: rows without the envelope,
/// a tombstone per delete, nothing for a truncate.
@Suite struct WALFlatFormatTests {
    @Test func rowsTombstonesAndNoTruncate() throws {
        let fx = try WALFixture("flat")
        defer { fx.close() }
        try fx.db.executeScript("""
            CREATE TABLE items (id int PRIMARY KEY, name text, qty int, doc jsonb);
            CREATE TABLE no_key (a int, b text);
            ALTER TABLE no_key REPLICA IDENTITY FULL;
            INSERT INTO items VALUES (1, 'before setup', 1, NULL);
            """)
        // One partition: consumption order is production order.
        try fx.kafka.createTopic(fx.topic("items"), partitions: 1)
        try fx.setup("items,no_key")
        try fx.pgkOK("run", ["--snapshot", "initial", "--exit-when-caught-up", "--format", "flat"])
        try fx.db.executeScript("""
            INSERT INTO items VALUES (2, 'b', 2, '{"k": [1, 2]}'), (3, 'c', 3, NULL);
            UPDATE items SET qty = 20 WHERE id = 2;
            DELETE FROM items WHERE id = 3;
            TRUNCATE items;
            INSERT INTO items VALUES (4, 'd', 4, NULL);
            UPDATE items SET id = 5 WHERE id = 4;
            INSERT INTO no_key VALUES (1, 'x'); DELETE FROM no_key;
            """)
        try fx.pgkOK("run", ["--snapshot", "initial", "--exit-when-caught-up", "--format", "flat"])

        let messages = try fx.messages(fx.topic("items"))
        let keys = try messages.map { try JSON.decode(try #require($0.key)) }
        #expect(keys == [1, 2, 3, 2, 3, 4, 4, 5].map { .object(ValueObject([("id", .int($0))])) }, "every message has the key")
        let values = try messages.map { try $0.value.map { try JSON.decode($0) } }
        func row(_ id: Int64, _ name: String, _ qty: Int64, _ doc: Value = .null) -> Value {
            .object(ValueObject([("id", .int(id)), ("name", .string(name)), ("qty", .int(qty)), ("doc", doc)]))
        }
        let doc = Value.object(ValueObject([("k", [1, 2])]))
        #expect(values == [row(1, "before setup", 1), row(2, "b", 2, doc), row(3, "c", 3), row(2, "b", 20, doc), nil,
                           row(4, "d", 4), nil, row(5, "d", 4)],
                "rows, the delete's tombstone (none for the truncate), a key change's tombstone for the old key")

        let noKey = try fx.messages(fx.topic("no_key"))
        #expect(noKey.count == 1 && noKey[0].key == nil, "a keyless delete has no tombstone to send")
        #expect(try JSON.decode(try #require(noKey[0].value)) == .object(ValueObject([("a", 1), ("b", "x")])))

        let refused = try fx.pgk("run", ["--snapshot", "never", "--exit-when-caught-up", "--format", "flat", "--no-tombstones"])
        #expect(refused.status != 0 && refused.stderr.contains("--no-tombstones"), "\(refused.stderr)")
    }

    @Test func avroRowsRegisteredAsTheRowRecord() throws {
        let fx = try WALFixture("flatavro")
        defer { fx.close() }
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        try fx.db.executeScript("CREATE TABLE \"Orders\" (id bigint PRIMARY KEY, qty int, price numeric(10,2), raw bytea)")
        try fx.kafka.createTopic(fx.topic("Orders"), partitions: 1)
        try fx.setup(#""Orders""#)
        try fx.db.executeScript("""
            INSERT INTO "Orders" VALUES (1, 2, 3.50, '\\x0102');
            UPDATE "Orders" SET qty = 3;
            DELETE FROM "Orders";
            """)
        try fx.pgkOK("run", ["--snapshot", "never", "--exit-when-caught-up", "--format", "flat", "--packing", "avro",
                             "--registry", registry.url])
        let client = try SchemaRegistryClient(url: registry.url)
        let decoder = AvroMessageDecoder(registry: client)
        let messages = try fx.messages(fx.topic("Orders"))
        try #require(messages.count == 3)
        let key = Value.object(ValueObject([("id", 1)]))
        #expect(try messages.map { try decoder.decode(try #require($0.key)) } == [key, key, key])
        let rows = try messages.prefix(2).map { try decoder.decode(try #require($0.value)) }
        #expect(rows[0] == .object(ValueObject([("id", 1), ("qty", 2), ("price", "3.50"), ("raw", .bytes([1, 2]))])))
        #expect(rows[1]["qty"] == 3 && rows[1]["op"] == nil)
        #expect(messages[2].value == nil, "the delete is a tombstone")
        let schema = try client.latest(subject: fx.topic("Orders") + "-value")
        let value = try #require(messages[0].value)
        #expect(value[0] == 0 && Array(value[1..<5]) == withUnsafeBytes(of: schema.id.bigEndian, Array.init))
    }
}
