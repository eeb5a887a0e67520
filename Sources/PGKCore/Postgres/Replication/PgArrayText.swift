/// Parses PostgreSQL's array text form (`array_out`): `{1,2,NULL}`,
/// `{"a b","c\"d"}`, nested `{{1,2},{3,4}}`, an optional dimension prefix
/// `[0:1]={7,8}`, and non-comma delimiters (`;` for box arrays).
enum PgArrayText {
    indirect enum Node: Sendable, Equatable {
        /// An element's text; nil is NULL (an unquoted `NULL`).
        case element(String?)
        case array([Node])
    }

    static func parse(_ text: some Collection<UInt8>, delimiter: UInt8 = UInt8(ascii: ",")) throws(CodecError) -> Node {
        var parser = Parser(bytes: Array(text), delimiter: delimiter)
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        let delimiter: UInt8
        var index = 0

        func fail(_ reason: String) -> CodecError { CodecError("array", reason, offset: index) }

        mutating func skipSpace() {
            while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        }

        mutating func document() throws(CodecError) -> Node {
            skipSpace()
            // Dimension decoration when lower bounds are not 1: [l:u][l:u]=
            if index < bytes.count, bytes[index] == UInt8(ascii: "[") {
                guard let equals = bytes[index...].firstIndex(of: UInt8(ascii: "=")) else {
                    throw fail("dimension decoration without '='")
                }
                index = equals + 1
                skipSpace()
            }
            let node = try array(depth: 0)
            skipSpace()
            guard index == bytes.count else { throw fail("unexpected text after the closing '}'") }
            return node
        }

        mutating func array(depth: Int) throws(CodecError) -> Node {
            guard depth < 64 else { throw fail("arrays nested too deeply") }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw fail("expected '{'") }
            index += 1
            var items: [Node] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .array(items)
            }
            while true {
                skipSpace()
                guard index < bytes.count else { throw fail("unterminated array") }
                if bytes[index] == UInt8(ascii: "{") {
                    items.append(try array(depth: depth + 1))
                } else {
                    items.append(try element())
                }
                skipSpace()
                guard index < bytes.count else { throw fail("unterminated array") }
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "}") { return .array(items) }
                guard byte == delimiter else {
                    index -= 1
                    throw fail("expected '\(Character(Unicode.Scalar(delimiter)))' or '}'")
                }
            }
        }

        mutating func element() throws(CodecError) -> Node {
            var out: [UInt8] = []
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while true {
                    guard index < bytes.count else { throw fail("unterminated quoted element") }
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") { break }
                    if byte == UInt8(ascii: "\\") {
                        guard index < bytes.count else { throw fail("backslash at end of array") }
                        out.append(bytes[index])
                        index += 1
                    } else {
                        out.append(byte)
                    }
                }
                return .element(String(decoding: out, as: UTF8.self))
            }
            var sawEscape = false
            var trailingSpaceStart: Int?
            while index < bytes.count {
                let byte = bytes[index]
                if byte == delimiter || byte == UInt8(ascii: "}") { break }
                guard byte != UInt8(ascii: "{") && byte != UInt8(ascii: "\"") else {
                    throw fail("unexpected '\(Character(Unicode.Scalar(byte)))' in an unquoted element")
                }
                index += 1
                if byte == UInt8(ascii: "\\") {
                    guard index < bytes.count else { throw fail("backslash at end of array") }
                    out.append(bytes[index])
                    index += 1
                    sawEscape = true
                    trailingSpaceStart = nil
                } else {
                    // Unquoted elements lose trailing whitespace, as array_in does.
                    if isSpace(byte) { trailingSpaceStart = trailingSpaceStart ?? out.count } else { trailingSpaceStart = nil }
                    out.append(byte)
                }
            }
            if let trailingSpaceStart { out.removeSubrange(trailingSpaceStart...) }
            guard !out.isEmpty || sawEscape else { throw fail("empty unquoted element") }
            if !sawEscape, out.count == 4, String(decoding: out, as: UTF8.self).lowercased() == "null" {
                return .element(nil)
            }
            return .element(String(decoding: out, as: UTF8.self))
        }

        func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || (0x09...0x0D).contains(byte)
        }
    }
}
