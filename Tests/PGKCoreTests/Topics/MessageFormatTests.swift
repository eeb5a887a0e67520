import Testing
@testable import PGKCore

@Suite struct MessageFormatTests {
    static let message = KafkaMessage(topic: "orders", partition: 3, offset: 12_345, key: Array("k1".utf8),
                                      value: Array("{\"a\":1}".utf8),
                                      headers: [KafkaHeader(key: "h1", string: "x"), KafkaHeader(key: "h2", value: nil)],
                                      timestamp: 1_700_000_000_123)
    static let tombstone = KafkaMessage(topic: "t", partition: 0, offset: -7, key: nil, value: nil, timestamp: nil)

    func render(_ format: String, _ message: KafkaMessage = message) throws -> String {
        var out: [UInt8] = []
        try MessageFormat(format).render(message, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func everyTokenRenders() throws {
        #expect(try render("%t|%p|%o|%k|%s|%K|%S|%T|%h|%%\\n") == "orders|3|12345|k1|{\"a\":1}|2|7|1700000000123|h1=x,h2=|%\n")
    }

    @Test func nullsRenderEmptyAndLengthsMinusOne() throws {
        #expect(try render("[%k][%s][%K][%S][%T][%h][%o]", Self.tombstone) == "[][][-1][-1][-1][][-7]")
    }

    @Test func escapesAndLiteralsAreCompiledOnce() throws {
        let format = try MessageFormat("key=%k\\tvalue=%s\\r\\n\\\\ \\q")
        #expect(format.tokens == [.literal(Array("key=".utf8)), .key, .literal([0x09] + Array("value=".utf8)), .value,
                                  .literal([0x0D, 0x0A, 0x5C, 0x20, 0x5C, UInt8(ascii: "q")])])
        #expect(MessageFormat.valueLines.tokens == [.value, .literal([0x0A])])
    }

    @Test func unknownTokensAndTrailingPercentAreUsageErrors() {
        let unknown = #expect(throws: UsageError.self) { try MessageFormat("%x") }
        #expect(unknown?.message == "--format has unknown token '%x'")
        #expect(throws: UsageError.self) { try MessageFormat("abc%") }
    }

    @Test func decimalsCoverTheInt64Range() {
        for value in [Int64.min, -10, -1, 0, 9, 10, 99, 100, 1_234_567_890, Int64.max] {
            var out: [UInt8] = []
            MessageFormat.appendDecimal(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
    }
}
