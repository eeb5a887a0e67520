import Testing
@testable import PGKCore

/// The tokenizer under both `JSON.decode` and `JSONScanner`: whatever it
/// decides, both must decide the same way.
@Suite struct JSONLexerTests {
    /// The decoded content of the string literal `text`, or the lexer's error.
    static func lexString(_ text: [UInt8]) -> Result<[UInt8], CodecError> {
        text.withUnsafeBufferPointer { buffer in
            var lexer = JSONLexer(buffer)
            var content = UnescapedBytes()
            do throws(CodecError) {
                let token = try lexer.lexString(into: &content)
                return .success(token.hasEscapes ? content.bytes : Array(buffer[token.content]))
            } catch {
                return .failure(error)
            }
        }
    }

    static func lexNumber(_ text: String) -> Result<JSONNumberToken, CodecError> {
        Array(text.utf8).withUnsafeBufferPointer { buffer in
            var lexer = JSONLexer(buffer)
            do throws(CodecError) { return .success(try lexer.lexNumber()) } catch { return .failure(error) }
        }
    }

    /// Both public front ends' verdicts on one document (the reader with NaN/Infinity allowed, as the sink reads keys).
    static func verdicts(_ bytes: [UInt8]) -> (reader: CodecError?, scanner: CodecError?) {
        var reader: CodecError?
        do { _ = try JSON.read(bytes, options: .init(nonFiniteAsNull: true)) } catch { reader = error }
        var scanner: CodecError?
        do { _ = try JSONScanner.scan(bytes) } catch { scanner = error }
        return (reader, scanner)
    }

    @Test func decodesEveryEscape() throws {
        let decoded = try Self.lexString(Array(#""a\"\\\/\b\f\n\r\tz\u0041\u00e9\u20AC""#.utf8)).get()
        #expect(String(decoding: decoded, as: UTF8.self) == "a\"\\/\u{8}\u{C}\n\r\tzAé€")
        #expect(try Self.lexString(Array(#""plain é""#.utf8)).get() == Array("plain é".utf8))
        for bad in [#""\x""#, #""\u12""#, #""\u12G4""#, "\"\\", "\"abc", "\"a\u{1}\""] {
            #expect(throws: CodecError.self, "\(bad)") { try Self.lexString(Array(bad.utf8)).get() }
        }
    }

    @Test func joinsSurrogatePairsAndRefusesLoneOnes() throws {
        #expect(try Self.lexString(Array(#""\ud83d\ude00""#.utf8)).get() == Array("😀".utf8))
        #expect(try Self.lexString(Array(#""\uDBFF\uDFFF""#.utf8)).get() == [0xF4, 0x8F, 0xBF, 0xBF])
        let lone: [(String, String)] = [
            (#""\ud800""#, "unpaired high surrogate"), (#""\ud800x""#, "unpaired high surrogate"),
            (#""\udc00""#, "unpaired low surrogate"), (#""\ud800\u0041""#, "invalid low surrogate"),
            (#""\ud800\ud800""#, "invalid low surrogate"),
        ]
        for (text, reason) in lone {
            let error = Self.lexString(Array(text.utf8)).failure
            #expect(error?.reason == reason + " in \\u escape", "\(text)")
            #expect(error?.offset == 1, "the offset is the escape's backslash: \(text)")
            let both = Self.verdicts(Array(text.utf8))
            #expect(both.reader == error && both.scanner == error, "\(text)")
        }
    }

    @Test(arguments: [
        [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xF0, 0x80, 0x80, 0x80], // overlong
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], // encoded surrogates
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], // past U+10FFFF, never a lead byte
        [0x80], [0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x9F, 0x98], // stray continuation, bad or missing continuations
    ] as [[UInt8]])
    func refusesInvalidUTF8Alike(_ sequence: [UInt8]) {
        let document = [0x22, 0x61] + sequence + [0x22]
        let error = Self.lexString(document).failure
        #expect(error?.format == "utf-8")
        #expect(error?.offset == 2, "the offset is the bad sequence's first byte")
        let both = Self.verdicts(document)
        #expect(both.reader == error && both.scanner == error)
        #expect((sequence + [0x61]).withUnsafeBytes { TextCheck.problem($0) }?.format == "utf-8")
    }

    @Test func acceptsTheLongestValidSequences() throws {
        for sequence: [UInt8] in [[0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
                                  [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF]] {
            #expect(try Self.lexString([0x22] + sequence + [0x22]).get() == sequence)
            #expect(sequence.withUnsafeBytes { TextCheck.problem($0) } == nil)
        }
    }

    @Test func oneDepthLimitForReaderAndScanner() throws {
        #expect(JSON.ReadOptions().maxDepth == JSONLexer.maxDepth)
        #expect(JSONScanner.maxDepth == JSONLexer.maxDepth)
        let limit = JSONLexer.maxDepth
        for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
            let fine = String(repeating: open, count: limit) + "1" + String(repeating: close, count: limit)
            let both = Self.verdicts(Array(fine.utf8))
            #expect(both.reader == nil && both.scanner == nil, "\(limit) levels of \(open)")
            let deep = String(repeating: open, count: limit + 1) + "1" + String(repeating: close, count: limit + 1)
            let refused = Self.verdicts(Array(deep.utf8))
            #expect(refused.reader != nil && refused.reader == refused.scanner, "\(limit + 1) levels of \(open)")
            #expect(refused.reader?.reason == "nesting deeper than \(limit) levels")
        }
        // An empty container at the limit counts as a level too.
        let emptyAtLimit = String(repeating: "[", count: limit) + "[]" + String(repeating: "]", count: limit)
        #expect(Self.verdicts(Array(emptyAtLimit.utf8)).scanner != nil)
    }

    @Test func splitsNumbersIntoTheirParts() throws {
        let number = try Self.lexNumber("-12.500e-3,").get()
        #expect(number.start == 0 && number.end == 10)
        #expect(number.integerDigits == 1..<3 && number.fractionDigits == 4..<7)
        #expect(number.hasExponent && number.exponent == -3 && number.isNegative && !number.isIntegral)
        let integer = try Self.lexNumber("0]").get()
        #expect(integer.isIntegral && !integer.isNegative && integer.end == 1)
        #expect(try Self.lexNumber("1E+2").get().exponent == 2)
        #expect(try Self.lexNumber("1e99999999999999").get().exponent > 10_000_000, "huge exponents saturate")
        let bad: [(String, String, Int)] = [
            ("-", "invalid number", 0), ("-a", "invalid number", 0), ("01", "leading zeros are not allowed", 0),
            ("-00", "leading zeros are not allowed", 0), ("1.", "expected digits after '.'", 2),
            ("1.e5", "expected digits after '.'", 2), ("1e", "expected digits in exponent", 2), ("1e+", "expected digits in exponent", 3),
        ]
        for (text, reason, offset) in bad {
            let error = Self.lexNumber(text).failure
            #expect(error?.reason == reason && error?.offset == offset, "\(text): \(String(describing: error))")
        }
    }

    @Test func readerKeepsIntegersThatFitAnInt64() throws {
        #expect(try JSON.decode("9223372036854775807") == .int(.max))
        #expect(try JSON.decode("-9223372036854775808") == .int(.min))
        #expect(try JSON.decode("9223372036854775808") == .decimal("9223372036854775808"))
        #expect(try JSON.decode("-9223372036854775809") == .decimal("-9223372036854775809"))
        #expect(try JSON.decode("99999999999999999999") == .decimal("99999999999999999999"))
        #expect(try JSON.decode("-0") == .int(0))
        #expect(try JSON.decode("1e2") == .double(100))
    }

    @Test func literalsAndNonFiniteTokens() {
        for text in ["nul", "tru", "falsy", "NaNa", "Inf", "-Inf", "nan"] {
            let both = Self.verdicts(Array(text.utf8))
            #expect(both.reader != nil && both.reader == both.scanner, "\(text)")
        }
        do {
            _ = try JSON.decode("[1,-Infinity]")
            Issue.record("accepted -Infinity without nonFiniteAsNull")
        } catch {
            #expect(error.offset == 3, "the offset is the sign")
        }
    }

    /// Outside jsonb's own rules (no \u0000, numeric's range) the reader and
    /// the scanner accept the same documents and fail at the same byte.
    @Test func readerAndScannerAgreeOnSyntax() {
        var generator = SplitMix64(seed: 5)
        let atoms = ["1", "-2.5e3", "\"s\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "null", "true", "NaN", "-Infinity",
                     "[", "]", "{", "}", ",", ":", "\"k\"", "-", "e", "0", "\\", "\"", " ", "\u{FEFF}", "é"]
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 1...8, using: &generator)).map { _ in atoms.randomElement(using: &generator)! }.joined()
            let both = Self.verdicts(Array(text.utf8))
            #expect(both.reader == both.scanner, "\(text)")
        }
    }
}

private extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
