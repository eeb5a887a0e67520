/// A failure inside the Avro reader or writer. The data path is collected
/// on the way out of the recursion, so the happy path pays nothing for it.
struct AvroFailure: Error {
    var reason: String
    var offset: Int?
    /// Innermost component last is appended first; reversed when rendered.
    var reversedPath: [String] = []

    init(_ reason: String, offset: Int? = nil) {
        self.reason = reason
        self.offset = offset
    }

    func within(_ component: String) -> AvroFailure {
        var copy = self
        copy.reversedPath.append(component)
        return copy
    }

    /// ".address.zip", "[3].name", or "" at the top level.
    var path: String { reversedPath.reversed().joined() }

    var codecError: CodecError {
        let path = path
        return CodecError("avro", path.isEmpty ? reason : "\(path): \(reason)", offset: offset)
    }
}

/// Avro binary → `Value`, walking the schema tree. Every length and count
/// is checked against the bytes left before anything is allocated, so no
/// input can make it trap, loop or allocate without bound.
///
/// Unions decode to the plain branch value (not Avro JSON's
/// `{"type": value}` wrapping): sinks want the value, and the schema is
/// known to whoever needs the branch.
struct AvroBinaryReader {
    /// Deeper data only comes from recursive schemas; Postgres jsonb refuses
    /// more nesting than this anyway.
    static let maxDepth = 256
    /// Items of zero encoded size (null, empty records) cost no input bytes,
    /// so their total count needs its own cap.
    static let maxZeroSizeItems = 1_000_000

    let bytes: UnsafeBufferPointer<UInt8>
    let nodes: UnsafeBufferPointer<AvroNode>
    var index = 0
    private var depth = 0
    private var zeroSizeBudget = maxZeroSizeItems

    init(bytes: UnsafeBufferPointer<UInt8>, nodes: UnsafeBufferPointer<AvroNode>) {
        self.bytes = bytes
        self.nodes = nodes
    }

    mutating func readDocument(root: Int) throws(AvroFailure) -> Value {
        let value = try read(root)
        if index != bytes.count {
            throw AvroFailure("\(bytes.count - index) unexpected bytes after the \(nodes[root].name) value", offset: index)
        }
        return value
    }

    private var remaining: Int { bytes.count - index }

    private func truncated(_ what: String) -> AvroFailure {
        AvroFailure("truncated input: \(what) needs more bytes than the \(remaining) left", offset: index)
    }

    mutating func read(_ n: Int) throws(AvroFailure) -> Value {
        switch nodes[n].kind {
        case .null:
            return .null
        case .boolean:
            guard index < bytes.count else { throw truncated("boolean") }
            let byte = bytes[index]
            guard byte <= 1 else { throw AvroFailure("boolean byte is \(byte), not 0 or 1", offset: index) }
            index += 1
            return .bool(byte == 1)
        case .int:
            let start = index
            let v = try long()
            guard v >= Int64(Int32.min), v <= Int64(Int32.max) else {
                throw AvroFailure("int value \(v) is out of 32-bit range", offset: start)
            }
            guard let logical = nodes[n].logical else { return .int(v) }
            return Self.logicalInteger(v, logical)
        case .long:
            let v = try long()
            guard let logical = nodes[n].logical else { return .int(v) }
            return Self.logicalInteger(v, logical)
        case .float:
            guard remaining >= 4 else { throw truncated("float") }
            var bits: UInt32 = 0
            for i in 0..<4 { bits |= UInt32(bytes[index + i]) << (8 * UInt32(i)) }
            index += 4
            return .double(Double(Float(bitPattern: bits)))
        case .double:
            guard remaining >= 8 else { throw truncated("double") }
            var bits: UInt64 = 0
            for i in 0..<8 { bits |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
            index += 8
            return .double(Double(bitPattern: bits))
        case .string:
            return .string(try string())
        case .bytes:
            let start = index
            let slice = try lengthPrefixed("bytes")
            return try bytesValue(slice, logical: nodes[n].logical, at: start)
        case .fixed(let size):
            guard remaining >= size else { throw truncated("fixed(\(size))") }
            let start = index
            let slice = UnsafeBufferPointer(rebasing: bytes[index..<index + size])
            index += size
            return try bytesValue(slice, logical: nodes[n].logical, at: start)
        case .enumeration(let symbols):
            let start = index
            let i = try long()
            guard i >= 0, i < Int64(symbols.count) else {
                throw AvroFailure("enum index \(i) is not below the \(symbols.count) symbols of \(nodes[n].name)", offset: start)
            }
            return .string(symbols[Int(i)])
        case .union(let branches, _):
            let start = index
            let i = try long()
            guard i >= 0, i < Int64(branches.count) else {
                throw AvroFailure("union branch \(i) does not exist (the union has \(branches.count))", offset: start)
            }
            return try read(branches[Int(i)])
        case .record(let fields, let keys):
            try enter()
            var values: [Value] = []
            values.reserveCapacity(fields.count)
            for field in fields {
                do { values.append(try read(field.type)) } catch { throw error.within("." + field.name) }
            }
            depth -= 1
            return .object(ValueObject(uniqueKeys: keys, values: values))
        case .array(let items):
            try enter()
            var result: [Value] = []
            while let count = try blockCount(itemSize: nodes[items].minSize, what: "array") {
                result.reserveCapacity(result.count + count)
                for _ in 0..<count {
                    do { result.append(try read(items)) } catch { throw error.within("[\(result.count)]") }
                }
            }
            depth -= 1
            return .array(result)
        case .map(let valuesType):
            try enter()
            var object = ValueObject()
            var seen: Set<String>?
            while let count = try blockCount(itemSize: 1 + nodes[valuesType].minSize, what: "map") {
                if seen == nil && object.count + count > 32 { seen = Set(object.keys) }
                for _ in 0..<count {
                    let key = try string()
                    let value: Value
                    do { value = try read(valuesType) } catch { throw error.within("[\(JSON.encode(.string(key)))]") }
                    // Duplicate keys are invalid Avro; the last one wins, as in JSON.
                    if seen == nil || !seen!.insert(key).inserted { object[key] = value } else { object.appendUnchecked(key, value) }
                }
            }
            depth -= 1
            return .object(object)
        }
    }

    private mutating func enter() throws(AvroFailure) {
        depth += 1
        if depth > Self.maxDepth { throw AvroFailure("nested deeper than \(Self.maxDepth) levels", offset: index) }
    }

    /// Zig-zag varint, at most 10 bytes, the last carrying one bit.
    mutating func long() throws(AvroFailure) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = index
        while true {
            guard index < bytes.count else { throw truncated("varint") }
            let byte = bytes[index]
            index += 1
            if shift == 63 && byte > 1 { throw AvroFailure("varint overflows 64 bits", offset: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: (result >> 1) ^ (0 &- (result & 1)))
    }

    private mutating func lengthPrefixed(_ what: String) throws(AvroFailure) -> UnsafeBufferPointer<UInt8> {
        let start = index
        let length = try long()
        guard length >= 0 else { throw AvroFailure("negative \(what) length \(length)", offset: start) }
        guard length <= Int64(remaining) else {
            throw AvroFailure("\(what) length \(length) exceeds the \(remaining) bytes left", offset: start)
        }
        let slice = UnsafeBufferPointer(rebasing: bytes[index..<index + Int(length)])
        index += Int(length)
        return slice
    }

    private mutating func string() throws(AvroFailure) -> String {
        let start = index
        let slice = try lengthPrefixed("string")
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw AvroFailure("invalid UTF-8 in string", offset: start)
        }
        return text
    }

    /// Next block's item count, nil at the terminating zero. Negative counts
    /// carry a byte size, which is read and ignored.
    private mutating func blockCount(itemSize: Int, what: String) throws(AvroFailure) -> Int? {
        let start = index
        var count = try long()
        if count == 0 { return nil }
        if count < 0 {
            guard count != Int64.min else { throw AvroFailure("invalid \(what) block count", offset: start) }
            count = -count
            let size = try long()
            guard size >= 0 else { throw AvroFailure("negative \(what) block size", offset: start) }
        }
        if itemSize > 0 {
            guard count <= Int64(remaining / itemSize) else {
                throw AvroFailure("\(what) block of \(count) items cannot fit in the \(remaining) bytes left", offset: start)
            }
        } else {
            guard count <= Int64(zeroSizeBudget) else {
                throw AvroFailure("\(what) holds more than \(Self.maxZeroSizeItems) zero-size items", offset: start)
            }
            zeroSizeBudget -= Int(count)
        }
        return Int(count)
    }

    private func bytesValue(_ slice: UnsafeBufferPointer<UInt8>, logical: AvroLogical?, at start: Int) throws(AvroFailure) -> Value {
        switch logical {
        case .decimal(_, let scale)?:
            guard slice.count <= AvroDecimal.maxBytes else {
                throw AvroFailure("decimal of \(slice.count) bytes is too large", offset: start)
            }
            return .decimal(AvroDecimal.text(unscaled: slice, scale: scale))
        case .uuid? where slice.count == 16:
            return .string(UUIDText.format(slice))
        case .duration? where slice.count == 12:
            func le32(_ i: Int) -> Value {
                .int(Int64(slice[i]) | Int64(slice[i + 1]) << 8 | Int64(slice[i + 2]) << 16 | Int64(slice[i + 3]) << 24)
            }
            return .object(ValueObject([("months", le32(0)), ("days", le32(4)), ("milliseconds", le32(8))]))
        default:
            return .bytes(Array(slice))
        }
    }


    /// Values outside what the logical type can mean (a time of day past
    /// midnight) keep their plain integer rather than failing the message.
    static func logicalInteger(_ v: Int64, _ logical: AvroLogical) -> Value {
        switch logical {
        case .date:
            return .string(CivilTime.formatDate(days: v))
        case .timeMillis:
            return CivilTime.formatTime(seconds: v / 1000, fraction: v % 1000, fractionDigits: 3).map(Value.string) ?? .int(v)
        case .timeMicros:
            return CivilTime.formatTime(seconds: v / 1_000_000, fraction: v % 1_000_000, fractionDigits: 6).map(Value.string) ?? .int(v)
        case .timestamp(let units, let digits, let utc):
            let (seconds, fraction) = CivilTime.split(v, unitsPerSecond: units)
            return .string(CivilTime.formatTimestamp(seconds: seconds, fraction: fraction, fractionDigits: digits, utc: utc))
        default:
            return .int(v)
        }
    }
}
