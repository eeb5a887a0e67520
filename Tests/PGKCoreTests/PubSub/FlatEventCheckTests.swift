import Testing
@testable import PGKCore

/// The byte-level shortcut must never call an event valid that the full
/// validator rejects. Checked differentially on generated events.
@Suite struct FlatEventCheckTests {
    static let schema = #"""
        {"$schema": "http://json-schema.org/draft-07/schema#", "title": "PageView", "type": "object",
         "properties": {
           "id": {"type": "integer", "minimum": 0},
           "user": {"type": "string", "minLength": 2, "maxLength": 6},
           "kind": {"enum": ["view", "click"]},
           "ms": {"type": "integer", "exclusiveMinimum": -1, "maximum": 1000},
           "score": {"type": "number"},
           "new": {"type": "boolean"},
           "ref": {"type": ["string", "null"]},
           "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
           "v": {"const": 1},
           "name": {"const": "pv"}},
         "required": ["id", "user", "kind", "v"],
         "additionalProperties": false}
        """#

    /// xorshift64*, so a failure reproduces.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    static let candidates: [String: [String]] = [
        "id": ["0", "7", "-1", "1.0", "2.5", "1e2", "\"3\"", "null", "12345678901234567890", "true"],
        "user": [#""ab""#, #""abcdef""#, #""a""#, #""abcdefg""#, #""é😀""#, #""\u00e9x""#, "3", "null", #""a\"b""#],
        "kind": [#""view""#, #""click""#, #""scroll""#, #""vi\u0065w""#, "1", "null", "[]"],
        "ms": ["0", "-1", "1000", "1001", "999.5", "-0", "\"5\"", "1e3"],
        "score": ["1.5", "-2", "0", "1e-3", "\"x\"", "null", "{}"],
        "new": ["true", "false", "0", "null"],
        "ref": ["null", #""r""#, "1", "[]", #""\n""#],
        "tags": [#"["a"]"#, #"["a","b"]"#, "[]", #"["a","b","c"]"#, "[1]", #"[["a"]]"#, #"[{"a":1}]"#, #""a""#, "[null]"],
        "v": ["1", "1.0", "2", "-1", "\"1\"", "true", "10"],
        "name": [#""pv""#, #""pw""#, #""p\u0076""#, "1", "null"],
        "extra": ["1", "{}", #"{"x":[1,{"y":null}]}"#],
    ]

    static func event(_ random: inout Generator) -> String {
        var members: [String] = []
        for name in candidates.keys.sorted() where Int.random(in: 0..<10, using: &random) < 8 {
            if name == "extra" && Int.random(in: 0..<4, using: &random) > 0 { continue }
            let options = candidates[name]!
            // Mostly valid values (the first two of each list) so valid events are common.
            let value = Int.random(in: 0..<3, using: &random) > 0 ? options[Int.random(in: 0..<min(2, options.count), using: &random)]
                : options.randomElement(using: &random)!
            members.append("\"\(name)\":\(value)")
        }
        if Int.random(in: 0..<20, using: &random) == 0, let first = members.first { members.append(first) }
        var text = "{" + members.shuffled(using: &random).joined(separator: Int.random(in: 0..<4, using: &random) == 0 ? " , " : ",") + "}"
        switch Int.random(in: 0..<40, using: &random) {
        case 0: text.removeLast()
        case 1: text = "[" + text + "]"
        case 2: text += "x"
        default: break
        }
        return text
    }

    @Test func neverCallsValidWhatTheValidatorRejects() throws {
        let document = try JSON.decode(Self.schema)
        let flat = try #require(FlatEventCheck(schema: document), "the schema has the flat shape")
        let full = try JSONSchemaStore().compile(document)
        var random = Generator(state: 0x9E37_79B9_7F4A_7C15)
        var counts: [FlatEventCheck.Outcome: Int] = [:]
        var fullValid = 0
        for _ in 0..<20_000 {
            let text = Self.event(&random)
            let bytes = Array(text.utf8)
            let outcome = bytes.withUnsafeBytes { flat.check($0) }
            counts[outcome, default: 0] += 1
            let valid = (try? JSON.decode(bytes, options: .init(preserveNumberText: true))).map(full.isValid) ?? false
            if valid { fullValid += 1 }
            switch outcome {
            case .valid: #expect(valid, "shortcut said valid: \(text)")
            case .invalid: #expect(!valid, "shortcut said invalid: \(text)")
            case .unknown: break
            }
        }
        // Both answers occur often, so the comparison means something.
        #expect(counts[.valid, default: 0] > 100, "\(counts), \(fullValid) valid")
        #expect(counts[.invalid, default: 0] > 1_000, "\(counts), \(fullValid) valid")
        #expect(fullValid >= counts[.valid, default: 0])
    }

    @Test func onlyFlatSchemasGetTheShortcut() throws {
        func flat(_ text: String) throws -> Bool { FlatEventCheck(schema: try JSON.decode(text)) != nil }
        #expect(try flat(#"{"type": "object", "properties": {"a": {"type": "string"}}}"#))
        #expect(try !flat(#"{"properties": {"a": {"type": "string"}}}"#), "without type object")
        #expect(try !flat(##"{"type": "object", "properties": {"a": {"$ref": "#/definitions/x"}}, "definitions": {"x": {}}}"##))
        #expect(try !flat(#"{"type": "object", "properties": {"a": {"type": "object"}}}"#))
        #expect(try !flat(#"{"type": "object", "properties": {"a": {"minimum": 0.5}}}"#))
        #expect(try !flat(#"{"type": "object", "properties": {"a": {"pattern": "x"}}}"#))
        #expect(try !flat(#"{"type": "object", "required": ["b"], "properties": {"a": {}}}"#))
        #expect(try !flat(#"{"$schema": "https://example.com/custom", "type": "object"}"#))
        #expect(try !flat(#"{"type": "object", "allOf": [{}]}"#))
    }
}
