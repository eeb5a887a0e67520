/// Avro decimals: a big-endian two's-complement unscaled integer plus the
/// schema's scale. Converted to and from exact decimal text, never through
/// a Double, so Postgres numeric round-trips digit for digit.
enum AvroDecimal {
    /// Bigger unscaled values are rejected: conversion is quadratic and no
    /// sane precision needs them (1000 digits fit in 416 bytes).
    static let maxBytes = 512

    static func text(unscaled bytes: UnsafeBufferPointer<UInt8>, scale: Int) -> String {
        guard !bytes.isEmpty else { return scaled(digits: [UInt8(ascii: "0")], negative: false, scale: scale) }
        let negative = bytes[0] & 0x80 != 0
        if bytes.count <= 8 {
            var value: Int64 = negative ? -1 : 0
            for byte in bytes { value = value << 8 | Int64(byte) }
            let magnitude = value.magnitude
            return scaled(digits: Array(String(magnitude).utf8), negative: negative, scale: scale)
        }
        // Magnitude as little-endian 32-bit limbs, negated when negative.
        var limbs = [UInt32](repeating: 0, count: (bytes.count + 3) / 4)
        for (i, byte) in bytes.reversed().enumerated() {
            limbs[i / 4] |= UInt32(negative ? ~byte : byte) << (8 * UInt32(i % 4))
        }
        if negative { increment(&limbs) }
        return scaled(digits: decimalDigits(&limbs), negative: negative, scale: scale)
    }

    private static func increment(_ limbs: inout [UInt32]) {
        for i in limbs.indices {
            let (sum, carry) = limbs[i].addingReportingOverflow(1)
            limbs[i] = sum
            if !carry { return }
        }
    }

    /// Repeated division by 10^9, least significant chunk first.
    private static func decimalDigits(_ limbs: inout [UInt32]) -> [UInt8] {
        var chunks: [UInt32] = []
        var top = limbs.count
        while top > 0 && limbs[top - 1] == 0 { top -= 1 }
        while top > 0 {
            var remainder: UInt64 = 0
            for i in stride(from: top - 1, through: 0, by: -1) {
                let current = remainder << 32 | UInt64(limbs[i])
                limbs[i] = UInt32(current / 1_000_000_000)
                remainder = current % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
            while top > 0 && limbs[top - 1] == 0 { top -= 1 }
        }
        guard let last = chunks.popLast() else { return [UInt8(ascii: "0")] }
        var digits = Array(String(last).utf8)
        for chunk in chunks.reversed() {
            let text = Array(String(chunk).utf8)
            digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 9 - text.count))
            digits.append(contentsOf: text)
        }
        return digits
    }

    private static func scaled(digits: [UInt8], negative: Bool, scale: Int) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(digits.count + scale + 3)
        if negative { out.append(UInt8(ascii: "-")) }
        if scale == 0 {
            out.append(contentsOf: digits)
        } else if digits.count > scale {
            out.append(contentsOf: digits[..<(digits.count - scale)])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[(digits.count - scale)...])
        } else {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: scale - digits.count))
            out.append(contentsOf: digits)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decimal text ("-12.50", "1.5E+3", "7") → minimal two's-complement
    /// bytes of the value scaled by 10^scale. Extra fraction digits must be
    /// zeros: rounding silently would change the data.
    static func unscaledBytes(_ text: String, precision: Int, scale: Int) -> Result<[UInt8], AvroFailure> {
        var utf8 = Array(text.utf8)
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8.removeFirst()
        }
        var exponent = 0
        if let e = utf8.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let value = Int(String(decoding: utf8[(e + 1)...], as: UTF8.self)), abs(value) < 10_000 else {
                return .failure(AvroFailure("'\(text)' is not a decimal number"))
            }
            exponent = value
            utf8.removeSubrange(e...)
        }
        var integerPart = utf8[...]
        var fractionPart = utf8[utf8.endIndex...]
        if let dot = utf8.firstIndex(of: UInt8(ascii: ".")) {
            integerPart = utf8[..<dot]
            fractionPart = utf8[(dot + 1)...]
        }
        guard !(integerPart.isEmpty && fractionPart.isEmpty),
              (integerPart + fractionPart).allSatisfy({ $0 &- 48 < 10 }) else {
            return .failure(AvroFailure("'\(text)' is not a decimal number"))
        }
        // All digits, with the decimal point moved right by `scale + exponent`.
        var digits = Array(integerPart) + Array(fractionPart)
        let shift = scale + exponent - fractionPart.count
        if shift >= 0 {
            digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: shift))
        } else {
            let dropped = digits.suffix(min(-shift, digits.count))
            guard dropped.allSatisfy({ $0 == UInt8(ascii: "0") }) else {
                return .failure(AvroFailure("\(text) has more than \(scale) decimal places"))
            }
            digits.removeLast(dropped.count)
        }
        while digits.count > 1 && digits.first == UInt8(ascii: "0") { digits.removeFirst() }
        if digits.isEmpty { digits = [UInt8(ascii: "0")] }
        if digits.count > precision && !(digits.count == 1 && digits[0] == UInt8(ascii: "0")) {
            return .failure(AvroFailure("\(text) has more than \(precision) significant digits (precision \(precision), scale \(scale))"))
        }
        let isZero = digits == [UInt8(ascii: "0")]
        return .success(twosComplement(digits: digits, negative: negative && !isZero))
    }

    private static func twosComplement(digits: [UInt8], negative: Bool) -> [UInt8] {
        // Little-endian bytes of the magnitude: multiply by 10 and add.
        var magnitude: [UInt8] = [0]
        for digit in digits {
            var carry = UInt32(digit - 48)
            for i in magnitude.indices {
                let v = UInt32(magnitude[i]) * 10 + carry
                magnitude[i] = UInt8(truncatingIfNeeded: v)
                carry = v >> 8
            }
            while carry > 0 { magnitude.append(UInt8(truncatingIfNeeded: carry)); carry >>= 8 }
        }
        if negative {
            var carry: UInt16 = 1
            for i in magnitude.indices {
                let v = UInt16(~magnitude[i]) + carry
                magnitude[i] = UInt8(truncatingIfNeeded: v)
                carry = v >> 8
            }
        }
        // One sign byte more, then drop redundant leading sign bytes.
        magnitude.append(negative ? 0xFF : 0x00)
        var bytes = Array(magnitude.reversed())
        while bytes.count > 1 {
            let redundant = negative ? (bytes[0] == 0xFF && bytes[1] & 0x80 != 0) : (bytes[0] == 0 && bytes[1] & 0x80 == 0)
            guard redundant else { break }
            bytes.removeFirst()
        }
        return bytes
    }

    /// Sign-extends to a fixed size, or nil when it does not fit.
    static func fit(_ bytes: [UInt8], size: Int) -> [UInt8]? {
        guard bytes.count <= size else { return nil }
        let fill: UInt8 = (bytes.first ?? 0) & 0x80 != 0 ? 0xFF : 0x00
        return [UInt8](repeating: fill, count: size - bytes.count) + bytes
    }
}
