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

    /// Yams composes nodes recursively: 20,000 nested flow sequences (40 KB)
    /// or block sequences on one line overflowed the stack in MapFile.parse
    /// (corpus sink-map/crash-deep-flow-nesting.yaml, a shallower copy).
    @Test(arguments: [
        "columns: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000),
        "columns:\n  " + String(repeating: "- ", count: 20_000) + "x",
        "a: " + String(repeating: "{b: ", count: 101) + "c" + String(repeating: "}", count: 101),
    ])
    func sinkMapRefusesDeepNestingBeforeYams(text: String) {
        do {
            _ = try MapFile.parse(text, path: "deep.yaml", name: "deep")
            Issue.record("accepted a map nested deeper than \(YAMLNesting.maxDepth) levels")
        } catch let error as MapFileError {
            #expect(error.message == "nested deeper than 100 levels", "\(error)")
            #expect(error.line != nil && error.column != nil, "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func sinkMapNestingUpToTheLimitStillReachesTheMapChecks() {
        let text = "a: " + String(repeating: "[", count: 99) + String(repeating: "]", count: 99)
        #expect(YAMLNesting.tooDeep(text) == nil)
        #expect(YAMLNesting.tooDeep("a: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) != nil)
    }

    /// The "did you mean" for an unknown short option built a Character
    /// from the letter's other case, which traps when that is two letters:
    /// `pgk -ß` ("SS") crashed (corpus cli/crash-short-option-eszett.args).
    @Test func unknownShortOptionWhoseOtherCaseIsLongerIsAUsageError() {
        let parser = ArgumentParser(root: CommandTable.root)
        for arguments in [["-ß"], ["topics", "list", "-ŉ"], ["-V"]] {
            do {
                _ = try parser.parse(arguments, stop: StopToken())
                Issue.record("accepted \(arguments)")
            } catch {
                #expect(error.description.contains("unknown option '\(arguments.last!)'"), "\(error)")
            }
        }
    }

    /// A counter from the environment was stored as that many entries:
    /// PGK_VERBOSE=99999999999 asked for 1.6 TB and crashed
    /// (corpus cli/crash-huge-verbose-from-environment.args).
    @Test func counterFromTheEnvironmentIsCapped() throws {
        let parser = ArgumentParser(root: CommandTable.root)
        for (text, verbosity) in [("99999999999", 100), (String(Int.max), 100), ("2", 2), ("0", 0)] {
            guard case .run(let invocation) = try parser.parse(["topics", "list"], environment: ["PGK_VERBOSE": text],
                                                                stop: StopToken()) else {
                Issue.record("not a run outcome")
                continue
            }
            #expect(invocation.globals.verbosity == verbosity)
        }
    }

    /// Durations were converted with Int64(Double), which traps past
    /// Int64.max: `pgk subscribe --timeout 1e300s` crashed
    /// (corpus cli/crash-duration-past-int64.args).
    @Test func durationsPastInt64AreInvalidValues() throws {
        #expect(DurationText.milliseconds("1e300s", bareUnitMilliseconds: 1) == nil)
        #expect(DurationText.milliseconds("1e16", bareUnitMilliseconds: 1_000) == nil)
        #expect(DurationText.milliseconds("9e15", bareUnitMilliseconds: 1) == 9_000_000_000_000_000)
        #expect(DurationText.milliseconds("1.5s", bareUnitMilliseconds: 1) == 1500)
        let parser = ArgumentParser(root: CommandTable.root)
        do {
            _ = try parser.parse(["subscribe", "--timeout", "1e300", "topic"], stop: StopToken())
            Issue.record("accepted --timeout 1e300")
        } catch {
            #expect(error.description.contains("invalid value '1e300' for --timeout"), "\(error)")
        }
    }
}
