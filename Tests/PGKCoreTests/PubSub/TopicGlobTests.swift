import Testing
@testable import PGKCore

/// Subscribe patterns become names or librdkafka regexes.
@Suite struct TopicGlobTests {
    @Test func plainNamesStayNamesAndGlobsBecomeAnchoredRegexes() throws {
        #expect(try TopicGlob.subscription(prefix: "p.", pattern: "orders") == "p.orders")
        #expect(try TopicGlob.subscription(prefix: "p.", pattern: "orders.*") == "^p\\.orders\\..*$")
        #expect(try TopicGlob.subscription(prefix: "", pattern: "a?[bc]") == "^a.[bc]$")
        #expect(try TopicGlob.subscription(prefix: "", pattern: "x[!0-9]") == "^x[^0-9]$")
        #expect(throws: UsageError.self) { try TopicGlob.subscription(prefix: "", pattern: "x[ab") }
    }
}
