import Testing
@testable import PGKCore

/// One sanitizer and one validity check for the topics of every pipeline.
@Suite struct TopicNameTests {
    @Test func replacesEachDisallowedScalarWithOneUnderscore() {
        #expect(TopicName.sanitize("Café") == "Caf_")
        #expect(TopicName.sanitize("Cafe\u{301}") == "Cafe_", "a combining accent is a scalar of its own")
        #expect(TopicName.sanitize("orders😀") == "orders_")
        #expect(TopicName.sanitize("👍🏽") == "__", "emoji and skin tone are two scalars")
        #expect(TopicName.sanitize("my-db.public.line_items") == "my-db.public.line_items")
        #expect(TopicName.sanitize("Line Items/2024") == "Line_Items_2024")
        #expect(TopicName.sanitize("") == "")
    }

    @Test func walAndOutboxNameTablesAlike() throws {
        #expect(CDCTopicNaming.topic(prefix: "pgk.shop", schema: "public", table: "Café") == "pgk.shop.public.Caf_")
        var outbox = try OutboxTopicNamer(template: nil, prefix: nil, database: "shop")
        #expect(try outbox.topic(schema: "public", table: "Café") == "pgk.shop.Caf_")
        #expect(try outbox.topic(schema: "Ünits", table: "😀") == "pgk.shop._nits._")
    }

    @Test func validNamesAreOneTo249AllowedCharacters() {
        #expect(TopicName.isValid("a"))
        #expect(TopicName.isValid("pgk.shop-1.public.orders_2"))
        #expect(TopicName.isValid(String(repeating: "x", count: TopicName.maxLength)))
        #expect(!TopicName.isValid(String(repeating: "x", count: TopicName.maxLength + 1)))
        for bad in ["", ".", "..", "Café", "a b", "a/b", "orders😀"] {
            #expect(!TopicName.isValid(bad), "\(bad)")
        }
        // Per scalar, a 249-character name stays a valid 249-character topic
        // (per UTF-8 byte it would have become 498 underscores).
        let accented = TopicName.sanitize(String(repeating: "é", count: TopicName.maxLength))
        #expect(accented.count == TopicName.maxLength && TopicName.isValid(accented))
    }

    @Test func overLongTopicsAreRefusedNotCut() throws {
        do {
            try TopicName.validate(String(repeating: "x", count: 250), hint: "check --topic-prefix")
            Issue.record("accepted a 250-character topic")
        } catch {
            #expect("\(error)".contains("1 to 249") && "\(error)".hasSuffix("check --topic-prefix"))
        }
        var outbox = try OutboxTopicNamer(template: "{table}", prefix: nil, database: "d")
        #expect(try outbox.topic(schema: "public", table: String(repeating: "é", count: 249)).count == 249)
        #expect(throws: RuntimeError.self) { try outbox.topic(schema: "public", table: String(repeating: "é", count: 250)) }
    }
}
