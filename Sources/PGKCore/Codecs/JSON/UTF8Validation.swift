/// Strict UTF-8 as PostgreSQL and Swift's `String(validating:)` read it:
/// no overlong forms, no encoded surrogates, nothing past U+10FFFF.
enum UTF8Validation {
    /// The length (2–4) of the valid multibyte sequence starting at `index`.
    @inline(__always)
    static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) throws(CodecError) -> Int {
        let lead = bytes[index]
        let length: Int
        // The second byte's range is narrower after some lead bytes: that is
        // what rules out overlong forms, surrogates and scalars past U+10FFFF.
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: throw CodecError("utf-8", "invalid UTF-8 lead byte \(JSONLexer.describe(lead))", offset: index)
        }
        guard index + length <= bytes.count else { throw CodecError("utf-8", "truncated UTF-8 sequence", offset: index) }
        let second = bytes[index + 1]
        guard second >= lower && second <= upper else { throw CodecError("utf-8", "invalid UTF-8 sequence", offset: index) }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            throw CodecError("utf-8", "invalid UTF-8 sequence", offset: index)
        }
        return length
    }
}
