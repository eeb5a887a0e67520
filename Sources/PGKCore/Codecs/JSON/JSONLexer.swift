/// The byte-level JSON tokenizer under both `JSONReader` (which builds
/// `Value`s) and the sink's `JSONScanner` (which only validates), so the
/// two accept exactly the same syntax, escapes, UTF-8 and nesting depth.
/// It never allocates: callers decide what a token becomes.
struct JSONLexer {
    /// The one nesting limit for JSON. PostgreSQL's jsonb parser runs out
    /// of stack ("stack depth limit exceeded") somewhere past 5,000 levels;
    /// 2,000 stays clear of that and of our own recursive reader's stack.
    static let maxDepth = 2_000

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// Containers open at `index`.
    private(set) var depth = 0
    let maxDepth: Int

    init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = JSONLexer.maxDepth) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// What a value starts with. Literals and the non-finite tokens are
    /// consumed whole; the others are left at their first byte.
    enum ValueToken {
        case objectStart, arrayStart, string, number
        case `true`, `false`, null
        /// Python's `NaN`, `Infinity` or `-Infinity`, starting at `offset`.
        case nonFinite(offset: Int)
    }

    func fail(_ reason: String, at position: Int? = nil) -> CodecError {
        CodecError("json", reason, offset: position ?? index)
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16, uppercase: true)
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 48 < 10 }

    @inline(__always) func next(is byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    // MARK: document

    /// 3 when `bytes` start with a UTF-8 byte-order mark (Windows tools write one), else 0.
    static func byteOrderMarkLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
    }

    /// Skips a byte-order mark and leading whitespace; true when there was a mark.
    mutating func beginDocument() throws(CodecError) -> Bool {
        let markLength = Self.byteOrderMarkLength(bytes)
        index = markLength
        skipWhitespace()
        guard index < bytes.count else { throw fail("empty input") }
        return markLength > 0
    }

    mutating func endDocument() throws(CodecError) {
        skipWhitespace()
        if index < bytes.count { throw fail("unexpected data after the JSON value") }
    }

    @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    // MARK: values

    @inline(__always) mutating func nextValueToken() throws(CodecError) -> ValueToken {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        let byte = bytes[index]
        switch byte {
        case UInt8(ascii: "{"): return .objectStart
        case UInt8(ascii: "["): return .arrayStart
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "-"):
            guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "I") else { return .number }
            index += 1
            try expectLiteral("Infinity")
            return .nonFinite(offset: index - 9)
        case UInt8(ascii: "t"): try expectLiteral("true"); return .true
        case UInt8(ascii: "f"): try expectLiteral("false"); return .false
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "N"): try expectLiteral("NaN"); return .nonFinite(offset: index - 3)
        case UInt8(ascii: "I"): try expectLiteral("Infinity"); return .nonFinite(offset: index - 8)
        default: throw fail("unexpected character \(Self.describe(byte))")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws(CodecError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("truncated literal") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    // MARK: containers

    /// Enters the object or array whose bracket is at `index`; true when it
    /// is empty and so already closed again.
    @inline(__always) mutating func openContainer(object: Bool) throws(CodecError) -> Bool {
        guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
        index += 1
        skipWhitespace()
        if next(is: UInt8(ascii: object ? "}" : "]")) {
            index += 1
            return true
        }
        depth += 1
        return false
    }

    /// After an element: true when the container closed, false after the
    /// comma before the next element.
    @inline(__always) mutating func closeOrContinue(object: Bool) throws(CodecError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw fail(object ? "unterminated object" : "unterminated array") }
        let byte = bytes[index]
        if byte == UInt8(ascii: ",") {
            index += 1
            return false
        }
        if byte == UInt8(ascii: object ? "}" : "]") {
            index += 1
            depth -= 1
            return true
        }
        throw fail(object ? "expected ',' or '}' in object" : "expected ',' or ']' in array")
    }

    /// Whitespace, then the opening quote of a member name (left for the caller to lex).
    @inline(__always) mutating func expectMemberName() throws(CodecError) {
        skipWhitespace()
        guard next(is: UInt8(ascii: "\"")) else { throw fail("expected a string key") }
    }

    /// The `:` after a member name.
    @inline(__always) mutating func expectNameSeparator() throws(CodecError) {
        skipWhitespace()
        guard next(is: UInt8(ascii: ":")) else { throw fail("expected ':' after key") }
        index += 1
    }
}
