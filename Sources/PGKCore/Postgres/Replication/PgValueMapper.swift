/// Turns a column's text form (as pgoutput and COPY send it, with the
/// session settings pgk sets: DateStyle ISO, TimeZone UTC, bytea hex) into
/// a `Value`. Never fails: text it cannot interpret stays a string.
enum PgValueMapper {
    static func value(_ kind: PgValueKind, _ text: ArraySlice<UInt8>) -> Value {
        switch kind {
        case .integer:
            return integer(text).map(Value.int) ?? .string(string(text))
        case .float:
            if let number = Double(string(text)), number.isFinite { return .double(number) }
            return .string(string(text))
        case .numeric, .text:
            return .string(string(text))
        case .boolean:
            if text.count == 1, let first = text.first {
                if first == UInt8(ascii: "t") { return .bool(true) }
                if first == UInt8(ascii: "f") { return .bool(false) }
            }
            return .string(string(text))
        case .json:
            let bytes = Array(text)
            do { return try JSON.decode(bytes, options: JSON.ReadOptions(preserveNumberText: true)) } catch {
                return .string(string(text))
            }
        case .bytea:
            return bytea(text).map(Value.bytes) ?? .string(string(text))
        case .timestamp, .timestamptz:
            return .string(rfc3339(text, hasZone: kind == .timestamptz))
        case .array(let element, let delimiter):
            do {
                return convert(try PgArrayText.parse(text, delimiter: delimiter), element)
            } catch {
                return .string(string(text))
            }
        }
    }

    private static func convert(_ node: PgArrayText.Node, _ element: PgValueKind) -> Value {
        switch node {
        case .array(let items): return .array(items.map { convert($0, element) })
        case .element(nil): return .null
        case .element(let text?): return value(element, ArraySlice(text.utf8))
        }
    }

    static func string(_ text: ArraySlice<UInt8>) -> String { String(decoding: text, as: UTF8.self) }

    /// Decimal digits with an optional sign, in Int64 range.
    static func integer<Digits: Collection<UInt8>>(_ text: Digits) -> Int64? where Digits.Index == Int {
        var index = text.startIndex
        guard index < text.endIndex else { return nil }
        let negative = text[index] == UInt8(ascii: "-")
        if negative || text[index] == UInt8(ascii: "+") { index += 1 }
        guard index < text.endIndex else { return nil }
        var value: Int64 = 0
        // Up to 18 digits cannot overflow: no checks per digit (they were
        // most of the time pre-aggregating a batch, ROWTIME having 13).
        if text.endIndex - index <= 18 {
            while index < text.endIndex {
                let digit = text[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value &* 10 &+ Int64(digit)
                index += 1
            }
            return negative ? -value : value
        }
        while index < text.endIndex {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? times.subtractingReportingOverflow(Int64(digit))
                                             : times.addingReportingOverflow(Int64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// bytea in hex (`\x0a1b`) or the old escape format (`a\\b\001`).
    static func bytea(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        let start = text.startIndex
        if text.count >= 2, text[start] == UInt8(ascii: "\\"), text[start + 1] == UInt8(ascii: "x") {
            guard text.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity((text.count - 2) / 2)
            var index = start + 2
            while index < text.endIndex {
                guard let high = hex(text[index]), let low = hex(text[index + 1]) else { return nil }
                out.append(high << 4 | low)
                index += 2
            }
            return out
        }
        var out: [UInt8] = []
        var index = start
        while index < text.endIndex {
            let byte = text[index]
            guard byte == UInt8(ascii: "\\") else { out.append(byte); index += 1; continue }
            if index + 1 < text.endIndex, text[index + 1] == UInt8(ascii: "\\") {
                out.append(byte)
                index += 2
                continue
            }
            guard index + 3 < text.endIndex else { return nil }
            var value: UInt8 = 0
            for offset in 1...3 {
                let digit = text[index + offset] &- UInt8(ascii: "0")
                guard digit < 8 else { return nil }
                value = value << 3 | digit
            }
            out.append(value)
            index += 4
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// `2024-01-02 03:04:05.123456+00` → `2024-01-02T03:04:05.123456Z`;
    /// `+05:30` offsets stay, `+05` becomes `+05:00`. A timestamp without
    /// time zone is taken as UTC (as Debezium does). `infinity` and BC
    /// dates have no RFC 3339 form and keep their text.
    static func rfc3339(_ text: ArraySlice<UInt8>, hasZone: Bool) -> String {
        var out: [UInt8] = []
        Array(text).withUnsafeBufferPointer { appendRFC3339($0, hasZone: hasZone, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The byte-level form of `rfc3339`, appending to `out`.
    static func appendRFC3339(_ text: UnsafeBufferPointer<UInt8>, hasZone: Bool, to out: inout [UInt8]) {
        let count = text.count
        guard count >= 19, text[10] == UInt8(ascii: " "), text[4] == UInt8(ascii: "-"),
              !text.contains(UInt8(ascii: "B")) else {
            out.append(contentsOf: text)
            return
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<10]))
        out.append(UInt8(ascii: "T"))
        guard hasZone else {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[11..<count]))
            out.append(UInt8(ascii: "Z"))
            return
        }
        // The zone starts at the last '+' or '-' after the time.
        var sign = count - 1
        while sign >= 19, text[sign] != UInt8(ascii: "+"), text[sign] != UInt8(ascii: "-") { sign -= 1 }
        guard sign >= 19 else {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[11..<count]))
            return
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: text[11..<sign]))
        let zone = UnsafeBufferPointer(rebasing: text[(sign + 1)..<count])
        if zone.allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: ":") }) {
            out.append(UInt8(ascii: "Z"))
            return
        }
        out.append(text[sign])
        out.append(contentsOf: zone)
        // RFC 3339 offsets have minutes; historical LMT offsets keep their seconds (ISO 8601).
        if zone.count == 2 { out.append(contentsOf: ":00".utf8) }
    }
}
