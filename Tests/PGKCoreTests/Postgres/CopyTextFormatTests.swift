import Testing
@testable import PGKCore

@Suite struct CopyTextFormatTests {
    private func encoded(_ rows: [[String?]]) -> [UInt8] {
        var encoder = CopyTextEncoder()
        for row in rows { encoder.appendRow(row) }
        return encoder.buffer
    }

    @Test func encodesSeparatorsAndNull() {
        #expect(encoded([["a", nil, ""], ["b"]]) == Array("a\t\\N\t\nb\n".utf8))
    }

    @Test func escapesEverySpecialByte() {
        let input = "\\ \t \n \r \u{08} \u{0C} \u{0B} \\N end"
        let expected = #"\\ \t \n \r \b \f \v \\N end"# + "\n"
        #expect(encoded([[input]]) == Array(expected.utf8))
    }

    @Test func leavesOtherBytesAlone() {
        let input = "héllo 😀 \u{01}\u{07}\u{0E}\u{1F}\u{7F} \"quotes\" 'single' ,;|"
        #expect(encoded([[input]]) == Array(input.utf8) + [10])
    }

    @Test func appendsEncodedFieldsAsTheyAre() {
        var part = CopyTextEncoder()
        part.append(field: "a\tb")
        part.append(field: nil)
        var row = CopyTextEncoder()
        row.append(encodedFields: part.buffer)
        row.append(field: "7")
        row.endRow()
        #expect(row.buffer == Array("a\\tb\t\\N\t7\n".utf8))
        #expect(row.buffer == encoded([["a\tb", nil, "7"]]))
    }

    @Test func encodesRawBytesAndCountsRows() {
        var encoder = CopyTextEncoder()
        encoder.append(field: Array("x\ty".utf8))
        Array("{\"k\":\"a\\nb\"}".utf8).withUnsafeBufferPointer { encoder.append(field: $0) }
        encoder.endRow()
        encoder.appendNull()
        encoder.endRow()
        #expect(encoder.buffer == Array("x\\ty\t{\"k\":\"a\\\\nb\"}\n\\N\n".utf8))
        #expect(encoder.rowCount == 2)
        encoder.removeAll()
        #expect(encoder.byteCount == 0)
        #expect(encoder.rowCount == 0)
        encoder.appendRow(["z"])
        #expect(encoder.buffer == Array("z\n".utf8))
    }

    @Test func encodesLongStringsInRuns() {
        // Many escapes between plain runs.
        let long = String(repeating: "ab\tc", count: 10_000)
        let bytes = encoded([[long]])
        #expect(bytes.count == 10_000 * 5 + 1)
        #expect(bytes.prefix(5) == ArraySlice(Array("ab\\tc".utf8)))
    }

    static let nastyRows: [[String?]] = [
        ["plain", nil, ""],
        ["\\N", "\\", "\\\\N"],
        ["tab\there", "new\nline", "cr\rlf\r\n"],
        ["😀 ünïcödé 中文", "\u{08}\u{0B}\u{0C}", " leading and trailing "],
        [nil, nil, nil],
        ["", "", ""],
    ]

    @Test func decoderInvertsEncoder() throws {
        for row in Self.nastyRows {
            var encoder = CopyTextEncoder()
            encoder.appendRow(row)
            #expect(try CopyTextDecoder.decodeRow(encoder.buffer) == row)
        }
    }

    @Test func decoderAcceptsServerOnlyEscapes() throws {
        // Octal and hex escapes, and unknown escapes standing for themselves.
        let line = Array(#"\101\x42\x4a\7\q\N"#.utf8) + [9] + Array(#"\N"#.utf8) + [10]
        #expect(try CopyTextDecoder.decodeRow(line) == ["ABJ\u{07}qN", nil])
    }

    @Test func decoderWorksWithoutTrailingNewline() throws {
        #expect(try CopyTextDecoder.decodeRow(Array("a\tb".utf8)) == ["a", "b"])
        #expect(try CopyTextDecoder.decodeRow(Array("\n".utf8)) == [""])
        #expect(try CopyTextDecoder.decodeRow(Array("\t\n".utf8)) == ["", ""])
    }

    @Test func decoderRejectsDanglingBackslashAndBadUTF8() {
        #expect(throws: CodecError.self) { try CopyTextDecoder.decodeRow(Array("abc\\".utf8)) }
        #expect(throws: CodecError.self) { try CopyTextDecoder.decodeRow(Array(#"\303"#.utf8)) }
        #expect(throws: CodecError.self) { try CopyTextDecoder.decodeRow([0xFF, 10]) }
        #expect((try? CopyTextDecoder.decodeFields(Array(#"\303"#.utf8))) == [[0xC3]])
    }

    @Test func writesWholeNumbersWithoutAString() {
        var encoder = CopyTextEncoder()
        for value in [0, 7, -1, 1_234_567_890, Int64.max, Int64.min] { encoder.append(integer: value) }
        encoder.endRow()
        #expect(String(decoding: encoder.buffer, as: UTF8.self)
                == "0\t7\t-1\t1234567890\t9223372036854775807\t-9223372036854775808\n")
    }
}
