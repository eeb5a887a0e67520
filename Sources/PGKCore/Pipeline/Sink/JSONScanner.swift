/// Checks a JSON document the way PostgreSQL's jsonb input will read it,
/// without building a value tree: the sink's hot path only needs to know
/// that a COPY of these bytes into a jsonb column cannot fail.
///
/// Beyond RFC 8259 syntax and UTF-8 validity it rejects what jsonb rejects
/// (`\u0000`, unpaired surrogate escapes, numbers outside `numeric`'s
/// range, nesting deep enough to exhaust the server's stack). Python's
/// `NaN`, `Infinity` and `-Infinity` are accepted and rewritten to `null`
/// (dbsink did the same), as is a leading byte-order mark dropped.
public enum JSONScanner {
    /// What a successful scan found.
    public struct Summary: Sendable, Equatable {
        /// NaN/Infinity tokens that `normalize` turns into null.
        public var nonFiniteCount = 0
        /// True when `normalize` must run (non-finite tokens or a BOM);
        /// otherwise the input bytes are already what jsonb accepts.
        public var needsRewrite = false
        /// The document's top-level value is an object.
        public var isObject = false
    }

    /// Deeper documents are refused: PostgreSQL's recursive JSON parser
    /// fails with "stack depth limit exceeded" somewhere past 5,000 levels.
    public static let maxDepth = 2_000
    /// numeric's limits: 16,383 digits after the decimal point, and a
    /// decimal weight below 131,072 (NUMERIC_DSCALE_MAX, NUMERIC_WEIGHT_MAX).
    static let maxScale = 16_383
    static let maxWeight = 131_071

    public static func scan(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> Summary {
        var scanner = Scanner(bytes.bindMemory(to: UInt8.self))
        try scanner.run()
        return scanner.summary
    }

    public static func scan(_ bytes: [UInt8]) throws(CodecError) -> Summary {
        let result = bytes.withUnsafeBytes { raw -> Result<Summary, CodecError> in
            do throws(CodecError) { return .success(try scan(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The byte ranges of the elements of a top-level JSON array (each
    /// checked like `scan`); throws when the document is not an array.
    public static func topLevelElements(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> [Range<Int>] {
        var scanner = Scanner(bytes.bindMemory(to: UInt8.self))
        scanner.elements = []
        try scanner.run()
        guard let elements = scanner.elements, scanner.topLevelIsArray else {
            throw CodecError("json", "expected a JSON array", offset: 0)
        }
        return elements
    }

    /// Appends the jsonb-ready form of an already scanned document: the
    /// BOM dropped and every NaN/Infinity token replaced by `null`.
    public static func appendNormalized(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let input = bytes.bindMemory(to: UInt8.self)
        var index = 0
        if input.count >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF { index = 3 }
        var runStart = index
        var inString = false
        while index < input.count {
            let byte = input[index]
            if inString {
                if byte == 0x5C { index += 2; continue }
                if byte == 0x22 { inString = false }
                index += 1
                continue
            }
            switch byte {
            case 0x22:
                inString = true
                index += 1
            case UInt8(ascii: "N"), UInt8(ascii: "I"), UInt8(ascii: "-"):
                let negative = byte == UInt8(ascii: "-")
                let wordStart = negative ? index + 1 : index
                guard wordStart < input.count, input[wordStart] == UInt8(ascii: "N") || input[wordStart] == UInt8(ascii: "I") else {
                    index += 1
                    continue
                }
                let length = input[wordStart] == UInt8(ascii: "N") ? 3 : 8
                out.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<index]))
                out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) // null
                index = wordStart + length
                runStart = index
            default:
                index += 1
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<input.count]))
    }
}

private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var summary = JSONScanner.Summary()
    /// One entry per open container: true for an object.
    var stack: [Bool] = []
    /// When set, collects the ranges of the top-level array's elements.
    var elements: [Range<Int>]?
    var elementStart = 0
    var topLevelIsArray = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func fail(_ reason: String, at position: Int? = nil) -> CodecError {
        CodecError("json", reason, offset: position ?? index)
    }

    mutating func run() throws(CodecError) {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            index = 3
            summary.needsRewrite = true
        }
        skipWhitespace()
        guard index < bytes.count else { throw fail("empty input") }
        summary.isObject = bytes[index] == UInt8(ascii: "{")
        topLevelIsArray = bytes[index] == UInt8(ascii: "[")
        var expectingValue = true
        while true {
            if expectingValue {
                let element = elements != nil && stack.count == 1
                if element {
                    skipWhitespace()
                    elementStart = index
                }
                expectingValue = try value()
                if element && !expectingValue && stack.count == 1 { elements!.append(elementStart..<index) }
                continue
            }
            // After a complete value: close containers or go to the next element.
            skipWhitespace()
            guard let isObject = stack.last else { break }
            guard index < bytes.count else { throw fail(isObject ? "unterminated object" : "unterminated array") }
            let byte = bytes[index]
            if byte == UInt8(ascii: ",") {
                index += 1
                if isObject { try memberName() }
                expectingValue = true
            } else if byte == UInt8(ascii: isObject ? "}" : "]") {
                index += 1
                stack.removeLast()
                if elements != nil && stack.count == 1 { elements!.append(elementStart..<index) }
            } else {
                throw fail(isObject ? "expected ',' or '}' in object" : "expected ',' or ']' in array")
            }
        }
        if index < bytes.count { throw fail("unexpected data after the JSON value") }
    }

    /// Reads one value, or opens a container. Returns true when a value is
    /// still expected (a container was opened and is not empty).
    mutating func value() throws(CodecError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: "{"):
            try open(object: true)
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                stack.removeLast()
                return false
            }
            try memberName()
            return true
        case UInt8(ascii: "["):
            try open(object: false)
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                stack.removeLast()
                return false
            }
            return true
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "N"): try nonFinite("NaN", start: index)
        case UInt8(ascii: "I"): try nonFinite("Infinity", start: index)
        case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "I"):
            index += 1
            try nonFinite("Infinity", start: index - 1)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default:
            throw fail("unexpected character \(Self.describe(byte))")
        }
        return false
    }

    mutating func open(object: Bool) throws(CodecError) {
        guard stack.count < JSONScanner.maxDepth else {
            throw fail("nesting deeper than \(JSONScanner.maxDepth) levels")
        }
        stack.append(object)
        index += 1
    }

    /// `"name" :` inside an object.
    mutating func memberName() throws(CodecError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        try string()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
        index += 1
    }

    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func literal(_ word: StaticString) throws(CodecError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("truncated literal") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    mutating func nonFinite(_ word: StaticString, start: Int) throws(CodecError) {
        try literal(word)
        summary.nonFiniteCount += 1
        summary.needsRewrite = true
    }

    mutating func string() throws(CodecError) {
        let start = index
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x80 && byte != 0x22 && byte != 0x5C {
                index += 1
                continue
            }
            switch byte {
            case 0x22:
                index += 1
                return
            case 0x5C:
                try escape()
            case 0x80...:
                try multibyte()
            default:
                throw fail("unescaped control character in string")
            }
        }
        throw fail("unterminated string", at: start)
    }

    mutating func escape() throws(CodecError) {
        let start = index
        index += 1
        guard index < bytes.count else { throw fail("unterminated string") }
        switch bytes[index] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            index += 1
            let unit = try hex4()
            if unit == 0 {
                throw fail("\\u0000 cannot be stored in jsonb", at: start)
            }
            if (0xDC00..<0xE000).contains(unit) { throw fail("unpaired low surrogate in \\u escape", at: start) }
            if (0xD800..<0xDC00).contains(unit) {
                guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail("unpaired high surrogate in \\u escape", at: start)
                }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid low surrogate in \\u escape", at: start) }
            }
        default:
            throw fail("invalid escape \\\(Self.describe(bytes[index]))", at: start)
        }
    }

    mutating func hex4() throws(CodecError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 55)
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// One UTF-8 sequence of 2–4 bytes: no overlong forms, no surrogates,
    /// nothing past U+10FFFF.
    mutating func multibyte() throws(CodecError) {
        let start = index
        let lead = bytes[index]
        let length: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw CodecError("utf-8", "invalid UTF-8 lead byte \(Self.describe(lead))", offset: start)
        }
        guard index + length <= bytes.count else { throw CodecError("utf-8", "truncated UTF-8 sequence", offset: start) }
        let second = bytes[index + 1]
        guard second >= lower && second <= upper else {
            throw CodecError("utf-8", "invalid UTF-8 sequence", offset: start)
        }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            throw CodecError("utf-8", "invalid UTF-8 sequence", offset: start)
        }
        index += length
    }

    /// RFC 8259 number syntax, then numeric's range as jsonb stores it:
    /// the display scale (fraction digits minus exponent) and the weight
    /// (position of the leading digit) must fit.
    mutating func number() throws(CodecError) {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number", at: start) }
        var integerDigits = 0
        var significantInteger = 0
        var sawNonZero = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw fail("leading zeros are not allowed", at: start) }
            integerDigits = 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                index += 1
                integerDigits += 1
            }
            significantInteger = integerDigits
            sawNonZero = true
        }
        var fractionDigits = 0
        var leadingFractionZeros = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected digits after '.'") }
            while index < bytes.count, isDigit(bytes[index]) {
                if !sawNonZero {
                    if bytes[index] == UInt8(ascii: "0") { leadingFractionZeros += 1 } else { sawNonZero = true }
                }
                index += 1
                fractionDigits += 1
            }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var negative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected digits in exponent") }
            while index < bytes.count, isDigit(bytes[index]) {
                // Saturate: anything this large is out of range anyway.
                if exponent < 10_000_000 { exponent = exponent * 10 + Int(bytes[index] - 48) }
                index += 1
            }
            if negative { exponent = -exponent }
        }
        let scale = fractionDigits - exponent
        if scale > JSONScanner.maxScale {
            throw fail("number has more than \(JSONScanner.maxScale) digits after the decimal point, beyond jsonb's numeric", at: start)
        }
        if sawNonZero {
            let weight = (significantInteger > 0 ? significantInteger - 1 : -(leadingFractionZeros + 1)) + exponent
            if weight > JSONScanner.maxWeight {
                throw fail("number is too large for jsonb's numeric", at: start)
            }
        }
        _ = integerDigits
    }

    @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte &- 48 < 10 }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16, uppercase: true)
    }
}

/// Whether bytes can be stored in a PostgreSQL text column: valid UTF-8
/// and no NUL byte.
public enum TextCheck {
    /// nil when fine, otherwise why not (with the byte offset).
    public static func problem(_ bytes: UnsafeRawBufferPointer) -> CodecError? {
        let input = bytes.bindMemory(to: UInt8.self)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == 0 { return CodecError("text", "contains a NUL byte, which PostgreSQL text cannot hold", offset: index) }
            if byte < 0x80 { index += 1; continue }
            let length: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
            switch byte {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return CodecError("utf-8", "invalid UTF-8 lead byte", offset: index)
            }
            guard index + length <= input.count, input[index + 1] >= lower, input[index + 1] <= upper else {
                return CodecError("utf-8", "invalid UTF-8 sequence", offset: index)
            }
            for offset in 2..<length where input[index + offset] & 0xC0 != 0x80 {
                return CodecError("utf-8", "invalid UTF-8 sequence", offset: index)
            }
            index += length
        }
        return nil
    }
}
