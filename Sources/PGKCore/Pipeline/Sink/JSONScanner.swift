/// Checks a JSON document the way PostgreSQL's jsonb input will read it,
/// without building a value tree: the sink's hot path only needs to know
/// that a COPY of these bytes into a jsonb column cannot fail.
///
/// Beyond RFC 8259 syntax and UTF-8 validity it rejects what jsonb rejects
/// (`\u0000`, unpaired surrogate escapes, numbers outside `numeric`'s
/// range, nesting deep enough to exhaust the server's stack). Python's
/// `NaN`, `Infinity` and `-Infinity` are accepted and rewritten to `null`
/// (dbsink did the same), as is a leading byte-order mark dropped.
enum JSONScanner {
    /// What a successful scan found.
    struct Summary: Sendable, Equatable {
        /// NaN/Infinity tokens that `normalize` turns into null.
        var nonFiniteCount = 0
        /// True when `normalize` must run (non-finite tokens or a BOM);
        /// otherwise the input bytes are already what jsonb accepts.
        var needsRewrite = false
        /// The document's top-level value is an object.
        var isObject = false
    }

    /// Deeper documents are refused, here and by `JSON.decode` alike (see `JSONLexer.maxDepth`).
    static let maxDepth = JSONLexer.maxDepth
    /// numeric's limits: 16,383 digits after the decimal point, and a
    /// decimal weight below 131,072 (NUMERIC_DSCALE_MAX, NUMERIC_WEIGHT_MAX).
    static let maxScale = 16_383
    static let maxWeight = 131_071

    static func scan(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> Summary {
        var scanner = Scanner(bytes.bindMemory(to: UInt8.self))
        try scanner.run()
        return scanner.summary
    }

    static func scan(_ bytes: [UInt8]) throws(CodecError) -> Summary {
        let result = bytes.withUnsafeBytes { raw -> Result<Summary, CodecError> in
            do throws(CodecError) { return .success(try scan(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The byte ranges of the elements of a top-level JSON array (each
    /// checked like `scan`); throws when the document is not an array.
    static func topLevelElements(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> [Range<Int>] {
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
    static func appendNormalized(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let input = bytes.bindMemory(to: UInt8.self)
        var index = JSONLexer.byteOrderMarkLength(input)
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
    var lexer: JSONLexer
    var summary = JSONScanner.Summary()
    /// One entry per open container: true for an object.
    var stack: [Bool] = []
    /// When set, collects the ranges of the top-level array's elements.
    var elements: [Range<Int>]?
    var elementStart = 0
    var topLevelIsArray = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) { lexer = JSONLexer(bytes) }

    mutating func run() throws(CodecError) {
        if try lexer.beginDocument() { summary.needsRewrite = true }
        summary.isObject = lexer.next(is: UInt8(ascii: "{"))
        topLevelIsArray = lexer.next(is: UInt8(ascii: "["))
        var expectingValue = true
        while true {
            if expectingValue {
                let element = elements != nil && stack.count == 1
                if element {
                    lexer.skipWhitespace()
                    elementStart = lexer.index
                }
                expectingValue = try value()
                if element && !expectingValue && stack.count == 1 { elements!.append(elementStart..<lexer.index) }
                continue
            }
            // After a complete value: close containers or go to the next element.
            guard let isObject = stack.last else { break }
            if try lexer.closeOrContinue(object: isObject) {
                stack.removeLast()
                if elements != nil && stack.count == 1 { elements!.append(elementStart..<lexer.index) }
            } else {
                if isObject { try memberName() }
                expectingValue = true
            }
        }
        try lexer.endDocument()
    }

    /// Reads one value, or opens a container. Returns true when a value is
    /// still expected (a container was opened and is not empty).
    mutating func value() throws(CodecError) -> Bool {
        switch try lexer.nextValueToken() {
        case .objectStart:
            if try lexer.openContainer(object: true) { return false }
            stack.append(true)
            try memberName()
            return true
        case .arrayStart:
            if try lexer.openContainer(object: false) { return false }
            stack.append(false)
            return true
        case .string: try string()
        case .number: try number()
        case .true, .false, .null: break
        case .nonFinite:
            summary.nonFiniteCount += 1
            summary.needsRewrite = true
        }
        return false
    }

    /// `"name" :` inside an object.
    mutating func memberName() throws(CodecError) {
        try lexer.expectMemberName()
        try string()
        try lexer.expectNameSeparator()
    }

    mutating func string() throws(CodecError) {
        var rules = JsonbStringRules()
        _ = try lexer.lexString(into: &rules)
    }

    /// The number's syntax, then numeric's range as jsonb stores it: the
    /// display scale (fraction digits minus exponent) and the weight
    /// (position of the leading digit) must fit.
    mutating func number() throws(CodecError) {
        let number = try lexer.lexNumber()
        let scale = number.fractionDigits.count - number.exponent
        if scale > JSONScanner.maxScale {
            throw lexer.fail("number has more than \(JSONScanner.maxScale) digits after the decimal point, beyond jsonb's numeric",
                             at: number.start)
        }
        guard let leadingDigitPosition = leadingDigitPosition(number) else { return } // zero has no weight
        if leadingDigitPosition + number.exponent > JSONScanner.maxWeight {
            throw lexer.fail("number is too large for jsonb's numeric", at: number.start)
        }
    }

    /// The power of ten of the first non-zero digit, before the exponent;
    /// nil when every digit is zero.
    func leadingDigitPosition(_ number: JSONNumberToken) -> Int? {
        // Without leading zeros, only a lone "0" integer part can be zero.
        if lexer.bytes[number.integerDigits.lowerBound] != UInt8(ascii: "0") { return number.integerDigits.count - 1 }
        for index in number.fractionDigits where lexer.bytes[index] != UInt8(ascii: "0") {
            return -(index - number.fractionDigits.lowerBound + 1)
        }
        return nil
    }
}

/// jsonb has no place for U+0000 (its text is C strings), escaped or not.
private struct JsonbStringRules: JSONStringContent {
    func appendRaw(_ run: UnsafeBufferPointer<UInt8>) {}

    func appendEscaped(_ scalar: UInt32, at offset: Int) throws(CodecError) {
        if scalar == 0 { throw CodecError("json", "\\u0000 cannot be stored in jsonb", offset: offset) }
    }
}

/// Whether bytes can be stored in a PostgreSQL text column: valid UTF-8
/// and no NUL byte.
enum TextCheck {
    /// nil when fine, otherwise why not (with the byte offset).
    static func problem(_ bytes: UnsafeRawBufferPointer) -> CodecError? {
        let input = bytes.bindMemory(to: UInt8.self)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == 0 { return CodecError("text", "contains a NUL byte, which PostgreSQL text cannot hold", offset: index) }
            if byte < 0x80 { index += 1; continue }
            do throws(CodecError) {
                index += try UTF8Validation.sequenceLength(input, at: index)
            } catch {
                return error
            }
        }
        return nil
    }
}
