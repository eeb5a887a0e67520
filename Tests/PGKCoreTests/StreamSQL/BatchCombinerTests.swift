import Testing
@testable import PGKCore

@Suite struct BatchCombinerTests {
    /// Staged rows of `(k INT, name STRING, v BIGINT)`: then _key, _deleted, _ts.
    static func row(_ fields: String...) -> [UInt8] { Array(fields.joined(separator: "\t").utf8) }

    static func plan(groups: [Int], _ reductions: [(QueryPlan.Combined.Reduction, field: Int)]) -> QueryPlan.Combined {
        QueryPlan.Combined(table: "p", columns: [], groupFields: groups, reductions: reductions,
                           deletedField: 4, rowtimeField: 5, batch: [])
    }

    static func text(_ rows: CopyTextEncoder?) -> String? { rows.map { String(decoding: $0.buffer, as: UTF8.self) } }

    @Test func reducesEachGroupAsTheSQLPartialsWould() {
        let plan = Self.plan(groups: [0], [(.count, field: 5), (.countValues, field: 1), (.sum, field: 2), (.sumAsDouble, field: 2),
                                           (.countValues, field: 2), (.min, field: 2), (.max, field: 2), (.latestRowtime, field: 5)])
        let rows = [
            Self.row("1", "a", "5", "\\N", "f", "100"),
            Self.row("2", "\\N", "7", "\\N", "f", "90"),
            Self.row("1", "b", "\\N", "\\N", "f", "120"),
            Self.row("1", "c", "-3", "\\N", "f", "110"),
            Self.row("\\N", "x", "9", "\\N", "f", "1"),    // no group: dropped
            Self.row("2", "\\N", "\\N", "\\N", "t", "200"),  // a null record: dropped
        ]
        let combined = BatchCombiner(plan: plan).partialRows(rows)
        #expect(combined?.rowCount == 2)
        // Groups in order of first arrival; a SUM without values is NULL, a COUNT 0.
        #expect(Self.text(combined) == "1\t3\t3\t2\t2.0\t2\t-3\t5\t120\n2\t1\t0\t7\t7.0\t1\t7\t7\t90\n")
        let onlyNulls = BatchCombiner(plan: plan).partialRows([Self.row("3", "\\N", "\\N", "\\N", "f", "\\N")])
        #expect(Self.text(onlyNulls) == "3\t1\t0\t\\N\t\\N\t0\t\\N\t\\N\t\\N\n")
    }

    @Test func groupsOverSeveralColumnsKeepTheirOrder() {
        let rows = [Self.row("1", "a", "5", "\\N", "f", "1"), Self.row("1", "b", "5", "\\N", "f", "2"),
                    Self.row("2", "a", "5", "\\N", "f", "3"), Self.row("1", "a", "6", "\\N", "f", "4")]
        // Adjacent and in order: the fields as they stand.
        #expect(Self.text(BatchCombiner(plan: Self.plan(groups: [0, 1], [(.count, field: 5)])).partialRows(rows))
                == "1\ta\t2\n1\tb\t1\n2\ta\t1\n")
        // GROUP BY name, k: the key fields in GROUP BY order.
        #expect(Self.text(BatchCombiner(plan: Self.plan(groups: [1, 0], [(.count, field: 5)])).partialRows(rows))
                == "a\t1\t2\nb\t1\t1\na\t2\t1\n")
        // Escaped text stays escaped: it goes back to COPY as it came.
        let escaped = [Self.row("1", "tab\\there", "5", "\\N", "f", "1"), Self.row("1", "tab\\there", "5", "\\N", "f", "2")]
        #expect(Self.text(BatchCombiner(plan: Self.plan(groups: [1], [(.sum, field: 2)])).partialRows(escaped)) == "tab\\there\t10\n")
    }

    @Test func leavesToSQLWhatItCannotSayTheSameWay() {
        let plan = Self.plan(groups: [0], [(.sum, field: 2)])
        // A bigint sum past its range: SQL's error sends the record to dead letters.
        let overflow = [Self.row("1", "a", String(Int64.max), "\\N", "f", "1"), Self.row("1", "a", "1", "\\N", "f", "2")]
        #expect(BatchCombiner(plan: plan).partialRows(overflow) == nil)
        #expect(BatchCombiner(plan: plan).partialRows([Self.row("1", "a", "1.5", "\\N", "f", "1")]) == nil)
        // A row short of its fields is no staged row.
        #expect(BatchCombiner(plan: plan).partialRows([Self.row("1", "a")]) == nil)
        // SUM and AVG read the field once; either way a bad number is left to SQL.
        let both = Self.plan(groups: [0], [(.sum, field: 2), (.sumAsDouble, field: 2), (.min, field: 5)])
        #expect(Self.text(BatchCombiner(plan: both).partialRows([Self.row("1", "a", "4", "\\N", "f", "9"),
                                                                 Self.row("1", "a", "\\N", "\\N", "f", "7")])) == "1\t4\t4.0\t7\n")
        #expect(BatchCombiner(plan: both).partialRows([Self.row("1", "a", "4", "\\N", "f", "x")]) == nil)
    }

    /// The staged text of whole numbers, read back (PgValueMapper's reader).
    @Test func readsWholeNumbersAsInputStagerWritesThem() {
        func integer(_ text: String) -> Int64? { PgValueMapper.integer(Array(text.utf8)[...]) }
        #expect(integer("0") == 0)
        #expect(integer("-42") == -42)
        #expect(integer("9223372036854775807") == Int64.max)
        #expect(integer("-9223372036854775808") == Int64.min)
        #expect(integer("9223372036854775808") == nil)
        #expect(integer("") == nil)
        #expect(integer("-") == nil)
        #expect(integer("1e3") == nil)
        // Around the 18 digits read without overflow checks.
        #expect(integer("999999999999999999") == 999_999_999_999_999_999)
        #expect(integer("-999999999999999999") == -999_999_999_999_999_999)
        #expect(integer("+1700000000000") == 1_700_000_000_000)
        #expect(integer("1000000000000000000") == 1_000_000_000_000_000_000)
        #expect(integer("99999999999999999999") == nil)
        #expect(integer("12345678901234567x") == nil)
    }

    /// Past the index's first table (1,024 slots) and through its growth,
    /// every key keeps its group, numbered in order of first arrival.
    @Test func manyGroupsKeepTheirNumbersAsTheIndexGrows() {
        var index = GroupIndex()
        let keys = (0..<5_000).map { Array("key-\($0 * 7919 % 5_000)".utf8) }
        for (number, key) in keys.enumerated() {
            let (group, isNew) = key.withUnsafeBufferPointer { index.group(of: $0) }
            #expect(group == number && isNew)
        }
        for (number, key) in keys.enumerated().reversed() {
            let (group, isNew) = key.withUnsafeBufferPointer { index.group(of: $0) }
            #expect(group == number && !isNew)
        }
        #expect(index.count == 5_000)
        #expect(Array(index.key(1234)) == keys[1234])
        // An empty key is a key too, distinct from the rest.
        let (empty, isNew) = [UInt8]().withUnsafeBufferPointer { index.group(of: $0) }
        #expect(empty == 5_000 && isNew)
    }

    @Test func countsAcrossManyGroupsAsSQLWould() {
        let plan = Self.plan(groups: [0], [(.count, field: 5), (.sum, field: 2)])
        let rows = (0..<20_000).map { Self.row(String($0 % 3_000), "a", String($0), "\\N", "f", "1") }
        let text = Self.text(BatchCombiner(plan: plan).partialRows(rows)) ?? ""
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3_000)
        // Group 7 holds 7, 3007, …, 18007: seven values.
        let expected = (0..<20_000).filter { $0 % 3_000 == 7 }
        #expect(lines[7] == "7\t\(expected.count)\t\(expected.reduce(0, +))")
    }
}
