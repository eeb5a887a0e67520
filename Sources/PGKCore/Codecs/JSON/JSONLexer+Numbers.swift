/// Where a lexed number's parts are; each caller derives what it needs
/// (the reader an Int64 or Double, the scanner numeric's range).
struct JSONNumberToken {
    var start: Int
    var end: Int
    var integerDigits: Range<Int>
    /// Empty when there is no `.` (a `.` needs at least one digit).
    var fractionDigits: Range<Int>
    var hasExponent: Bool
    /// 0 without an exponent. Saturates near ±10⁸, far past any range we check.
    var exponent: Int

    var isNegative: Bool { integerDigits.lowerBound > start }
    var isIntegral: Bool { fractionDigits.isEmpty && !hasExponent }
}

extension JSONLexer {
    /// RFC 8259 number syntax, starting at `index` (a `-` or digit).
    @inline(__always)
    mutating func lexNumber() throws(CodecError) -> JSONNumberToken {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, Self.isDigit(bytes[index]) else { throw fail("invalid number", at: start) }
        let integerStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, Self.isDigit(bytes[index]) { throw fail("leading zeros are not allowed", at: start) }
        } else {
            skipDigits()
        }
        var token = JSONNumberToken(start: start, end: index, integerDigits: integerStart..<index,
                                    fractionDigits: index..<index, hasExponent: false, exponent: 0)
        if next(is: UInt8(ascii: ".")) {
            index += 1
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw fail("expected digits after '.'") }
            let fractionStart = index
            skipDigits()
            token.fractionDigits = fractionStart..<index
        }
        if next(is: UInt8(ascii: "e")) || next(is: UInt8(ascii: "E")) {
            index += 1
            var negative = false
            if next(is: UInt8(ascii: "+")) || next(is: UInt8(ascii: "-")) {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw fail("expected digits in exponent") }
            var exponent = 0
            while index < bytes.count, Self.isDigit(bytes[index]) {
                if exponent < 10_000_000 { exponent = exponent * 10 + Int(bytes[index] - 48) }
                index += 1
            }
            token.hasExponent = true
            token.exponent = negative ? -exponent : exponent
        }
        token.end = index
        return token
    }

    @inline(__always) private mutating func skipDigits() {
        while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
    }
}
