import CRdKafka
import Testing
@testable import PGKCore

/// The pure parts: topic names, JSON splicing, the event envelope.
@Suite struct OutboxUnitTests {
    @Test func defaultTopicsArePrefixSchemaAndTable() throws {
        var namer = try OutboxTopicNamer(template: nil, prefix: nil, database: "shop_test")
        #expect(try namer.topic(schema: "public", table: "products") == "pgk.shop_test.products")
        #expect(try namer.topic(schema: "Inventory", table: "Line Items") == "pgk.shop_test.Inventory.Line_Items")
        var prefixed = try OutboxTopicNamer(template: nil, prefix: "pg2kafka.shop_test.", database: "ignored")
        #expect(try prefixed.topic(schema: "public", table: "users") == "pg2kafka.shop_test.users")
        // A prefix is literal text: a brace in it is no placeholder (and no legal topic character).
        var braced = try OutboxTopicNamer(template: nil, prefix: "p{table}", database: "d")
        #expect(throws: RuntimeError.self) { try braced.topic(schema: "public", table: "users") }
        var templated = try OutboxTopicNamer(template: "{database}-{schema}-{table}", prefix: nil, database: "my db")
        #expect(try templated.topic(schema: "public", table: "t") == "my_db-public-t")
        #expect(throws: UsageError.self) { try OutboxTopicNamer(template: "{aggregatetype}", prefix: nil, database: "d") }
        let app = try OutboxTopicNamer(template: "outbox.event.{aggregatetype}", prefix: nil, database: "d",
                                       allowed: OutboxTopicNamer.placeholders)
        #expect(try app.topic(schema: "app", table: "outbox", aggregateType: "Order/Line") == "outbox.event.Order_Line")
        var tooLong = try OutboxTopicNamer(template: "{table}", prefix: nil, database: "d")
        #expect(throws: RuntimeError.self) { try tooLong.topic(schema: "public", table: String(repeating: "x", count: 250)) }
    }

    @Test func compactJSONDropsWhitespaceOutsideStringsOnly() {
        let text = "{ \"a b\" : [1, 2],\n\t\"c\": \"x \\\" y\" , \"d\":{\"e\" :null} }"
        #expect(String(decoding: CompactJSON.bytes(text), as: UTF8.self)
                == "{\"a b\":[1,2],\"c\":\"x \\\" y\",\"d\":{\"e\":null}}")
    }

    @Test func theEnvelopeIsValidJSONWithEveryField() throws {
        let event = OutboxEvent(id: 9, uuid: "b3a5460a-60ad-4f88-b628-1cb57a11de53", txid: "18446744073709551615",
                                createdAtMicros: -1, schema: "pub\"lic", table: "t", statement: "UPDATE",
                                externalID: "k\u{1}", data: "{ \"name\" : \"bartos\" }", previous: "{\"name\": \"bart\"}")
        let value = try JSON.decode(event.jsonBytes, options: JSON.ReadOptions(preserveNumberText: true))
        #expect(value["uuid"] == "b3a5460a-60ad-4f88-b628-1cb57a11de53")
        #expect(value["external_id"] == "k\u{1}")
        #expect(value["statement"] == "UPDATE")
        #expect(value["data"] == .object(ValueObject([("name", "bartos")])))
        #expect(value["previous"] == .object(ValueObject([("name", "bart")])))
        #expect(value["schema"] == "pub\"lic")
        #expect(value["txid"] == .decimal("18446744073709551615"))
        #expect(value["created_at"] == "1969-12-31T23:59:59.999999Z")
        #expect(event.createdAtMilliseconds == -1)
        let msgpack = try event.value(jsonAsText: false)
        #expect(msgpack["data"] == value["data"])
        #expect(try event.value(jsonAsText: true)["previous"] == "{\"name\":\"bart\"}")
    }

    @Test func eventUUIDsFormatPrefixAndID() {
        let uuids = OutboxEventUUID(prefix: [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF])
        #expect(uuids.uuid(for: 0x0102) == "01234567-89ab-8def-8000-000000000102")
    }

    @Test func textArraysRoundTrip() {
        let elements = ["a", "b c", "q\"uote", "back\\slash", ""]
        #expect(PostgresTextArray.parse(PostgresTextArray.literal(elements)) == elements)
        #expect(PostgresTextArray.parse("{1,2,x}") == ["1", "2", "x"])
    }

    @Test func deliveryFailuresAreClassified() {
        // The shipper retries a transient failure, names a missing topic, and stops on the rest.
        #expect(KafkaError(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT).isTransient)
        #expect(KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART).kind == .unknownTopic)
        let tooLarge = KafkaError(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        #expect(!tooLarge.isTransient && tooLarge.kind != .unknownTopic)
        let outcome = OutboxDelivery.Outcome(count: 4, acknowledgedPrefix: 2,
                                             firstFailure: (2, KafkaError(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)))
        #expect(outcome.acknowledgedPrefix == 2 && outcome.firstFailure?.index == 2 && !outcome.allAcknowledged)
    }
}

/// The produce-with-acks stage against the in-process mock cluster.
@Suite struct OutboxDeliveryTests {
    /// Many tiny batches with linger.ms=0: every report is matched to its
    /// message, even one served inside `produce` before its id was known
    /// (a race the shipper once lost under load; timing-dependent here).
    @Test func manyTinyBatchesAreAllAcknowledged() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("ob-delivery")
        try cluster.createTopic(topic, partitions: 4)
        let delivery = try OutboxDelivery(config: KafkaTestSupport.config(cluster, [("linger.ms", "0")]))
        let clock = SystemClock.shared
        for round in 0..<1_500 {
            let messages = (0..<(1 + round % 3)).map { index in
                OutboxMessage(topic: topic, key: Array("k\(round)-\(index)".utf8), value: Array("v".utf8),
                              headers: [], timestamp: nil)
            }
            let stop = StopToken()
            let started = clock.nowMilliseconds
            let watchdog = TestThread.start { _ = stop.sleep(milliseconds: 5_000); stop.stop() }
            let outcome = try delivery.send(messages, stop: stop, graceMilliseconds: 0)
            stop.stop()
            watchdog.join()
            try #require(outcome.allAcknowledged,
                         "round \(round): \(outcome.acknowledgedPrefix) of \(outcome.count) acknowledged after \(clock.nowMilliseconds - started) ms")
        }
    }
}
