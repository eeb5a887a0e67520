struct AvroEncodeOptions: Sendable {
    /// Strings given for `bytes`/`fixed` fields are base64 (how pgk's JSON
    /// renders bytes) instead of raw UTF-8 text. Off by default: guessing
    /// would silently corrupt text that happens to look like base64.
    var bytesAsBase64: Bool

    init(bytesAsBase64: Bool = false) {
        self.bytesAsBase64 = bytesAsBase64
    }
}

/// `Value` → Avro binary for one schema (the produce side).
///
/// Conversions are lenient only where no information is lost: numbers go
/// into any numeric type whose range holds them, numeric text into numeric
/// fields, RFC 3339 / ISO text into date and time logical types, decimal
/// text or numbers into decimals (never rounded). Unions take `.null` in the
/// null branch, otherwise the first branch whose type matches exactly, then
/// the first that converts, then Avro JSON's `{"branch": value}` form.
/// Record fields not in the schema are ignored; missing ones take their
/// default or fail naming their path.
struct AvroBinaryWriter {
    let nodes: UnsafeBufferPointer<AvroNode>
    let options: AvroEncodeOptions
    var out: [UInt8]

    mutating func write(_ value: Value, _ n: Int, isDefault: Bool = false) throws(AvroFailure) {
        let node = nodes[n]
        switch node.kind {
        case .null:
            guard case .null = value else { throw mismatch(value, "null") }
        case .boolean:
            guard case .bool(let b) = value else { throw mismatch(value, "boolean") }
            out.append(b ? 1 : 0)
        case .int, .long:
            try writeInteger(value, node)
        case .float:
            guard let d = Self.number(value) else { throw mismatch(value, "float") }
            guard Float(d).isFinite || !d.isFinite else { throw AvroFailure("\(d) is out of range for an Avro float") }
            let bits = Float(d).bitPattern
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(i)))) }
        case .double:
            guard let d = Self.number(value) else { throw mismatch(value, "double") }
            let bits = d.bitPattern
            for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        case .string:
            guard case .string(var s) = value else { throw mismatch(value, node.logical == .uuid ? "uuid string" : "string") }
            s.withUTF8 { utf8 in
                writeLong(Int64(utf8.count))
                out.append(contentsOf: utf8)
            }
        case .bytes:
            let bytes = try binary(value, node, isDefault: isDefault)
            writeLong(Int64(bytes.count))
            out.append(contentsOf: bytes)
        case .fixed(let size):
            var bytes = try binary(value, node, isDefault: isDefault)
            if case .decimal? = node.logical {
                guard let fitted = AvroDecimal.fit(bytes, size: size) else {
                    throw AvroFailure("\(value.jsonText) does not fit in the \(size) bytes of \(node.name)")
                }
                bytes = fitted
            }
            guard bytes.count == size else {
                throw AvroFailure("\(node.name) needs exactly \(size) bytes, got \(bytes.count)")
            }
            out.append(contentsOf: bytes)
        case .enumeration(let symbols):
            guard case .string(let s) = value else { throw mismatch(value, "enum \(node.name)") }
            guard let i = symbols.firstIndex(of: s) else {
                let shown = symbols.prefix(10).joined(separator: ", ") + (symbols.count > 10 ? ", …" : "")
                throw AvroFailure("'\(s)' is not a symbol of enum \(node.name) (\(shown))")
            }
            writeLong(Int64(i))
        case .array(let items):
            guard case .array(let list) = value else { throw mismatch(value, "array") }
            if !list.isEmpty {
                writeLong(Int64(list.count))
                for (i, item) in list.enumerated() {
                    do { try write(item, items, isDefault: isDefault) } catch { throw error.within("[\(i)]") }
                }
            }
            writeLong(0)
        case .map(let valuesType):
            guard case .object(let object) = value else { throw mismatch(value, "map") }
            if !object.isEmpty {
                writeLong(Int64(object.count))
                for (key, item) in object {
                    write(.string(key))
                    do { try write(item, valuesType, isDefault: isDefault) } catch { throw error.within("[\(JSON.encode(.string(key)))]") }
                }
            }
            writeLong(0)
        case .record(let fields, _):
            guard case .object(let object) = value else { throw mismatch(value, "record \(node.name)") }
            try writeRecord(object, fields, isDefault: isDefault)
        case .union(let branches, let nullIndex):
            try writeUnion(value, branches, nullIndex, isDefault: isDefault)
        }
    }

    private mutating func write(_ string: Value) {
        guard case .string(var s) = string else { return }
        s.withUTF8 { utf8 in
            writeLong(Int64(utf8.count))
            out.append(contentsOf: utf8)
        }
    }

    mutating func writeLong(_ v: Int64) {
        var n = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        while n >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: n) | 0x80)
            n >>= 7
        }
        out.append(UInt8(n))
    }

    private mutating func writeRecord(_ object: ValueObject, _ fields: [AvroField], isDefault: Bool) throws(AvroFailure) {
        // Objects usually list the fields in schema order; a cursor finds
        // them without a search per field.
        var cursor = 0
        for field in fields {
            var found: Value?
            if cursor < object.count, object.keys[cursor] == field.name {
                found = object.values[cursor]
                cursor += 1
            } else {
                found = object[field.name]
            }
            do throws(AvroFailure) {
                if let found {
                    try write(found, field.type, isDefault: isDefault)
                } else if let fallback = field.defaultValue {
                    do { try write(fallback, field.type, isDefault: true) } catch {
                        throw AvroFailure("the schema's default \(fallback.jsonText) does not fit the field: \(error.reason)")
                    }
                } else {
                    throw AvroFailure("missing field (the schema gives no default)")
                }
            } catch {
                throw error.within("." + field.name)
            }
        }
    }

    private mutating func writeUnion(_ value: Value, _ branches: [Int], _ nullIndex: Int?, isDefault: Bool) throws(AvroFailure) {
        if case .null = value {
            guard let nullIndex else { throw AvroFailure("null is not allowed: the union \(unionNames(branches)) has no null branch") }
            writeLong(Int64(nullIndex))
            return
        }
        // A default belongs to the first branch (Avro spec); try it first.
        var candidates: [Int] = isDefault ? [0] : []
        var exactCount = 0
        for wanted in [2, 1] {
            for (i, branch) in branches.enumerated() where Self.score(value, nodes[branch]) == wanted && !candidates.contains(i) {
                candidates.append(i)
                if wanted == 2 { exactCount += 1 }
            }
        }
        var lastError: AvroFailure?
        let mark = out.count
        for i in candidates {
            writeLong(Int64(i))
            do {
                try write(value, branches[i], isDefault: isDefault)
                return
            } catch {
                out.removeSubrange(mark...)
                lastError = error
            }
        }
        // Avro JSON's {"branch name": value}, as other producers send it.
        if case .object(let object) = value, object.count == 1 {
            let key = object.keys[0]
            if let i = branches.firstIndex(where: { Self.branchName(nodes[$0], matches: key) }) {
                writeLong(Int64(i))
                try write(object.values[0], branches[i], isDefault: isDefault)
                return
            }
        }
        // One branch of the value's own kind failing deeper says more than "no branch".
        if candidates.count == 1, exactCount == 1, let lastError { throw lastError }
        throw AvroFailure("no branch of the union \(unionNames(branches)) accepts \(Self.describe(value))")
    }

    private func unionNames(_ branches: [Int]) -> String {
        "[" + branches.map { nodes[$0].name }.joined(separator: ", ") + "]"
    }

    private static func branchName(_ node: AvroNode, matches key: String) -> Bool {
        if node.name == key { return true }
        if let dot = node.name.lastIndex(of: ".") { return node.name[node.name.index(after: dot)...] == key }
        return false
    }

    /// 2: the value's kind is the branch's own; 1: it converts; 0: no.
    private static func score(_ value: Value, _ node: AvroNode) -> Int {
        let decimal: Bool
        if case .decimal? = node.logical { decimal = true } else { decimal = false }
        switch (value, node.kind) {
        case (.bool, .boolean): return 2
        case (.int, .int), (.int, .long): return node.logical == nil ? 2 : 1
        case (.int, .float), (.int, .double): return 1
        case (.double, .float), (.double, .double): return 2
        case (.double, .int), (.double, .long): return node.logical == nil ? 1 : 0
        case (.decimal, .bytes), (.decimal, .fixed): return decimal ? 2 : 0
        case (.decimal, .float), (.decimal, .double), (.decimal, .int), (.decimal, .long): return 1
        case (.int, .bytes), (.int, .fixed), (.double, .bytes), (.double, .fixed): return decimal ? 1 : 0
        case (.string, .string): return 2
        case (.string, .enumeration(let symbols)): return symbols.contains(value.stringValue!) ? 2 : 0
        case (.string, .int), (.string, .long): return node.logical == nil ? 1 : 2
        case (.string, .fixed): return node.logical == .uuid ? 2 : 1
        case (.string, .bytes), (.string, .float), (.string, .double): return 1
        case (.bytes, .bytes), (.bytes, .fixed): return decimal ? 0 : 2
        case (.array, .array), (.object, .record), (.object, .map): return 2
        case (.object, .fixed): return node.logical == .duration ? 1 : 0
        default: return 0
        }
    }

    private mutating func writeInteger(_ value: Value, _ node: AvroNode) throws(AvroFailure) {
        let isInt: Bool
        if case .int = node.kind { isInt = true } else { isInt = false }
        var v: Int64
        if case .string(let text) = value, let logical = node.logical {
            v = try Self.logicalInteger(text, logical)
        } else if let exact = Self.integer(value) {
            v = exact
        } else {
            throw mismatch(value, isInt ? "int" : "long")
        }
        if isInt {
            guard let narrow = Int32(exactly: v) else { throw AvroFailure("\(v) is out of range for an Avro int (32-bit)") }
            v = Int64(narrow)
        }
        writeLong(v)
    }

    private static func logicalInteger(_ text: String, _ logical: AvroLogical) throws(AvroFailure) -> Int64 {
        switch logical {
        case .date:
            guard let days = CivilTime.parseDate(text) else { throw AvroFailure("'\(text)' is not a date like 2024-01-31") }
            return days
        case .timeMillis, .timeMicros:
            guard let nanos = CivilTime.parseTime(text) else { throw AvroFailure("'\(text)' is not a time like 13:45:00.123") }
            return logical == .timeMillis ? nanos / 1_000_000 : nanos / 1000
        case .timestamp(let units, _, _):
            guard let (seconds, nanos) = CivilTime.parseTimestamp(text) else {
                throw AvroFailure("'\(text)' is not an RFC 3339 timestamp like 2024-01-31T13:45:00Z")
            }
            let (scaled, overflow) = seconds.multipliedReportingOverflow(by: units)
            let (total, overflow2) = scaled.addingReportingOverflow(nanos / (1_000_000_000 / units))
            guard !overflow, !overflow2 else { throw AvroFailure("'\(text)' is out of range") }
            return total
        default:
            throw AvroFailure("'\(text)' is not a number")
        }
    }

    /// Exact integers only: 2.5 or "1e400" never land in an int field.
    static func integer(_ value: Value) -> Int64? {
        switch value {
        case .int(let i): return i
        case .double(let d): return d.rounded() == d && abs(d) < 9.2e18 ? Int64(d) : nil
        case .decimal(let text), .string(let text):
            if let i = Int64(text) { return i }
            guard let d = Double(text), d.rounded() == d, abs(d) < 9.0e15 else { return nil }
            return Int64(d)
        default: return nil
        }
    }

    static func number(_ value: Value) -> Double? {
        switch value {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .decimal(let text), .string(let text): return Double(text)
        default: return nil
        }
    }

    private func binary(_ value: Value, _ node: AvroNode, isDefault: Bool) throws(AvroFailure) -> [UInt8] {
        switch node.logical {
        case .decimal(let precision, let scale)?:
            let text: String
            switch value {
            case .decimal(let t), .string(let t): text = t
            case .int(let i): text = String(i)
            case .double(let d) where d.isFinite: text = "\(d)"
            default: throw mismatch(value, "decimal")
            }
            switch AvroDecimal.unscaledBytes(text, precision: precision, scale: scale) {
            case .success(let bytes): return bytes
            case .failure(let failure): throw failure
            }
        case .uuid?:
            if case .string(let text) = value {
                let hex = text.utf8.filter { $0 != UInt8(ascii: "-") }
                guard hex.count == 32, let bytes = Self.hexBytes(hex) else { throw AvroFailure("'\(text)' is not a UUID") }
                return bytes
            }
        case .duration?:
            if case .object(let object) = value {
                var bytes: [UInt8] = []
                for key in ["months", "days", "milliseconds"] {
                    guard let n = object[key].flatMap(Self.integer), let u = UInt32(exactly: n) else {
                        throw AvroFailure("a duration needs \"\(key)\" as an unsigned 32-bit integer")
                    }
                    for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: u >> (8 * UInt32(i)))) }
                }
                return bytes
            }
        case nil, .date?, .timeMillis?, .timeMicros?, .timestamp?:
            break
        }
        switch value {
        case .bytes(let bytes):
            return bytes
        case .string(let text) where isDefault:
            // Avro JSON defaults spell bytes as code points 0-255.
            var bytes: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard scalar.value < 256 else { throw AvroFailure("a bytes default may only hold code points up to U+00FF") }
                bytes.append(UInt8(scalar.value))
            }
            return bytes
        case .string(let text) where options.bytesAsBase64:
            guard let bytes = Base64.decode(text) else { throw AvroFailure("'\(text.prefix(40))' is not base64") }
            return bytes
        case .string(let text):
            return Array(text.utf8)
        default:
            throw mismatch(value, node.name)
        }
    }

    private static func hexBytes(_ hex: [UInt8]) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 55
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        var i = 0
        while i + 1 < hex.count {
            guard let high = nibble(hex[i]), let low = nibble(hex[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        return bytes
    }

    private func mismatch(_ value: Value, _ expected: String) -> AvroFailure {
        AvroFailure("expected \(expected), got \(Self.describe(value))")
    }

    static func describe(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return "boolean \(b)"
        case .int(let i): return "integer \(i)"
        case .double(let d): return "number \(d)"
        case .decimal(let t): return "number \(t)"
        case .string(let s): return "string \(JSON.encode(.string(String(s.prefix(40)))))"
        case .bytes(let b): return "\(b.count) bytes"
        case .array(let a): return "an array of \(a.count)"
        case .object: return "an object"
        }
    }
}
