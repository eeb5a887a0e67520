import Foundation
import Testing
@testable import PGKCore

/// `pgk cdc outbox run --table`: an outbox table the application writes
/// itself (Debezium's outbox event router contract).
@Suite struct OutboxApplicationTests {
    static let debeziumTable = """
        CREATE TABLE app.outbox (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            aggregatetype text NOT NULL,
            aggregateid text,
            type text NOT NULL,
            payload jsonb
        )
        """

    @Test func shipsPayloadsAsJSONToAggregateTopicsAndDeletesThem() throws {
        let fixture = try OutboxFixture("ob_app")
        try fixture.db.execute("CREATE SCHEMA app")
        try fixture.db.execute(Self.debeziumTable)
        try fixture.db.execute("""
            INSERT INTO app.outbox (aggregatetype, aggregateid, type, payload) VALUES
              ('Order', 'o-1', 'OrderCreated', '{"total": 12.50, "lines": [{"sku": "A", "qty": 2}]}'),
              ('Customer', 'c-9', 'CustomerMoved', '{"city": "Zürich"}'),
              ('Order', 'o-1', 'OrderPaid', '{"paid": true}'),
              ('Order', NULL, 'OrderPurged', NULL)
            """)
        let ids = try fixture.db.query("SELECT id::text FROM app.outbox ORDER BY seq").column("id")
        try fixture.kafka.createTopic("outbox.event.Order", partitions: 1)
        try fixture.kafka.createTopic("outbox.event.Customer", partitions: 1)
        try fixture.pgkOK(["cdc", "outbox", "run", "--table", "app.outbox", "--exit-when-empty"])
        #expect(try fixture.db.query("SELECT count(*) FROM app.outbox").scalar == "0", "rows deleted after ack")

        let orders = try fixture.consume("outbox.event.Order", atLeast: 3)
        try #require(orders.count == 3)
        #expect(orders.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == ["o-1", "o-1", nil])
        // jsonb orders keys its own way (shorter first).
        #expect(try JSON.decode(orders[0].value ?? []) == .object(ValueObject([
            ("lines", [.object(ValueObject([("qty", 2), ("sku", "A")]))]), ("total", 12.5)])),
            "the payload is real JSON, not an escaped string")
        #expect(orders[0].headers == [KafkaHeader(key: "id", string: ids[0]!), KafkaHeader(key: "type", string: "OrderCreated")])
        #expect(orders[1].headers.last == KafkaHeader(key: "type", string: "OrderPaid"))
        #expect(orders[2].value == nil, "a NULL payload is a tombstone")
        let customers = try fixture.consume("outbox.event.Customer", atLeast: 1)
        #expect(customers.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["{\"city\":\"Zürich\"}"])
    }

    @Test func columnNamesTopicTemplateAndOrderColumnAreConfigurable() throws {
        let fixture = try OutboxFixture("ob_appcols")
        try fixture.db.execute("""
            CREATE TABLE events (position bigserial, event_id text, kind text, entity text, entity_id text, body text)
            """)
        try fixture.db.execute("""
            INSERT INTO events (event_id, kind, entity, entity_id, body) VALUES
              ('e1', 'Created', 'Invoice', 'i-1', '{"n": 1}'), ('e2', 'Note', 'Invoice', 'i-1', 'not json')
            """)
        let dry = try fixture.pgkOK(["cdc", "outbox", "run", "--table", "events", "--dry-run", "--exit-when-empty",
                                     "--event-id-column", "event_id", "--event-type-column", "kind",
                                     "--aggregate-type-column", "entity", "--aggregate-id-column", "entity_id",
                                     "--payload-column", "body", "--topic-template", "{database}.{aggregatetype}"])
        let lines = try dry.stdout.split(separator: "\n").map { try JSON.decode(String($0)) }
        #expect(lines.map { $0["topic"] } == [.string("\(fixture.database).Invoice"), .string("\(fixture.database).Invoice")])
        #expect(lines.map { $0["payload"] } == [.object(ValueObject([("n", 1)])), "not json"])
        #expect(try fixture.db.query("SELECT count(*) FROM events").scalar == "2", "a dry run deletes nothing")

        try fixture.pgkOK(["cdc", "outbox", "run", "--table", "events", "--exit-when-empty", "--create-topics",
                           "--event-id-column", "event_id", "--event-type-column", "kind",
                           "--aggregate-type-column", "entity", "--aggregate-id-column", "entity_id",
                           "--payload-column", "body", "--topic-template", "{database}.{aggregatetype}",
                           "--order-column", "position"])
        let messages = try fixture.consume("\(fixture.database).Invoice", atLeast: 2)
        #expect(messages.map { $0.value.map { String(decoding: $0, as: UTF8.self) } } == ["{\"n\":1}", "\"not json\""])
        #expect(messages.map { $0.headers.first?.value.map { String(decoding: $0, as: UTF8.self) } } == ["e1", "e2"])
    }

    @Test func aTableWithoutAnInsertOrderColumnIsRefusedWithAHint() throws {
        let fixture = try OutboxFixture("ob_apporder")
        try fixture.db.execute("""
            CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload jsonb)
            """)
        let result = try fixture.pgk(["cdc", "outbox", "run", "--table", "outbox", "--exit-when-empty"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no identity or serial column"), "\(result.stderr)")
        #expect(result.stderr.contains("--order-column"))
        let missing = try fixture.pgk(["cdc", "outbox", "run", "--table", "outbox", "--payload-column", "body"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("has no column \"body\" (--payload-column)"), "\(missing.stderr)")
        let misuse = try fixture.pgk(["cdc", "outbox", "run", "--payload-column", "body"])
        #expect(misuse.status == 64)
    }

    @Test func twoShippersOfOneApplicationOutboxElectOneLeader() throws {
        let fixture = try OutboxFixture("ob_appha")
        try fixture.db.execute("CREATE SCHEMA app")
        try fixture.db.execute(Self.debeziumTable)
        try fixture.kafka.createTopic("outbox.event.Order", partitions: 1)
        let first = try fixture.spawn(["cdc", "outbox", "run", "--table", "app.outbox"], name: "first")
        #expect(OutboxFixture.waitUntil { fixture.log(of: "first").contains("outbox: leading") })
        let second = try fixture.spawn(["cdc", "outbox", "run", "--table", "app.outbox"], name: "second")
        #expect(OutboxFixture.waitUntil { fixture.log(of: "second").contains("standing by") })
        for index in 1...50 {
            try fixture.db.execute("""
                INSERT INTO app.outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'o-1', $1, '{}')
                """, ["E\(index)"])
        }
        // Killed once its claims committed, so the failover itself replays nothing.
        #expect(try OutboxFixture.waitUntil { try fixture.db.query("SELECT count(*) FROM app.outbox").scalar == "0" })
        first.send(signal: SIGKILL)
        first.wait()
        for index in 51...60 {
            try fixture.db.execute("""
                INSERT INTO app.outbox (aggregatetype, aggregateid, type, payload) VALUES ('Order', 'o-1', $1, '{}')
                """, ["E\(index)"])
        }
        #expect(try OutboxFixture.waitUntil { try fixture.producedCount("outbox.event.Order") >= 60 })
        let types = try fixture.consume("outbox.event.Order", atLeast: 60).compactMap { message in
            message.headers.first { $0.key == "type" }?.value.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(types == (1...60).map { "E\($0)" }, "one shipper at a time, in insert order, no duplicates")
        second.send(signal: SIGTERM)
        #expect(second.wait(timeoutMilliseconds: 15_000) == .exited(0))
    }
}
