/// Reads the big-endian integers and NUL-terminated strings of the
/// PostgreSQL wire protocol from a byte array. Every read is bounds-checked
/// and throws a CodecError naming `format`: a malformed message must never
/// trap.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let format: String

    init(_ bytes: [UInt8], offset: Int = 0, format: String) {
        self.bytes = bytes
        self.offset = offset
        self.format = format
    }

    var remaining: Int { bytes.count - offset }

    func fail(_ reason: String) -> CodecError { CodecError(format, reason, offset: offset) }

    private mutating func need(_ count: Int, _ what: String) throws(CodecError) {
        guard count >= 0, remaining >= count else {
            throw fail("message ends inside \(what) (needs \(count) byte(s), \(remaining) left)")
        }
    }

    mutating func byte(_ what: String = "a byte") throws(CodecError) -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint16(_ what: String = "an int16") throws(CodecError) -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func uint32(_ what: String = "an int32") throws(CodecError) -> UInt32 {
        try need(4, what)
        var value: UInt32 = 0
        for index in offset..<offset + 4 { value = value << 8 | UInt32(bytes[index]) }
        offset += 4
        return value
    }

    mutating func int32(_ what: String = "an int32") throws(CodecError) -> Int32 {
        Int32(bitPattern: try uint32(what))
    }

    mutating func uint64(_ what: String = "an int64") throws(CodecError) -> UInt64 {
        try need(8, what)
        var value: UInt64 = 0
        for index in offset..<offset + 8 { value = value << 8 | UInt64(bytes[index]) }
        offset += 8
        return value
    }

    mutating func int64(_ what: String = "an int64") throws(CodecError) -> Int64 {
        Int64(bitPattern: try uint64(what))
    }

    /// A NUL-terminated UTF-8 string.
    mutating func cString(_ what: String = "a string") throws(CodecError) -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else {
            throw fail("\(what) is not NUL-terminated")
        }
        defer { offset = end + 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }

    /// The range of the next `count` bytes, skipped over.
    mutating func range(count: Int, _ what: String) throws(CodecError) -> Range<Int> {
        try need(count, what)
        defer { offset += count }
        return offset..<offset + count
    }
}

/// Big-endian appends, for the messages pgk sends.
extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func appendBigEndian(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }
}
