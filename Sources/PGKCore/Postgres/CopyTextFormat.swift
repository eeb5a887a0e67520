/// Encodes rows in COPY's text format: fields separated by tab, rows ended
/// by newline, NULL as `\N`, and backslash, tab, newline, carriage return,
/// backspace, form feed and vertical tab backslash-escaped. Bytes go
/// straight into one growing buffer; no per-field allocation.
struct CopyTextEncoder: Sendable {
    private(set) var buffer: [UInt8]
    /// Rows completed with `endRow` since creation or the last `removeAll`.
    private(set) var rowCount = 0
    private var fieldsInRow = 0

    init(reservingCapacity capacity: Int = 0) {
        buffer = []
        buffer.reserveCapacity(capacity)
    }

    var byteCount: Int { buffer.count }

    mutating func appendNull() {
        startField()
        buffer.append(backslash)
        buffer.append(UInt8(ascii: "N"))
    }

    mutating func append(field: String?) {
        guard let field else { return appendNull() }
        startField()
        let done: Void? = field.utf8.withContiguousStorageIfAvailable { appendEscaped($0) }
        if done == nil { appendEscaped(Array(field.utf8)) }
    }

    /// A field given as UTF-8 bytes (e.g. a JSON document as received).
    mutating func append(field bytes: UnsafeBufferPointer<UInt8>) {
        startField()
        appendEscaped(bytes)
    }

    mutating func append(field bytes: [UInt8]) {
        startField()
        bytes.withUnsafeBufferPointer { appendEscaped($0) }
    }

    /// A whole number's decimal digits, with no String in between.
    mutating func append(integer value: Int64) {
        startField()
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &digits) { scratch in
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }

    /// A bytea field in hex (`\\x…`, its backslash escaped), written
    /// straight into the buffer with no string in between.
    mutating func append(byteaHex bytes: [UInt8]) {
        bytes.withUnsafeBytes { append(byteaHex: $0) }
    }

    mutating func append(byteaHex bytes: UnsafeRawBufferPointer) {
        startField()
        // Byte by byte: an array literal here would be an allocation per field.
        buffer.append(backslash)
        buffer.append(backslash)
        buffer.append(UInt8(ascii: "x"))
        for byte in bytes {
            buffer.append(hexDigits[Int(byte >> 4)])
            buffer.append(hexDigits[Int(byte & 15)])
        }
    }

    /// Fields already in COPY text (another encoder's buffer), as they are.
    mutating func append(encodedFields bytes: [UInt8]) {
        startField()
        buffer.append(contentsOf: bytes)
    }

    mutating func append(encodedFields bytes: ArraySlice<UInt8>) {
        startField()
        buffer.append(contentsOf: bytes)
    }

    mutating func endRow() {
        buffer.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
        rowCount += 1
    }

    /// Closes a row whose newline is already in the buffer.
    mutating func endRowWritten() {
        fieldsInRow = 0
    }

    mutating func appendRow(_ fields: [String?]) {
        for field in fields { append(field: field) }
        endRow()
    }

    /// Empties the buffer (after it was sent), keeping its capacity.
    mutating func removeAll() {
        buffer.removeAll(keepingCapacity: true)
        rowCount = 0
        fieldsInRow = 0
    }

    /// Drops bytes already sent while a row is still open.
    mutating func removeSentBytes() {
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func startField() {
        if fieldsInRow > 0 { buffer.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
    }

    private mutating func appendEscaped(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { appendEscaped($0) }
    }

    /// Copies runs of plain bytes in one go and escapes the rest.
    private mutating func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte == backslash || (byte >= 8 && byte <= 13) else { continue }
            if runStart < index {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            }
            buffer.append(backslash)
            buffer.append(CopyTextEncoder.escapeLetter[Int(byte == backslash ? 14 : byte)])
            runStart = index + 1
        }
        if runStart < bytes.count {
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
    }

    // Indexed by byte 8…13 (\b \t \n \v \f \r); slot 14 stands for backslash.
    private static let escapeLetter: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0] + Array("btnvfr\\".utf8)
}

private let backslash = UInt8(ascii: "\\")
private let hexDigits = Array("0123456789abcdef".utf8)

/// Decodes rows in COPY's text format, as `COPY … TO STDOUT` sends them:
/// the inverse of `CopyTextEncoder`, plus the octal (`\123`) and hex
/// (`\x4A`) escapes the server accepts.
enum CopyTextDecoder {
    /// The fields of one row; a trailing newline is optional. nil is NULL.
    static func decodeFields(_ line: [UInt8]) throws -> [[UInt8]?] {
        var end = line.count
        if end > 0, line[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var fields: [[UInt8]?] = []
        var current: [UInt8] = []
        var fieldStart = 0
        var index = 0
        func closeField(at position: Int) {
            let isNull = position - fieldStart == 2 && line[fieldStart] == backslash
                && line[fieldStart + 1] == UInt8(ascii: "N")
            fields.append(isNull ? nil : current)
            current.removeAll(keepingCapacity: true)
        }
        while index < end {
            let byte = line[index]
            if byte == UInt8(ascii: "\t") {
                closeField(at: index)
                index += 1
                fieldStart = index
                continue
            }
            guard byte == backslash else {
                current.append(byte)
                index += 1
                continue
            }
            guard index + 1 < end else {
                throw CodecError("copy-text", "backslash at end of row", offset: index)
            }
            let escaped = line[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "b"): current.append(8)
            case UInt8(ascii: "t"): current.append(9)
            case UInt8(ascii: "n"): current.append(10)
            case UInt8(ascii: "v"): current.append(11)
            case UInt8(ascii: "f"): current.append(12)
            case UInt8(ascii: "r"): current.append(13)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(escaped - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, index < end, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(line[index]) {
                    value = value << 3 + Int(line[index] - UInt8(ascii: "0"))
                    index += 1
                    digits += 1
                }
                current.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x") where index < end && hexDigit(line[index]) != nil:
                var value = hexDigit(line[index])!
                index += 1
                if index < end, let low = hexDigit(line[index]) {
                    value = value << 4 | low
                    index += 1
                }
                current.append(value)
            default:
                // Any other escaped byte stands for itself, as the server
                // reads it; a whole-field `\N` is NULL (closeField).
                current.append(escaped)
            }
        }
        closeField(at: end)
        return fields
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
