#if canImport(Glibc)
import Glibc
#endif

/// JSON text ⇄ `Value`, byte-level and allocation-light, because sinks and
/// tails run it once per message.
public enum JSON {
    public struct ReadOptions: Sendable {
        /// Accept Python's `NaN`, `Infinity` and `-Infinity` tokens and turn
        /// them into null, as dbsink did; `ReadResult.nonFiniteCount` counts
        /// them. When false they are a syntax error.
        public var nonFiniteAsNull = false
        /// Keep non-integer numbers as `.decimal(text)` so they re-render
        /// exactly as written instead of through a Double.
        public var preserveNumberText = false
        public var maxDepth = 512
        public init(nonFiniteAsNull: Bool = false, preserveNumberText: Bool = false) {
            self.nonFiniteAsNull = nonFiniteAsNull
            self.preserveNumberText = preserveNumberText
        }
    }

    public struct ReadResult: Sendable {
        public var value: Value
        public var nonFiniteCount: Int
    }

    public static func decode(_ bytes: [UInt8], options: ReadOptions = ReadOptions()) throws(CodecError) -> Value {
        try read(bytes, options: options).value
    }

    public static func decode(_ text: String, options: ReadOptions = ReadOptions()) throws(CodecError) -> Value {
        try read(Array(text.utf8), options: options).value
    }

    public static func read(_ bytes: [UInt8], options: ReadOptions = ReadOptions()) throws(CodecError) -> ReadResult {
        try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) -> ReadResult in
            var reader = JSONReader(buffer, options: options)
            let value = try reader.readDocument()
            return ReadResult(value: value, nonFiniteCount: reader.nonFiniteCount)
        }
    }

    public static func encode(_ value: Value, pretty: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        JSONWriter.write(value, into: &out, pretty: pretty)
        return String(decoding: out, as: UTF8.self)
    }

    public static func encodeBytes(_ value: Value) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(value, into: &out)
        return out
    }
}

public extension Value {
    /// Compact JSON text.
    var jsonText: String { JSON.encode(self) }
}

struct JSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private let options: JSON.ReadOptions
    private var depth = 0
    private(set) var nonFiniteCount = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, options: JSON.ReadOptions) {
        self.bytes = bytes
        self.options = options
    }

    mutating func readDocument() throws(CodecError) -> Value {
        // A UTF-8 byte-order mark is tolerated; Windows tools emit one.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        guard index < bytes.count else { throw fail("empty input") }
        let value = try readValue()
        skipWhitespace()
        if index < bytes.count { throw fail("unexpected data after the JSON value") }
        return value
    }

    private func fail(_ reason: String, at position: Int? = nil) -> CodecError {
        CodecError("json", reason, offset: position ?? index)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func readValue() throws(CodecError) -> Value {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject()
        case UInt8(ascii: "["): return try readArray()
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            return try readNonFinite(negative: false)
        case UInt8(ascii: "-"):
            if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "I") {
                index += 1
                return try readNonFinite(negative: true)
            }
            return try readNumber()
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default:
            throw fail("unexpected character \(describe(bytes[index]))")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(CodecError) {
        let start = index
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("truncated literal", at: start) }
        let pointer = literal.utf8Start
        for i in 0..<count where bytes[index + i] != pointer[i] {
            throw fail("invalid literal", at: start)
        }
        index += count
    }

    private mutating func readNonFinite(negative: Bool) throws(CodecError) -> Value {
        let start = index
        if bytes[index] == UInt8(ascii: "N") { try expectLiteral("NaN") } else { try expectLiteral("Infinity") }
        guard options.nonFiniteAsNull else {
            throw fail("NaN and Infinity are not valid JSON", at: negative ? start - 1 : start)
        }
        nonFiniteCount += 1
        return .null
    }

    private mutating func enter() throws(CodecError) {
        depth += 1
        if depth > options.maxDepth { throw fail("nesting deeper than \(options.maxDepth)") }
    }

    private mutating func readObject() throws(CodecError) -> Value {
        try enter()
        index += 1
        var object = ValueObject()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            guard bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try readString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
            index += 1
            skipWhitespace()
            object[key] = try readValue()
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; break }
            throw fail("expected ',' or '}' in object")
        }
        depth -= 1
        return .object(object)
    }

    private mutating func readArray() throws(CodecError) -> Value {
        try enter()
        index += 1
        var items: [Value] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try readValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; break }
            throw fail("expected ',' or ']' in array")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func readString() throws(CodecError) -> String {
        let start = index
        index += 1
        let contentStart = index
        var ascii = true
        // Fast path: no escapes; the bytes can be validated and used as is.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[contentStart..<index])
                index += 1
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw CodecError("utf-8", "invalid UTF-8 in string", offset: start)
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("unescaped control character in string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        guard index < bytes.count else { throw fail("unterminated string", at: start) }
        return try readEscapedString(start: start, contentStart: contentStart)
    }

    private mutating func readEscapedString(start: Int, contentStart: Int) throws(CodecError) -> String {
        var out = Array(bytes[contentStart..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard let text = String(validating: out, as: UTF8.self) else {
                    throw CodecError("utf-8", "invalid UTF-8 in string", offset: start)
                }
                return text
            }
            if byte < 0x20 { throw fail("unescaped control character in string") }
            if byte != UInt8(ascii: "\\") { out.append(byte); index += 1; continue }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try readHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                          bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    index += 2
                    let low = try readHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                appendUTF8(scalar, to: &out)
            default:
                throw fail("invalid escape \\\(describe(escape))", at: index - 2)
            }
        }
        throw fail("unterminated string", at: start)
    }

    private mutating func readHex4() throws(CodecError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - 55)
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    private mutating func readNumber() throws(CodecError) -> Value {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number", at: start) }
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count, isDigit(bytes[index + 1]) {
            throw fail("leading zeros are not allowed", at: start)
        }
        var magnitude: UInt64 = 0
        var overflow = false
        while index < bytes.count, isDigit(bytes[index]) {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(bytes[index] - 48))
            overflow = overflow || o1 || o2
            magnitude = m2
            index += 1
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected digits after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected digits in exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if integral && !overflow {
            if !negative, magnitude <= UInt64(Int64.max) { return .int(Int64(magnitude)) }
            if negative, magnitude <= UInt64(Int64.max) + 1 { return .int(Int64(truncatingIfNeeded: 0 &- magnitude)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral || options.preserveNumberText { return .decimal(text) }
        return .double(strtod(text, nil))
    }

    @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte &- 48 < 10 }
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
