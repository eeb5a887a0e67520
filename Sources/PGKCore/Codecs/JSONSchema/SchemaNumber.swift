/// A number exactly as written: `digits × 10^exponent`. JSON Schema compares
/// numbers mathematically (`1 == 1.0`), and `.decimal` values (integers
/// beyond Int64, or preserved number text) must not go through a Double.
struct ExactDecimal: Equatable {
    var negative = false
    /// Most significant first, no leading or trailing zeros; empty means zero.
    var digits: [UInt8] = []
    var exponent = 0

    /// JSON number syntax; Swift's `Double.description` forms (`1e+308`) too.
    init?(text: String) {
        var bytes = Substring(text).utf8[...]
        var isNegative = false
        if bytes.first == UInt8(ascii: "-") { isNegative = true; bytes = bytes.dropFirst() }
        var all: [UInt8] = []
        var fractionCount = 0
        var seenPoint = false
        var seenDigit = false
        while let byte = bytes.first, byte != UInt8(ascii: "e"), byte != UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if byte == UInt8(ascii: "."), !seenPoint { seenPoint = true; continue }
            guard byte &- 48 < 10 else { return nil }
            seenDigit = true
            all.append(byte - 48)
            if seenPoint { fractionCount += 1 }
        }
        guard seenDigit else { return nil }
        var exp = 0
        if !bytes.isEmpty {
            bytes = bytes.dropFirst()
            var expNegative = false
            if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() } else if bytes.first == UInt8(ascii: "-") {
                expNegative = true
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty else { return nil }
            for byte in bytes {
                guard byte &- 48 < 10 else { return nil }
                exp = min(exp * 10 + Int(byte - 48), 1_000_000_000)
            }
            if expNegative { exp = -exp }
        }
        self.init(negative: isNegative, rawDigits: all, exponent: exp - fractionCount)
    }

    init(_ value: Int64) {
        let magnitude = value.magnitude
        var digits: [UInt8] = []
        var rest = magnitude
        while rest > 0 { digits.append(UInt8(rest % 10)); rest /= 10 }
        self.init(negative: value < 0, rawDigits: digits.reversed(), exponent: 0)
    }

    /// The shortest decimal that reads back as `value` (what the JSON said).
    init?(_ value: Double) {
        guard value.isFinite else { return nil }
        self.init(text: value.description)
    }

    private init(negative: Bool, rawDigits: [UInt8], exponent: Int) {
        var start = 0
        while start < rawDigits.count, rawDigits[start] == 0 { start += 1 }
        var end = rawDigits.count
        var exponent = exponent
        while end > start, rawDigits[end - 1] == 0 { end -= 1; exponent += 1 }
        digits = Array(rawDigits[start..<end])
        self.exponent = digits.isEmpty ? 0 : exponent
        self.negative = digits.isEmpty ? false : negative
    }

    var isZero: Bool { digits.isEmpty }
    var isInteger: Bool { exponent >= 0 }

    /// -1, 0 or 1.
    static func compare(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        if a.negative != b.negative { return a.negative ? -1 : 1 }
        let magnitude = compareMagnitude(a, b)
        return a.negative ? -magnitude : magnitude
    }

    private static func compareMagnitude(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        if a.isZero || b.isZero { return a.isZero ? (b.isZero ? 0 : -1) : 1 }
        let orderA = a.digits.count + a.exponent, orderB = b.digits.count + b.exponent
        if orderA != orderB { return orderA < orderB ? -1 : 1 }
        for (x, y) in zip(a.digits, b.digits) where x != y { return x < y ? -1 : 1 }
        if a.digits.count == b.digits.count { return 0 }
        return a.digits.count < b.digits.count ? -1 : 1
    }

    /// Whether `self / divisor` is an integer; nil when the divisor has too
    /// many digits for the exact check.
    func isMultiple(of divisor: ExactDecimal) -> Bool? {
        if isZero { return true }
        if divisor.isZero { return false }
        // Neither digit string ends in 0, so a negative exponent gap would
        // need a factor of 10 that self's digits do not have.
        let gap = exponent - divisor.exponent
        if gap < 0 { return false }
        guard divisor.digits.count <= 18, gap <= 100_000 else { return nil }
        var modulus: UInt64 = 0
        for digit in divisor.digits { modulus = modulus * 10 + UInt64(digit) }
        var remainder: UInt64 = 0
        for digit in digits { remainder = (remainder * 10 + UInt64(digit)) % modulus }
        for _ in 0..<gap where remainder != 0 { remainder = remainder * 10 % modulus }
        return remainder == 0
    }
}

/// A numeric keyword's operand (`minimum`, `multipleOf`…), kept in the
/// cheapest exact form.
enum SchemaNumber: Sendable, CustomStringConvertible {
    case int(Int64)
    case double(Double)
    case exact(String)

    init?(_ value: Value) {
        switch value {
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .decimal(let text):
            guard ExactDecimal(text: text) != nil else { return nil }
            self = .exact(text)
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return d.description
        case .exact(let text): return text
        }
    }

    var exact: ExactDecimal {
        switch self {
        case .int(let i): return ExactDecimal(i)
        case .double(let d): return ExactDecimal(d) ?? ExactDecimal(0)
        case .exact(let text): return ExactDecimal(text: text) ?? ExactDecimal(0)
        }
    }

    var isPositive: Bool {
        let e = exact
        return !e.isZero && !e.negative
    }
}

/// Mathematical comparisons of instance numbers.
enum NumberCompare {
    static func isNumber(_ value: Value) -> Bool {
        switch value {
        case .int, .double: return true
        case .decimal(let text): return ExactDecimal(text: text) != nil
        default: return false
        }
    }

    static func isInteger(_ value: Value) -> Bool {
        switch value {
        case .int: return true
        case .double(let d): return d.isFinite && d == d.rounded()
        case .decimal(let text): return ExactDecimal(text: text)?.isInteger ?? false
        default: return false
        }
    }

    /// -1, 0 or 1 for `value` against `bound`; nil if `value` is no number.
    @inline(__always)
    static func compare(_ value: Value, _ bound: SchemaNumber) -> Int? {
        switch (value, bound) {
        case (.int(let a), .int(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.double(let a), .double(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.int(let a), .double(let b)): return compare(a, b)
        case (.double(let a), .int(let b)): return -compare(b, a)
        case (.int, _), (.double, _), (.decimal, _):
            guard let exact = exactValue(value) else { return nil }
            return ExactDecimal.compare(exact, bound.exact)
        default: return nil
        }
    }

    /// Two instance values, both numbers.
    static func equal(_ a: Value, _ b: Value) -> Bool? {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.int(let x), .double(let y)): return compare(x, y) == 0
        case (.double(let x), .int(let y)): return compare(y, x) == 0
        default:
            guard let x = exactValue(a), let y = exactValue(b) else { return nil }
            return ExactDecimal.compare(x, y) == 0
        }
    }

    static func isMultiple(_ value: Value, of divisor: SchemaNumber) -> Bool? {
        if case .int(let a) = value, case .int(let b) = divisor, b > 0 {
            return a % b == 0
        }
        guard let exact = exactValue(value) else { return nil }
        if let answer = exact.isMultiple(of: divisor.exact) { return answer }
        // Divisors of more than 18 digits: an approximate check.
        guard let a = Double(exact.description), let b = Double(divisor.description) else { return false }
        let quotient = a / b
        return quotient.isFinite && quotient == quotient.rounded()
    }

    static func exactValue(_ value: Value) -> ExactDecimal? {
        switch value {
        case .int(let i): return ExactDecimal(i)
        case .double(let d): return ExactDecimal(d)
        case .decimal(let text): return ExactDecimal(text: text)
        default: return nil
        }
    }

    /// An Int64 against a Double without rounding either.
    static func compare(_ a: Int64, _ b: Double) -> Int {
        if b.isNaN { return 1 }
        if b >= 9_223_372_036_854_775_808.0 { return -1 }
        if b < -9_223_372_036_854_775_808.0 { return 1 }
        let floor = b.rounded(.down)
        let whole = Int64(floor)
        if a != whole { return a < whole ? -1 : 1 }
        return b > floor ? -1 : 0
    }
}

extension ExactDecimal: CustomStringConvertible {
    var description: String {
        if isZero { return "0" }
        var out = negative ? "-" : ""
        out += digits.map { String($0) }.joined()
        if exponent != 0 { out += "e" + String(exponent) }
        return out
    }
}
