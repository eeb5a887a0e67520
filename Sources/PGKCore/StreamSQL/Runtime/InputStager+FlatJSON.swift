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
        let flat = scanFlatJSON(bytes, names: names, into: &flatFields, numbers: nil)
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
            // As ValueText renders a JSON fraction (a finite double).
            case .double(let number): row.append(field: "\(number)")
            }
        }
        if let key { row.append(byteaHex: key) } else { row.appendNull() }
        row.append(field: "f")
        flatJSONRecords += 1
        return true
    }

    /// Whether `combineFlatJSON` may take this input's records: a
    /// stream's flat JSON values, and no column read from the key but
    /// one KAFKA key column (`combinedKeyColumn`).
    var combinesFlatJSON: Bool {
        guard allowsFlatJSON, !source.isTable, !isWindowed, let names = flatJSONNames else { return false }
        let fromKey = names.indices.filter { names[$0] == nil }
        return fromKey.isEmpty || fromKey == [combinedKeyColumn?.index]
    }

    /// Whether it may take them for this plan: neither its aggregates nor
    /// its WHERE read the key column (numbers come only from the value).
    func combines(_ plan: QueryPlan.Combined) -> Bool {
        let fromKey = combinedKeyColumn?.index
        return combinesFlatJSON && !plan.reductions.contains { $0.field == fromKey } && !(plan.filter?.fields.contains { $0 == fromKey } ?? false)
    }

    /// Reduces a record into the batch's groups without staging a row
    /// (QueryPlan.Combined): its group key and numbers read straight from
    /// its flat JSON value (and its KAFKA key). False, with nothing added,
    /// where the record needs its staged row (not such an object, a key
    /// staging would refuse or escape, a sum that overflows).
    func combineFlatJSON(_ value: UnsafeRawBufferPointer?, key: UnsafeRawBufferPointer? = nil, rowtime: Int64?, groupFields: [Int],
                         filter: FlatFilter? = nil, into groups: inout GroupAccumulator) -> Bool {
        // A stream's null record: deleted, as staged, so in no group.
        guard let value else { return true }
        guard let names = flatJSONNames else { return false }
        // The key column, decoded as staging decodes it (a key it refuses is a dead letter there).
        let keyColumn = combinedKeyColumn
        let keyField = keyColumn?.index ?? -1
        var keyText = CopyTextEncoder()
        if let keyColumn {
            swap(&keyText, &flatKeyText)
            if let key, !Self.stageKafkaKey(key, type: keyColumn.type, into: &keyText) {
                swap(&keyText, &flatKeyText)
                return false
            }
        }
        defer { if keyColumn != nil { swap(&keyText, &flatKeyText) } }
        var flatFields = takeFlatFields(count: names.count)
        defer { self.flatFields = flatFields }
        if flatNumbers.count != names.count { flatNumbers = Array(repeating: 0, count: names.count) }
        let bytes = value.assumingMemoryBound(to: UInt8.self)
        return flatNumbers.withUnsafeMutableBufferPointer { numbers in
            guard scanFlatJSON(bytes, names: names, into: &flatFields, numbers: numbers.baseAddress) else { return false }
            // Taken, in no group, where the WHERE is not true.
            if let filter, filter.evaluate({ flatValue($0, flatFields, numbers, bytes) }) != true { return true }
            // Rows with a NULL group are dropped, as `GROUP BY … WHERE g IS NOT NULL`.
            for field in groupFields {
                if field == keyField {
                    if key == nil { return true }
                    continue
                }
                if case .absent = flatFields[field] { return true }
                if case .null = flatFields[field] { return true }
            }
            for (slot, field) in groups.numericFields.enumerated() {
                // Past the columns: `_ts`, the ROWTIME.
                guard field < names.count else {
                    groups.numbersSet[slot] = rowtime != nil
                    groups.numbers[slot] = rowtime ?? 0
                    continue
                }
                switch flatFields[field] {
                case .range, .double:
                    groups.numbersSet[slot] = true
                    groups.numbers[slot] = numbers[field]
                default:
                    groups.numbersSet[slot] = false
                }
            }
            for (slot, field) in groups.countedFields.enumerated() {
                switch flatFields[field] {
                case .absent, .null: groups.counted[slot] = false
                default: groups.counted[slot] = true
                }
            }
            // The key as the staged row holds it: flat fields need no COPY escapes.
            if groupFields.count == 1 {
                if groupFields[0] == keyField { return keyText.buffer.withUnsafeBufferPointer { groups.add(group: $0) } }
                if case .range(let text) = flatFields[groupFields[0]] { return groups.add(group: UnsafeBufferPointer(rebasing: bytes[text])) }
            }
            // Several fields, tab-joined into a buffer reused from record to record.
            var group: [UInt8] = []
            swap(&group, &flatGroupKey)
            defer { swap(&group, &flatGroupKey) }
            group.removeAll(keepingCapacity: true)
            for (position, field) in groupFields.enumerated() {
                if position > 0 { group.append(UInt8(ascii: "\t")) }
                if field == keyField {
                    group += keyText.buffer
                    continue
                }
                switch flatFields[field] {
                case .range(let text): group += bytes[text]
                case .text(let text): group += UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
                // (No group is DOUBLE: QueryPlan.Combined has none.)
                case .absent, .null, .double: break
                }
            }
            return group.withUnsafeBufferPointer { groups.add(group: $0) }
        }
    }

    /// A value column as the flat scan read it, for FlatFilter.
    private func flatValue(_ field: Int, _ flatFields: [FlatField], _ numbers: UnsafeMutableBufferPointer<Int64>,
                           _ bytes: UnsafeBufferPointer<UInt8>) -> FlatFilter.Value {
        switch (flatFields[field], flatTypes[field]) {
        case (.absent, _), (.null, _): return .null
        case (.double(let number), _): return .double(number)
        case (.range, .integer), (.range, .bigint): return .integer(numbers[field])
        case (.range, .double): return .double(GroupAccumulator.double(numbers[field]))
        case (.range(let text), _): return .text(UnsafeBufferPointer(rebasing: bytes[text]))
        case (.text(let text), .boolean): return .boolean(text.utf8Start.pointee == UInt8(ascii: "t"))
        case (.text(let text), _): return .text(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
    }

    /// A KAFKA key's one column as COPY text, as staging renders it
    /// (KafkaPrimitive, then ValueText); false where staging would refuse
    /// it, or (for brevity) where it is not ASCII text.
    static func stageKafkaKey(_ key: UnsafeRawBufferPointer, type: FlatType, into text: inout CopyTextEncoder) -> Bool {
        text.removeAll()
        switch type {
        case .integer, .bigint:
            guard key.count == (type == .integer ? 4 : 8) else { return false }
            let number = key.reduce(Int64(0)) { $0 << 8 | Int64($1) }
            text.append(integer: type == .integer ? Int64(Int32(truncatingIfNeeded: number)) : number)
        case .string:
            guard key.allSatisfy({ $0 < 0x80 }) else { return false }
            text.append(field: key.assumingMemoryBound(to: UInt8.self))
        case .double, .boolean, .other:
            return false
        }
        return true
    }

    /// Reads a flat JSON object's members into the columns' fields;
    /// false where it is not one, or a value would not render as the
    /// general path renders it. With `numbers`, a number read for an INT,
    /// BIGINT or DOUBLE column is kept there too, at the column's index
    /// (a DOUBLE's bits).
    private func scanFlatJSON(_ bytes: UnsafeBufferPointer<UInt8>, names: [[UInt8]?], into flatFields: inout [FlatField],
                              numbers: UnsafeMutablePointer<Int64>?) -> Bool {
        let types = flatTypes
        var position = 0
        return FlatJSONObject.scan(bytes, numbers: flatNumbersWanted) { member, scalar in
            // ksqlDB matches names case-insensitively; a column named twice is the general path's to settle.
            // (Names are distinct: the column in the member's position, where it matches, is the one.)
            let guess = position
            position += 1
            let index: Int
            if guess < names.count, let name = names[guess], Self.equalIgnoringASCIICase(bytes[member], name) {
                index = guess
            } else {
                guard let found = names.firstIndex(where: { $0.map { Self.equalIgnoringASCIICase(bytes[member], $0) } ?? false }) else {
                    return true
                }
                index = found
            }
            guard case .absent = flatFields[index] else { return false }
            switch (scalar, types[index]) {
            case (.null, _):
                flatFields[index] = .null
            case (.integer(let text), .integer), (.integer(let text), .bigint):
                guard let number = PgValueMapper.integer(bytes[text]),
                      types[index] == .bigint || Int32(exactly: number) != nil else { return false }
                flatFields[index] = .range(text)
                numbers?[index] = number
            case (.integer(let text), .double):
                // As JSON.decode reads it (an Int64, then rendered as its digits) and PostgreSQL then.
                guard let number = PgValueMapper.integer(bytes[text]) else { return false }
                flatFields[index] = .range(text)
                numbers?[index] = GroupAccumulator.bits(Double(number))
            case (.number(let text), .double):
                // A fraction or exponent: strtod, as JSON.decode; its infinities, and
                // "-0" (a whole number there, so 0), are the general path's.
                guard text.count != 2 || bytes[text.lowerBound] != UInt8(ascii: "-"),
                      let number = FlatJSONObject.double(bytes[text]), number.isFinite else { return false }
                flatFields[index] = .double(number)
                numbers?[index] = GroupAccumulator.bits(number)
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
