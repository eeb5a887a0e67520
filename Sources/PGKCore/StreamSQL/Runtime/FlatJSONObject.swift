#if canImport(Glibc)
import Glibc
#endif

/// Reads the commonest JSON value a stream carries, a flat object of
/// whole numbers, ASCII strings without escapes, booleans and nulls,
/// straight from its bytes: no Value tree, no String per member. Anything
/// else (a nested value, a fraction, an escape, non-ASCII text, a syntax
/// error) makes `scan` return false, and the caller decodes the record
/// the general way, which also words any error. (Asked to, it also takes
/// fractions and exponents: PostgreSQL's JSON of a row's doubles.)
enum FlatJSONObject {
    /// Texts are ranges of the scanned bytes: no slice to retain per member.
    enum Scalar: Equatable {
        case null
        case bool(Bool)
        /// A whole number's text (`-?(0|[1-9][0-9]*)`).
        case integer(Range<Int>)
        /// A string's bytes between its quotes.
        case string(Range<Int>)
        /// Any other JSON number (a fraction, an exponent, -0): only
        /// where `scan` is asked for them.
        case number(Range<Int>)
    }

    /// Calls `member` with each member's key (the bytes between its
    /// quotes) and value, in order; false when the bytes are not such an
    /// object or `member` returns false.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, numbers: Bool = false,
                     member: (_ key: Range<Int>, _ value: Scalar) -> Bool) -> Bool {
        var index = bytes.startIndex
        func skipSpace() {
            while index < bytes.endIndex {
                let byte = bytes[index]
                guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
                index += 1
            }
        }
        func take(_ byte: UInt8) -> Bool {
            guard index < bytes.endIndex, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        func string() -> Range<Int>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.endIndex {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return start..<index - 1
                }
                // Escapes, control characters and non-ASCII text take the general path.
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }
        func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard bytes.endIndex - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
            index += count
            return true
        }
        func value() -> Scalar? {
            guard index < bytes.endIndex else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map(Scalar.string)
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                let negative = take(UInt8(ascii: "-"))
                let digits = index
                func skipDigits() -> Bool {
                    let first = index
                    while index < bytes.endIndex, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
                    return index > first
                }
                guard skipDigits() else { return nil }
                if numbers {
                    // JSON's grammar: no leading zero, then an optional fraction and exponent.
                    guard bytes[digits] != UInt8(ascii: "0") || index == digits + 1 else { return nil }
                    var whole = !negative || bytes[digits] != UInt8(ascii: "0")
                    if take(UInt8(ascii: ".")) {
                        guard skipDigits() else { return nil }
                        whole = false
                    }
                    if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
                        _ = take(UInt8(ascii: "+")) || take(UInt8(ascii: "-"))
                        guard skipDigits() else { return nil }
                        whole = false
                    }
                    return whole ? .integer(start..<index) : .number(start..<index)
                }
                // A leading zero, -0, or a fraction or exponent next: not a plain whole number.
                guard bytes[digits] != UInt8(ascii: "0") || (index == digits + 1 && !negative) else { return nil }
                if index < bytes.endIndex {
                    let next = bytes[index]
                    guard next != UInt8(ascii: "."), next != UInt8(ascii: "e"), next != UInt8(ascii: "E") else { return nil }
                }
                return .integer(start..<index)
            default:
                return nil  // an object or array inside, or no JSON value at all
            }
        }
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if !take(UInt8(ascii: "}")) {
            while true {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard let scalar = value(), member(key, scalar) else { return false }
                skipSpace()
                if take(UInt8(ascii: "}")) { break }
                guard take(UInt8(ascii: ",")) else { return false }
            }
        }
        skipSpace()
        return index == bytes.endIndex
    }
}

extension FlatJSONObject {
    /// A number's text read by strtod, as JSON.decode and PostgreSQL's
    /// float8in read it (NUL-terminated on the stack: no array per
    /// value); nil where strtod does not read the whole text.
    static func double(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Double? {
        guard !text.isEmpty else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { terminated in
            for (offset, byte) in text.enumerated() { terminated[offset] = CChar(bitPattern: byte) }
            terminated[text.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(terminated.baseAddress!, &end)
            return end == terminated.baseAddress! + text.count ? value : nil
        }
    }
}
