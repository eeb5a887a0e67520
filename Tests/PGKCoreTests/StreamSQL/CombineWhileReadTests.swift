import Testing
@testable import PGKCore

/// Flat JSON records reduced into groups as they are read
/// (InputStager.combineFlatJSON) must give the partial rows that staging
/// them and combining the staged rows (BatchCombiner) gives, and decline
/// every record the staged path would treat otherwise.
@Suite struct CombineWhileReadTests {
    /// `(K INT, NAME STRING, V BIGINT, ON BOOLEAN)`: staged as those, then _key (4), _deleted (5), _ts (6).
    static let source = CatalogSource(
        name: "S", kind: .stream, topic: "s", keyFormat: "KAFKA", valueFormat: "JSON",
        columns: [ColumnDefinition(name: "K", type: .integer), ColumnDefinition(name: "NAME", type: .string),
                  ColumnDefinition(name: "V", type: .bigint), ColumnDefinition(name: "ON", type: .boolean)],
        keyColumns: [], partitions: 1, queryID: nil, resultTable: nil, statement: "")

    static func plan(groups: [Int]) -> QueryPlan.Combined {
        QueryPlan.Combined(table: "p", columns: [], groupFields: groups,
                           reductions: [(.count, field: 6), (.countValues, field: 1), (.sum, field: 2), (.sumAsDouble, field: 2),
                                        (.countValues, field: 2), (.min, field: 2), (.max, field: 2), (.latestRowtime, field: 6)],
                           deletedField: 5, rowtimeField: 6, batch: [])
    }

    /// The partial rows both ways, and the records reading declined.
    static func bothWays(_ plan: QueryPlan.Combined, _ records: [(String?, Int64?)]) -> (String, String?, [Int]) {
        let reader = InputStager(source: source, registry: nil), stager = InputStager(source: source, registry: nil)
        #expect(reader.combinesFlatJSON)
        var groups = GroupAccumulator(plan)
        var declined: [Int] = []
        var rows: [[UInt8]] = []
        for (index, (json, timestamp)) in records.enumerated() {
            let value = json.map { Array($0.utf8) }
            let taken = withOptionalBytes(value) { reader.combineFlatJSON($0, rowtime: timestamp, groupFields: plan.groupFields, into: &groups) }
            if !taken { declined.append(index) }
            // A record staging refuses is a dead letter: no row.
            var row = CopyTextEncoder()
            guard (try? stager.stage(key: nil, value: value, into: &row)) != nil else { continue }
            if let timestamp { row.append(integer: timestamp) } else { row.appendNull() }
            rows.append(row.buffer)
        }
        let read = String(decoding: groups.partialRows().buffer, as: UTF8.self)
        let staged = BatchCombiner(plan: plan).partialRows(rows).map { String(decoding: $0.buffer, as: UTF8.self) }
        return (read, staged, declined)
    }

    @Test func readingGivesWhatStagingGives() {
        let records: [(String?, Int64?)] = [
            (#"{"k": 1, "name": "a", "v": 5, "on": true}"#, 100),
            (#"{"K": 2, "v": 7}"#, 90),                                  // NAME absent: NULL
            (#"{"k": 1, "name": null, "v": null, "on": false}"#, 120),
            (#"{"k": 1, "name": "c", "v": -3, "other": [1, {"x": 2}]}"#, nil),  // not flat: declined
            (#"{"name": "x", "v": 9, "on": true}"#, 1),                 // K absent: no group under K
            (nil, 200),                                                  // a null record: no group
            (#"{"k": 2, "name": "b", "v": 9223372036854775000, "On": false}"#, 150),
            (#"{"k": 3, "name": "d", "v": 4, "on": null}"#, 3),
        ]
        let flat = records.enumerated().filter { $0.offset != 3 }.map(\.element)
        for groups in [[0], [1, 3], [3, 0], [0, 1]] {
            let (read, staged, declined) = Self.bothWays(Self.plan(groups: groups), records)
            #expect(declined == [3], "\(groups)")
            let (flatRead, flatStaged, none) = Self.bothWays(Self.plan(groups: groups), flat)
            #expect(none.isEmpty && flatRead == flatStaged, "\(groups): \(flatRead) vs \(flatStaged ?? "nil")")
            #expect(!read.isEmpty && staged != nil)
        }
        // One group under K: the partials as SQL would have them.
        let (read, _, _) = Self.bothWays(Self.plan(groups: [0]), flat)
        #expect(read == "1\t2\t1\t5\t5.0\t1\t5\t5\t120\n2\t2\t1\t9223372036854775007\t9.223372036854775e+18\t2\t7\t9223372036854775000\t150\n"
                + "3\t1\t1\t4\t4.0\t1\t4\t4\t3\n")
    }

    @Test func declinesWhatTheStagedPathTreatsOtherwise() {
        for json in [#"{"k": 1.5}"#, #"{"k": 2147483648}"#, #"{"name": "x\ty"}"#, #"{"name": "\u00e9"}"#, "not json",
                     #"{"k": 1, "k": 2}"#, #"{"v": "7"}"#, #"{"on": 1}"#] {
            let (_, _, declined) = Self.bothWays(Self.plan(groups: [0]), [(json, 1)])
            #expect(declined == [0], "\(json)")
        }
        // A sum past BIGINT: declined, as BatchCombiner declines the staged rows.
        let overflow: [(String?, Int64?)] = [(#"{"k": 1, "v": 9223372036854775807}"#, 1), (#"{"k": 1, "v": 1}"#, 2)]
        let (_, staged, declined) = Self.bothWays(Self.plan(groups: [0]), overflow)
        #expect(declined == [1] && staged == nil)
    }

    /// A source whose key holds columns is staged: the key is decoded there.
    @Test func aKeyedSourceIsStaged() {
        var keyed = Self.source
        keyed.columns.insert(ColumnDefinition(name: "ID", type: .string, role: .key), at: 0)
        keyed.keyColumns = ["ID"]
        #expect(!InputStager(source: keyed, registry: nil).combinesFlatJSON)
        let general = InputStager(source: Self.source, registry: nil)
        general.allowsFlatJSON = false
        #expect(!general.combinesFlatJSON)
    }
}
