/// InputStager's fast path for flat JSON objects (see FlatJSONObject).
extension InputStager {
    /// Stages a flat JSON object without decoding it into a Value; false
    /// (nothing appended) where it is not one, or a value would not
    /// render as the general path renders it: that path then takes it.
    func stageFlatJSON(_ value: UnsafeRawBufferPointer, keyValue: (ColumnSource) -> Value?, key: UnsafeRawBufferPointer?,
                       into row: inout CopyTextEncoder) throws -> Bool {
        guard allowsFlatJSON, let names = flatJSONNames else { return false }
        // Worked on as locals, not as this class's properties: each write
        // to those paid an exclusivity check and a uniqueness check.
        var flatFields = takeFlatFields(count: names.count)
        defer { self.flatFields = flatFields }
        let bytes = value.assumingMemoryBound(to: UInt8.self)
        let types = flatTypes
        let flat = FlatJSONObject.scan(bytes) { member, scalar in
            // ksqlDB matches names case-insensitively; a column named twice is the general path's to settle.
            guard let index = names.firstIndex(where: { $0.map { Self.equalIgnoringASCIICase(bytes[member], $0) } ?? false }) else {
                return true
            }
            guard case .absent = flatFields[index] else { return false }
            switch (scalar, types[index]) {
            case (.null, _):
                flatFields[index] = .null
            case (.integer(let text), .integer), (.integer(let text), .bigint):
                guard let number = PgValueMapper.integer(bytes[text]),
                      types[index] == .bigint || Int32(exactly: number) != nil else { return false }
                flatFields[index] = .range(text)
            case (.integer(let text), .string):
                // Past BIGINT, the general path's number is no longer this text.
                guard PgValueMapper.integer(bytes[text]) != nil else { return false }
                flatFields[index] = .range(text)
            case (.string(let text), .string):
                flatFields[index] = .range(text)
            case (.bool(let flag), .string):
                flatFields[index] = .text(flag ? "true" : "false")
            case (.bool(let flag), .boolean):
                flatFields[index] = .text(flag ? "t" : "f")
            default:
                return false
            }
            return true
        }
        // A table row needs its key: the general path says so where it has none.
        guard flat, !source.isTable || !columnSources.contains(where: { $0.isKey && (keyValue($0) ?? .null).isNull }) else { return false }
        // By index, and into columnSources only for a key: copying a
        // ColumnSource per column retained and released its strings.
        for index in names.indices {
            if names[index] == nil {
                let column = columnSources[index]
                row.append(field: try ValueText.render(keyValue(column) ?? .null, as: column.column.type, column: column.column.name))
                continue
            }
            switch flatFields[index] {
            case .absent, .null: row.appendNull()
            case .range(let text): row.append(field: UnsafeBufferPointer(rebasing: bytes[text]))
            case .text(let text): row.append(field: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
            }
        }
        if let key { row.append(byteaHex: key) } else { row.appendNull() }
        row.append(field: "f")
        flatJSONRecords += 1
        return true
    }

    private static func equalIgnoringASCIICase(_ member: Slice<UnsafeBufferPointer<UInt8>>, _ upper: [UInt8]) -> Bool {
        guard member.count == upper.count else { return false }
        for (byte, wanted) in zip(member, upper) {
            let folded = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
            if folded != wanted { return false }
        }
        return true
    }

    /// The reused field slots, all absent, moved out of the property.
    private func takeFlatFields(count: Int) -> [FlatField] {
        var fields: [FlatField] = []
        swap(&fields, &flatFields)
        if fields.count != count { return Array(repeating: .absent, count: count) }
        for index in fields.indices { fields[index] = .absent }
        return fields
    }
}
