import Testing
@testable import PGKCore

/// One test per defect the fuzzers found; the input that found it is also
/// kept in fuzz/corpus/<target>/ for FuzzCorpusTests to replay.
@Suite struct FuzzRegressionTests {
    /// msgpack: an array32 header declaring 0xDDDDDDDD elements made
    /// msgpack-c ask for ~60 GB before reading them
    /// (corpus msgpack/oom-array32-huge-count.msgpack).
    @Test func msgpackCountsBeyondTheInputAreTruncationNotAllocation() throws {
        let inputs: [[UInt8]] = [[0xDD, 0xDD, 0xDD, 0xDD, 0xDD, 0xDD, 0xDD, 0xDD, 0x12, 0, 0, 0],
                                 [0x91, 0xDF, 0x7F, 0xFF, 0xFF, 0xFF, 0xC0], [0xDC, 0xFF, 0xFF] + [UInt8](repeating: 0xC0, count: 100)]
        for bytes in inputs {
            do throws(CodecError) {
                _ = try MsgPack.decode(bytes)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.reason.hasPrefix("truncated input"), "\(error)")
                #expect(error.reason.contains("declares"), "\(error)")
            }
        }
        // As many elements as bytes left is still read normally.
        #expect(try MsgPack.decode([0x93, 0xC0, 0xC3, 0x01]) == [nil, true, 1])
    }

    /// PostgresTextArray.literal escaped per Character, and a quote followed
    /// by a combining mark is one Character, so the quote went unescaped
    /// and the literal ended early (corpus pg-array/crash-quote-then-combining-mark.txt).
    @Test func textArrayLiteralEscapesQuotesBeforeCombiningMarks() {
        let elements = ["\"\u{0711}\"", "a\\\u{0301}", "plain"]
        let literal = PostgresTextArray.literal(elements)
        #expect(literal == "{\"\\\"\u{0711}\\\"\",\"a\\\\\u{0301}\",\"plain\"}")
        #expect(PostgresTextArray.parse(literal) == elements)
    }
}
