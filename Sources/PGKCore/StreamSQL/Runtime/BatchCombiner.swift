#if canImport(Glibc)
import Glibc
#endif

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

    /// The partial rows of separate staged rows (tests).
    func partialRows(_ rows: [[UInt8]]) -> CopyTextEncoder? {
        var ranges: [Range<Int>] = []
        var packed: [UInt8] = []
        for row in rows {
            ranges.append(packed.count..<packed.count + row.count)
            packed += row
        }
        return partialRows(packed, ranges)
    }

    /// The partial rows in COPY text, one per group in order of first
    /// arrival, of the staged rows at `ranges` in `buffer`.
    func partialRows(_ buffer: [UInt8], _ ranges: some Sequence<Range<Int>>) -> CopyTextEncoder? {
        // Staged rows of a query with a WHERE: SQL filters them.
        guard plan.filter == nil else { return nil }
        var groups = GroupAccumulator(plan)
        let (groupFields, deletedField, rowtimeField) = (plan.groupFields, plan.deletedField, plan.rowtimeField)
        let (numericFields, countedFields) = (groups.numericFields, groups.countedFields)
        var fields: [Range<Int>] = []
        var joined: [UInt8] = []
        // Group columns side by side in the row make the key as they stand.
        let adjacent = zip(groupFields, groupFields.dropFirst()).allSatisfy { $0 + 1 == $1 }
        let complete: Bool = buffer.withUnsafeBufferPointer { bytes in
            rows: for range in ranges {
                let row = bytes[range]
                Self.split(row, into: &fields)
                guard fields.count > rowtimeField else { return false }
                let deleted = fields[deletedField]
                if deleted.count == 1 && row[deleted.lowerBound] == UInt8(ascii: "t") { continue }
                // Rows with a NULL group are dropped, as `GROUP BY … WHERE g IS NOT NULL`.
                for field in groupFields where Self.isNull(row, fields[field]) { continue rows }
                for (slot, field) in numericFields.enumerated() {
                    let text = fields[field]
                    groups.numbersSet[slot] = !Self.isNull(row, text)
                    guard groups.numbersSet[slot] else { continue }
                    if groups.numericIsDouble[slot] {
                        // NaN and infinities (staged from DELIMITED text, say) are SQL's to order and add.
                        guard let value = FlatJSONObject.double(row[text]), value.isFinite else { return false }
                        groups.numbers[slot] = GroupAccumulator.bits(value)
                        continue
                    }
                    guard let value = PgValueMapper.integer(row[text]) else { return false }
                    groups.numbers[slot] = value
                }
                for (slot, field) in countedFields.enumerated() { groups.counted[slot] = !Self.isNull(row, fields[field]) }
                // The group's fields as they stand in the row, tab-joined when apart.
                let added: Bool
                if adjacent {
                    let key = fields[groupFields.first!].lowerBound..<fields[groupFields.last!].upperBound
                    added = groups.add(group: UnsafeBufferPointer(rebasing: bytes[key]))
                } else {
                    joined.removeAll(keepingCapacity: true)
                    for (position, field) in groupFields.enumerated() {
                        if position > 0 { joined.append(UInt8(ascii: "\t")) }
                        joined += row[fields[field]]
                    }
                    added = joined.withUnsafeBufferPointer { groups.add(group: $0) }
                }
                if !added { return false }
            }
            return true
        }
        return complete ? groups.partialRows() : nil
    }

    /// The ranges of a COPY text row's tab-separated fields (escaped
    /// fields hold no raw tab).
    static func split(_ row: Slice<UnsafeBufferPointer<UInt8>>, into fields: inout [Range<Int>]) {
        fields.removeAll(keepingCapacity: true)
        guard let base = row.base.baseAddress else { return fields.append(row.startIndex..<row.endIndex) }
        // memchr, not a loop over bytes: this scan was a fifth of the combiner's time.
        var start = row.startIndex
        while start < row.endIndex, let tab = memchr(base + start, 0x09, row.endIndex - start) {
            let index = base.distance(to: tab.assumingMemoryBound(to: UInt8.self))
            fields.append(start..<index)
            start = index + 1
        }
        fields.append(start..<row.endIndex)
    }

    private static func isNull(_ row: Slice<UnsafeBufferPointer<UInt8>>, _ field: Range<Int>) -> Bool {
        field.count == 2 && row[field.lowerBound] == UInt8(ascii: "\\") && row[field.lowerBound + 1] == UInt8(ascii: "N")
    }
}

/// A batch's groups and their partial reductions, a row at a time: the
/// caller sets the row's `numbers` and `counted`, then `add`s its group.
/// BatchCombiner feeds it staged rows; InputStager feeds it flat JSON
/// records straight from Kafka, with no staged row at all.
struct GroupAccumulator {
    let reductions: [(QueryPlan.Combined.Reduction, field: Int)]
    /// The whole-number fields the reductions read, each parsed once per
    /// row (SUM and AVG of one column read the same field).
    let numericFields: [Int]
    /// The fields COUNT(x) reads: only whether they are NULL matters.
    let countedFields: [Int]
    /// Each reduction's work on a row, worked out once: what it does, and
    /// which slot of `numbers` or `counted` it reads (one array lookup a
    /// reduction per row, where reading the reduction, its slot and its
    /// kind were three).
    private enum Step { case count, countValues(Int), sum(Int), min(Int), max(Int), doubleSum(Int), doubleMin(Int), doubleMax(Int), avgSum(Int), avgSumOfDouble(Int) }
    private let steps: [Step]
    /// Per numeric field, whether it is DOUBLE: its `numbers` slot then
    /// holds the double's bits (`bits`), not a whole number.
    let numericIsDouble: [Bool]
    /// The row's value of each numeric field, where `numbersSet`.
    var numbers: [Int64]
    var numbersSet: [Bool]
    /// Whether each counted field of the row is not NULL.
    var counted: [Bool]
    private var groups = GroupIndex()
    // Every group's partials side by side, one slot per reduction, in the plan's order.
    private var integers: [Int64] = [], doubles: [Double] = []
    /// Whether a value was reduced yet (SUM, MIN, MAX are NULL until then).
    private var seen: [Bool] = []

    init(_ plan: QueryPlan.Combined) {
        reductions = plan.reductions
        let numeric = Array(Set(reductions.filter { ![.count, .countValues].contains($0.0) }.map(\.field))).sorted()
        let countedOnes = Array(Set(reductions.filter { $0.0 == .countValues }.map(\.field))).sorted()
        // Per reduction, its slot in `numbers` or `counted` (-1 for none).
        let slots = reductions.map { reduction, field in
            switch reduction {
            case .count: return -1
            case .countValues: return countedOnes.firstIndex(of: field)!
            default: return numeric.firstIndex(of: field)!
            }
        }
        (numericFields, countedFields) = (numeric, countedOnes)
        numericIsDouble = numeric.map { plan.doubleFields.contains($0) }
        steps = zip(reductions, slots).map { reduction, slot -> Step in
            let double = plan.doubleFields.contains(reduction.field)
            switch reduction.0 {
            case .count: return .count
            case .countValues: return .countValues(slot)
            case .sum: return double ? .doubleSum(slot) : .sum(slot)
            case .min: return double ? .doubleMin(slot) : .min(slot)
            case .max, .latestRowtime: return double ? .doubleMax(slot) : .max(slot)
            case .sumAsDouble: return double ? .avgSumOfDouble(slot) : .avgSum(slot)
            }
        }
        numbers = Array(repeating: 0, count: numeric.count)
        numbersSet = Array(repeating: false, count: numeric.count)
        counted = Array(repeating: false, count: countedOnes.count)
    }

    var groupCount: Int { groups.count }

    /// Reduces the row set in `numbers` and `counted` into `key`'s group
    /// (its group fields in COPY text, tab-joined); false where SQL would
    /// fail (a bigint sum that overflows), leaving the groups unusable.
    mutating func add(group key: UnsafeBufferPointer<UInt8>) -> Bool {
        let (group, isNew) = groups.group(of: key)
        let width = reductions.count
        if isNew {
            integers += repeatElement(0, count: width)
            doubles += repeatElement(0, count: width)
            seen += repeatElement(false, count: width)
        }
        for (slot, step) in steps.enumerated() {
            let at = group * width + slot
            switch step {
            case .count:
                integers[at] += 1
            case .countValues(let counter):
                if counted[counter] { integers[at] += 1 }
            case .sum(let number):
                guard numbersSet[number] else { continue }
                let (total, overflow) = integers[at].addingReportingOverflow(numbers[number])
                if overflow { return false }
                integers[at] = total
                seen[at] = true
            case .min(let number), .max(let number):
                guard numbersSet[number] else { continue }
                let (value, old) = (numbers[number], integers[at])
                if case .min = step {
                    integers[at] = seen[at] ? Swift.min(old, value) : value
                } else {
                    integers[at] = seen[at] ? Swift.max(old, value) : value
                }
                seen[at] = true
            case .doubleSum(let number), .avgSum(let number), .avgSumOfDouble(let number):
                guard numbersSet[number] else { continue }
                let value = { if case .avgSum = step { return Double(numbers[number]) } else { return Self.double(numbers[number]) } }()
                guard reduce(.sum, value, at: at) else { return false }
            case .doubleMin(let number), .doubleMax(let number):
                guard numbersSet[number] else { continue }
                let reduction: QueryPlan.Combined.Reduction = { if case .doubleMin = step { return .min } else { return .max } }()
                guard reduce(reduction, Self.double(numbers[number]), at: at) else { return false }
            }
        }
        return true
    }

    /// A double into its partial as PostgreSQL's float8 functions reduce
    /// it: a sum starts at the first value (float8pl, no initial 0, so
    /// -0 stays -0) and fails past the largest double; min and max keep
    /// the later of equal values (float8smaller, float8larger).
    private mutating func reduce(_ reduction: QueryPlan.Combined.Reduction, _ value: Double, at: Int) -> Bool {
        let old = doubles[at]
        switch reduction {
        case .sum:
            let total = seen[at] ? old + value : value
            guard total.isFinite else { return false }
            doubles[at] = total
        case .min: doubles[at] = seen[at] && old < value ? old : value
        case .max: doubles[at] = seen[at] && old > value ? old : value
        default: return false
        }
        seen[at] = true
        return true
    }

    /// A double kept in a `numbers` slot, and back.
    static func bits(_ value: Double) -> Int64 { Int64(bitPattern: value.bitPattern) }
    static func double(_ bits: Int64) -> Double { Double(bitPattern: UInt64(bitPattern: bits)) }

    /// The partial rows in COPY text, one per group in order of first arrival.
    func partialRows() -> CopyTextEncoder {
        let width = reductions.count
        var out = CopyTextEncoder(reservingCapacity: groups.count * (16 + 12 * width))
        for group in 0..<groups.count {
            out.append(encodedFields: groups.key(group))
            for (slot, step) in steps.enumerated() {
                let at = group * width + slot
                switch step {
                case .count, .countValues: out.append(integer: integers[at])
                case .sum, .min, .max:
                    if seen[at] { out.append(integer: integers[at]) } else { out.appendNull() }
                // Swift's shortest round-trip text, which float8in reads back exactly.
                case .doubleSum, .doubleMin, .doubleMax, .avgSum, .avgSumOfDouble: out.append(field: seen[at] ? "\(doubles[at])" : nil)
                }
            }
            out.endRow()
        }
        return out
    }
}

/// Numbers the groups of a batch by their key bytes, in order of first
/// arrival: open addressing over FNV-1a hashes, keys compared in place.
/// A Dictionary keyed by slices of the batch hashed each key with SipHash
/// and retained the batch's buffer per lookup.
struct GroupIndex {
    /// Group number + 1 per slot; 0 is empty. A power of two long.
    private var slots = [Int32](repeating: 0, count: 1024)
    private var hashes: [UInt64] = []
    private var keyBytes: [UInt8] = []
    private var keyRanges: [Range<Int>] = []

    var count: Int { keyRanges.count }

    func key(_ group: Int) -> ArraySlice<UInt8> { keyBytes[keyRanges[group]] }

    /// The key's group, and whether it is new.
    mutating func group(of key: UnsafeBufferPointer<UInt8>) -> (Int, Bool) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
        while slots[slot] != 0 {
            let group = Int(slots[slot] - 1)
            if hashes[group] == hash && equals(keyRanges[group], key) { return (group, false) }
            slot = (slot + 1) & mask
        }
        let group = keyRanges.count
        slots[slot] = Int32(group + 1)
        hashes.append(hash)
        keyRanges.append(keyBytes.count..<keyBytes.count + key.count)
        keyBytes.append(contentsOf: key)
        if keyRanges.count * 2 > slots.count { grow() }
        return (group, true)
    }

    /// memcmp in place: comparing a slice of `keyBytes` retained the array per lookup.
    private func equals(_ range: Range<Int>, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard range.count == key.count else { return false }
        guard let other = key.baseAddress, !key.isEmpty else { return true }
        return keyBytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + range.lowerBound, other, key.count) == 0 }
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (group, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(group + 1)
        }
    }
}
