/// Pre-aggregates a batch of staged rows per group, for a plan whose
/// aggregation is plain enough (QueryPlan.Combined): the rows SQL would
/// have grouped from the staging table, reduced as its partial
/// expressions reduce them (count(*), count(x), pg_temp.ksum(x),
/// sum(x::double precision), min, max, max(_ts)), in arrival order.
///
/// Returns nil where it cannot say what SQL would (a bigint sum that
/// overflows, a field that is not a whole number): the batch then takes
/// the SQL path, whose errors send the records at fault to dead letters.
struct BatchCombiner {
    let plan: QueryPlan.Combined

    /// One group's partials, in the plan's order.
    private struct Partials {
        var integers: [Int64]
        var doubles: [Double]
        /// Whether a value was reduced yet (SUM, MIN, MAX are NULL until then).
        var seen: [Bool]
    }

    /// The partial rows in COPY text, one per group in order of first arrival.
    func partialRows(_ rows: [[UInt8]]) -> CopyTextEncoder? {
        var groups: [ArraySlice<UInt8>: Int] = [:]
        var keys: [ArraySlice<UInt8>] = []
        var partials: [Partials] = []
        let width = plan.reductions.count
        var fields: [Range<Int>] = []
        // Group columns side by side in the row make the key as they stand.
        let adjacent = zip(plan.groupFields, plan.groupFields.dropFirst()).allSatisfy { $0 + 1 == $1 }
        for row in rows {
            Self.split(row, into: &fields)
            guard fields.count > plan.rowtimeField else { return nil }
            let deleted = fields[plan.deletedField]
            if deleted.count == 1 && row[deleted.lowerBound] == UInt8(ascii: "t") { continue }
            // Rows with a NULL group are dropped, as `GROUP BY … WHERE g IS NOT NULL`.
            if plan.groupFields.contains(where: { Self.isNull(row, fields[$0]) }) { continue }
            // The group's fields as they stand in the row, tab-joined when apart.
            let key: ArraySlice<UInt8>
            if adjacent {
                key = row[fields[plan.groupFields.first!].lowerBound..<fields[plan.groupFields.last!].upperBound]
            } else {
                var joined: [UInt8] = []
                for (position, field) in plan.groupFields.enumerated() {
                    if position > 0 { joined.append(UInt8(ascii: "\t")) }
                    joined += row[fields[field]]
                }
                key = joined[...]
            }
            let group: Int
            if let known = groups[key] { group = known } else {
                group = partials.count
                groups[key] = group
                keys.append(key)
                partials.append(Partials(integers: Array(repeating: 0, count: width), doubles: Array(repeating: 0, count: width),
                                         seen: Array(repeating: false, count: width)))
            }
            for (slot, (reduction, field)) in plan.reductions.enumerated() {
                let text = fields[field]
                switch reduction {
                case .count:
                    partials[group].integers[slot] += 1
                case .countValues:
                    if !Self.isNull(row, text) { partials[group].integers[slot] += 1 }
                case .sum, .min, .max, .latestRowtime:
                    if Self.isNull(row, text) { continue }
                    guard let value = PgValueMapper.integer(row[text]) else { return nil }
                    let seen = partials[group].seen[slot]
                    let old = partials[group].integers[slot]
                    switch reduction {
                    case .sum:
                        let (total, overflow) = old.addingReportingOverflow(value)
                        if overflow { return nil }
                        partials[group].integers[slot] = total
                    case .min: partials[group].integers[slot] = seen ? Swift.min(old, value) : value
                    default: partials[group].integers[slot] = seen ? Swift.max(old, value) : value
                    }
                    partials[group].seen[slot] = true
                case .sumAsDouble:
                    if Self.isNull(row, text) { continue }
                    guard let value = PgValueMapper.integer(row[text]) else { return nil }
                    partials[group].doubles[slot] += Double(value)
                    partials[group].seen[slot] = true
                }
            }
        }
        var out = CopyTextEncoder(reservingCapacity: partials.count * (16 + 12 * width))
        for (key, group) in zip(keys, partials) {
            out.append(encodedFields: Array(key))
            for (slot, (reduction, _)) in plan.reductions.enumerated() {
                switch reduction {
                case .count, .countValues: out.append(field: String(group.integers[slot]))
                case .sum, .min, .max, .latestRowtime: out.append(field: group.seen[slot] ? String(group.integers[slot]) : nil)
                // Swift's shortest round-trip text, which float8in reads back exactly.
                case .sumAsDouble: out.append(field: group.seen[slot] ? "\(group.doubles[slot])" : nil)
                }
            }
            out.endRow()
        }
        return out
    }

    /// The ranges of a COPY text row's tab-separated fields (escaped
    /// fields hold no raw tab).
    static func split(_ row: [UInt8], into fields: inout [Range<Int>]) {
        fields.removeAll(keepingCapacity: true)
        var start = 0
        for index in row.indices where row[index] == UInt8(ascii: "\t") {
            fields.append(start..<index)
            start = index + 1
        }
        fields.append(start..<row.count)
    }

    private static func isNull(_ row: [UInt8], _ field: Range<Int>) -> Bool {
        field.count == 2 && row[field.lowerBound] == UInt8(ascii: "\\") && row[field.lowerBound + 1] == UInt8(ascii: "N")
    }
}
