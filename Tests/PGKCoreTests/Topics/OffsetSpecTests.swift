import Testing
@testable import PGKCore

@Suite struct OffsetSpecTests {
    @Test(arguments: [
        ("beginning", KafkaStartOffset.beginning), ("end", .end), ("stored", .stored),
        ("0", .offset(0)), ("42", .offset(42)), ("-5", .tail(5)),
        ("@1700000000123", .timestamp(1_700_000_000_123)),
        ("@1970-01-01T00:00:00Z", .timestamp(0)),
        ("@2024-02-29T12:34:56.789Z", .timestamp(1_709_210_096_789)),
        ("@2024-02-29T14:34:56.789+02:00", .timestamp(1_709_210_096_789)),
        ("@2024-02-29t12:34:56z", .timestamp(1_709_210_096_000)),
        ("@1969-12-31T23:59:59-00:30", .timestamp(1_799_000)),
    ] as [(String, KafkaStartOffset)])
    func parses(_ text: String, _ expected: KafkaStartOffset) throws {
        #expect(try OffsetSpec.parse(text) == expected)
    }

    @Test(arguments: ["", "-0", "-x", "abc", "@", "@2023-02-29T00:00:00Z", "@2024-01-01T00:00:00", "@2024-01-01",
                      "@2024-13-01T00:00:00Z", "@2024-01-01T24:00:00Z", "1.5", "@12ab", "@2024-01-01T00:00:00Zjunk"])
    func rejects(_ text: String) {
        let error = #expect(throws: UsageError.self) { try OffsetSpec.parse(text) }
        #expect(error?.message.contains("invalid offset '\(text)'") == true)
    }
}
