#if canImport(Glibc)
import Glibc
#endif

/// JSON text ⇄ `Value`, byte-level and allocation-light, because sinks and
/// tails run it once per message.
enum JSON {
    struct ReadOptions: Sendable {
        /// Accept Python's `NaN`, `Infinity` and `-Infinity` tokens and turn
        /// them into null, as dbsink did; `ReadResult.nonFiniteCount` counts
        /// them. When false they are a syntax error.
        var nonFiniteAsNull = false
        /// Keep non-integer numbers as `.decimal(text)` so they re-render
        /// exactly as written instead of through a Double.
        var preserveNumberText = false
        var maxDepth = JSONLexer.maxDepth
        init(nonFiniteAsNull: Bool = false, preserveNumberText: Bool = false) {
            self.nonFiniteAsNull = nonFiniteAsNull
            self.preserveNumberText = preserveNumberText
        }
    }

    struct ReadResult: Sendable {
        var value: Value
        var nonFiniteCount: Int
    }

    static func decode(_ bytes: [UInt8], options: ReadOptions = ReadOptions()) throws(CodecError) -> Value {
        try read(bytes, options: options).value
    }

    static func decode(_ text: String, options: ReadOptions = ReadOptions()) throws(CodecError) -> Value {
        try read(Array(text.utf8), options: options).value
    }

    static func read(_ bytes: [UInt8], options: ReadOptions = ReadOptions()) throws(CodecError) -> ReadResult {
        try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) -> ReadResult in
            var reader = JSONReader(buffer, options: options)
            let value = try reader.readDocument()
            return ReadResult(value: value, nonFiniteCount: reader.nonFiniteCount)
        }
    }

    static func encode(_ value: Value, pretty: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        JSONWriter.write(value, into: &out, pretty: pretty)
        return String(decoding: out, as: UTF8.self)
    }

    static func encodeBytes(_ value: Value) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(value, into: &out)
        return out
    }
}

extension Value {
    /// Compact JSON text.
    var jsonText: String { JSON.encode(self) }
}

/// Builds a `Value` from the tokens `JSONLexer` finds.
struct JSONReader {
    private var lexer: JSONLexer
    private let options: JSON.ReadOptions
    /// Reused for every string that has escapes; empty between strings.
    private var unescaped = UnescapedBytes()
    /// Raw key ranges of the objects being read, innermost last.
    private var keyRanges: [Range<Int>] = []
    private(set) var nonFiniteCount = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, options: JSON.ReadOptions) {
        self.lexer = JSONLexer(bytes, maxDepth: options.maxDepth)
        self.options = options
    }

    mutating func readDocument() throws(CodecError) -> Value {
        _ = try lexer.beginDocument()
        let value = try readValue()
        try lexer.endDocument()
        return value
    }

    private mutating func readValue() throws(CodecError) -> Value {
        switch try lexer.nextValueToken() {
        case .objectStart: return try readObject()
        case .arrayStart: return try readArray()
        case .string: return .string(try readString())
        case .number: return try readNumber()
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .null: return .null
        case .nonFinite(let offset):
            guard options.nonFiniteAsNull else { throw lexer.fail("NaN and Infinity are not valid JSON", at: offset) }
            nonFiniteCount += 1
            return .null
        }
    }

    private mutating func readObject() throws(CodecError) -> Value {
        var object = ValueObject()
        if try lexer.openContainer(object: true) { return .object(object) }
        // Duplicate keys are found by comparing raw key bytes (memcmp)
        // instead of Strings, which costs far less per member; a key with
        // escapes falls back to comparing decoded Strings from then on.
        // Most objects have a few members: growing from empty would
        // reallocate both arrays several times.
        object.reserveCapacity(8)
        let base = keyRanges.count
        defer { keyRanges.removeSubrange(base...) }
        var decodedKeys = false
        repeat {
            try lexer.expectMemberName()
            let token = try lexer.lexString(into: &unescaped)
            let key = string(token)
            try lexer.expectNameSeparator()
            let value = try readValue()
            if decodedKeys || token.hasEscapes {
                decodedKeys = true
                object[key] = value
            } else if isDuplicateKey(token.content, since: base) {
                object[key] = value
            } else {
                keyRanges.append(token.content)
                object.appendUnchecked(key, value)
            }
        } while try !lexer.closeOrContinue(object: true)
        return .object(object)
    }

    private func isDuplicateKey(_ content: Range<Int>, since base: Int) -> Bool {
        guard base < keyRanges.count, let start = lexer.bytes.baseAddress else { return false }
        for index in base..<keyRanges.count {
            let seen = keyRanges[index]
            if seen.count == content.count
                && memcmp(start + seen.lowerBound, start + content.lowerBound, content.count) == 0 { return true }
        }
        return false
    }

    private mutating func readArray() throws(CodecError) -> Value {
        var items: [Value] = []
        if try lexer.openContainer(object: false) { return .array(items) }
        repeat {
            items.append(try readValue())
        } while try !lexer.closeOrContinue(object: false)
        return .array(items)
    }

    private mutating func readString() throws(CodecError) -> String {
        string(try lexer.lexString(into: &unescaped))
    }

    private mutating func string(_ token: JSONStringToken) -> String {
        // The lexer has validated the UTF-8, so decoding cannot repair anything.
        guard token.hasEscapes else {
            return String(decoding: UnsafeBufferPointer(rebasing: lexer.bytes[token.content]), as: UTF8.self)
        }
        defer { unescaped.bytes.removeAll(keepingCapacity: true) }
        return String(decoding: unescaped.bytes, as: UTF8.self)
    }

    private mutating func readNumber() throws(CodecError) -> Value {
        let number = try lexer.lexNumber()
        if number.isIntegral, let integer = int64(number) { return .int(integer) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: lexer.bytes[number.start..<number.end]), as: UTF8.self)
        if number.isIntegral || options.preserveNumberText { return .decimal(text) }
        return .double(strtod(text, nil))
    }

    /// nil when the integer does not fit an Int64.
    private func int64(_ number: JSONNumberToken) -> Int64? {
        var magnitude: UInt64 = 0
        if number.integerDigits.count <= 18 { // cannot overflow: skip the checks
            for index in number.integerDigits { magnitude = magnitude &* 10 &+ UInt64(lexer.bytes[index] &- 48) }
            return number.isNegative ? -Int64(magnitude) : Int64(magnitude)
        }
        for index in number.integerDigits {
            let (shifted, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = shifted.addingReportingOverflow(UInt64(lexer.bytes[index] - 48))
            if o1 || o2 { return nil }
            magnitude = sum
        }
        if !number.isNegative { return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil }
        return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
    }
}

enum JSONWriter {
    private static let hex = Array("0123456789abcdef".utf8)

    static func write(_ value: Value, into out: inout [UInt8], pretty: Bool = false, indent: Int = 0) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): appendInteger(i, to: &out)
        case .double(let d): appendDouble(d, to: &out)
        case .decimal(let text): out.append(contentsOf: text.utf8)
        case .string(let s): appendString(s, to: &out)
        case .bytes(let bytes):
            out.append(0x22)
            Base64.encode(bytes, into: &out)
            out.append(0x22)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out, pretty, indent + 1)
                write(item, into: &out, pretty: pretty, indent: indent + 1)
            }
            if !items.isEmpty { newline(&out, pretty, indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, item) in object {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                newline(&out, pretty, indent + 1)
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(0x20) }
                write(item, into: &out, pretty: pretty, indent: indent + 1)
            }
            if !object.isEmpty { newline(&out, pretty, indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], _ pretty: Bool, _ indent: Int) {
        guard pretty else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * 2))
    }

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value >= 0 && value < 10 { out.append(UInt8(48 + value)); return }
        out.append(contentsOf: String(value).utf8)
    }

    /// Non-finite doubles have no JSON form; they render as null.
    static func appendDouble(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite else { out.append(contentsOf: "null".utf8); return }
        if value == value.rounded(), abs(value) < 1e15 {
            out.append(contentsOf: String(Int64(value)).utf8)
            out.append(contentsOf: ".0".utf8)
            return
        }
        out.append(contentsOf: value.description.utf8)
    }

    static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(0x22)
        var string = string
        string.withUTF8 { appendEscaped($0, to: &out) }
        out.append(0x22)
    }

    /// String content (UTF-8, no quotes) with JSON's required escapes.
    static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        for i in 0..<utf8.count {
            let byte = utf8[i]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
            runStart = i + 1
            switch byte {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0x08: out.append(0x5C); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(0x5C); out.append(UInt8(ascii: "f"))
            default:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0xF)])
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }
}
