/// Where a lexed string's decoded content goes. The reader collects it;
/// the scanner only checks it. An escape-free string is never reported
/// piecewise: its content is the raw range `lexString` returns.
protocol JSONStringContent {
    /// Bytes copied through unchanged (already validated UTF-8).
    mutating func appendRaw(_ run: UnsafeBufferPointer<UInt8>)
    /// The scalar an escape stands for (surrogate pairs already joined);
    /// `offset` is the escape's backslash.
    mutating func appendEscaped(_ scalar: UInt32, at offset: Int) throws(CodecError)
}

/// A lexed string: its content between the quotes, and whether that
/// content had escapes (and so went through `JSONStringContent`).
struct JSONStringToken {
    var content: Range<Int>
    var hasEscapes: Bool
}

extension JSONLexer {
    /// The string whose opening quote is at `index`: escapes and `\u`
    /// (surrogates must pair up), valid UTF-8, no raw control characters.
    @inline(__always)
    mutating func lexString<Content: JSONStringContent>(into content: inout Content) throws(CodecError) -> JSONStringToken {
        let start = index
        index += 1
        var runStart = index
        var hasEscapes = false
        while index < bytes.count {
            let byte = bytes[index]
            // Plain ASCII first: most string bytes take only this branch.
            if byte >= 0x20 && byte < 0x80 && byte != 0x22 && byte != 0x5C {
                index += 1
                continue
            }
            switch byte {
            case 0x22:
                if hasEscapes { content.appendRaw(UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                index += 1
                return JSONStringToken(content: start + 1..<index - 1, hasEscapes: hasEscapes)
            case 0x5C:
                content.appendRaw(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                hasEscapes = true
                try lexEscape(stringStart: start, into: &content)
                runStart = index
            case 0x80...:
                index += try UTF8Validation.sequenceLength(bytes, at: index)
            default:
                throw fail("unescaped control character in string")
            }
        }
        throw fail("unterminated string", at: start)
    }

    private mutating func lexEscape<Content: JSONStringContent>(stringStart: Int, into content: inout Content) throws(CodecError) {
        let start = index
        index += 1
        guard index < bytes.count else { throw fail("unterminated string", at: stringStart) }
        let letter = bytes[index]
        index += 1
        let scalar: UInt32
        switch letter {
        case UInt8(ascii: "\""): scalar = 0x22
        case UInt8(ascii: "\\"): scalar = 0x5C
        case UInt8(ascii: "/"): scalar = 0x2F
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "u"): scalar = try lexUnicodeEscape(start: start)
        default: throw fail("invalid escape \\\(Self.describe(letter))", at: start)
        }
        try content.appendEscaped(scalar, at: start)
    }

    /// The four hex digits after `\u`, and a second `\uXXXX` when the
    /// first is a high surrogate: a lone surrogate is no character.
    private mutating func lexUnicodeEscape(start: Int) throws(CodecError) -> UInt32 {
        let unit = try hex4()
        if (0xDC00..<0xE000).contains(unit) { throw fail("unpaired low surrogate in \\u escape", at: start) }
        guard (0xD800..<0xDC00).contains(unit) else { return unit }
        guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == UInt8(ascii: "u") else {
            throw fail("unpaired high surrogate in \\u escape", at: start)
        }
        index += 2
        let low = try hex4()
        guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid low surrogate in \\u escape", at: start) }
        return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
    }

    private mutating func hex4() throws(CodecError) -> UInt32 {
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
}

/// Collects a string's content as UTF-8 bytes; reused across strings so
/// escaped strings cost no allocation once it has grown.
struct UnescapedBytes: JSONStringContent {
    var bytes: [UInt8] = []

    mutating func appendRaw(_ run: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: run) }

    mutating func appendEscaped(_ scalar: UInt32, at offset: Int) {
        switch scalar {
        case 0..<0x80: bytes.append(UInt8(scalar))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | scalar >> 6)); bytes.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | scalar >> 12)); bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | scalar & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | scalar >> 18)); bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F)); bytes.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
