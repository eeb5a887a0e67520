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
        bothWays(plan, records.map { (nil, $0.0, $0.1) })
    }

    static func bothWays(_ plan: QueryPlan.Combined, _ records: [(key: [UInt8]?, json: String?, timestamp: Int64?)],
                         source: CatalogSource = source) -> (String, String?, [Int]) {
        let reader = InputStager(source: source, registry: nil), stager = InputStager(source: source, registry: nil)
        #expect(reader.combines(plan))
        var groups = GroupAccumulator(plan)
        var declined: [Int] = []
        var rows: [[UInt8]] = []
        for (index, (key, json, timestamp)) in records.enumerated() {
            let value = json.map { Array($0.utf8) }
            let taken = withOptionalBytes(key) { key in
                withOptionalBytes(value) { reader.combineFlatJSON($0, key: key, rowtime: timestamp, groupFields: plan.groupFields, into: &groups) }
            }
            if !taken { declined.append(index) }
            // A record staging refuses is a dead letter: no row.
            var row = CopyTextEncoder()
            guard (try? stager.stage(key: key, value: value, into: &row)) != nil else { continue }
            if let timestamp { row.append(integer: timestamp) } else { row.appendNull() }
            rows.append(row.buffer)
        }
        let read = String(decoding: groups.partialRows().buffer, as: UTF8.self)
        let staged = BatchCombiner(plan: plan).partialRows(rows).map { String(decoding: $0.buffer, as: UTF8.self) }
        return (read, staged, declined)
    }

    /// The source with its first column (ID) read from a KAFKA key of `type`.
    static func keyed(_ type: SQLType) -> CatalogSource {
        var keyed = source
        keyed.columns[0] = ColumnDefinition(name: "ID", type: type, role: .key)
        keyed.keyColumns = ["ID"]
        return keyed
    }

    static func bigEndian(_ number: Int64, _ width: Int) -> [UInt8] {
        (0..<width).reversed().map { UInt8(truncatingIfNeeded: number >> (8 * $0)) }
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

    /// A KAFKA key's one column is read from the key as staging reads it:
    /// grouped alone or with value fields, or not grouped at all.
    @Test func aKafkaKeyColumnIsReadFromTheKey() {
        let values = [#"{"name": "a", "v": 5, "on": true}"#, #"{"NAME": "b", "v": 7, "id": 99}"#, #"{"name": "a", "v": null}"#]
        let strings: [(key: [UInt8]?, json: String?, timestamp: Int64?)] = [
            (Array("k1".utf8), values[0], 10), (Array("k\t2\\".utf8), values[1], 20), (Array("k1".utf8), values[2], 30),
            (nil, values[0], 40),              // no key: a NULL ID, so no group under ID
            ([], values[1], 50),               // an empty STRING key is a group
            (Array("k1".utf8), nil, 60),       // a null record: no group
        ]
        let integers: [(SQLType, [(key: [UInt8]?, json: String?, timestamp: Int64?)])] = [
            (.integer, [(Self.bigEndian(7, 4), values[0], 1), (Self.bigEndian(-2, 4), values[1], 2), (Self.bigEndian(7, 4), values[2], 3),
                        (nil, values[1], 4)]),
            (.bigint, [(Self.bigEndian(1 << 40, 8), values[0], 1), (Self.bigEndian(-1, 8), values[1], 2), (Self.bigEndian(1 << 40, 8), values[2], 3)]),
        ]
        for (type, records) in [(SQLType.string, strings)] + integers {
            for groups in [[0], [0, 1], [1, 0], [1]] {
                let (read, staged, declined) = Self.bothWays(Self.plan(groups: groups), records, source: Self.keyed(type))
                #expect(declined.isEmpty && read == staged, "\(type) \(groups): \(read) vs \(staged ?? "nil")")
                #expect(!read.isEmpty)
            }
        }
        // Keys staging refuses (a dead letter there), or that are not ASCII: declined.
        let refused: [(SQLType, [UInt8])] = [(.integer, [0, 0, 1]), (.bigint, Self.bigEndian(5, 4)), (.string, Array("é".utf8)), (.string, [0xff])]
        for (type, key) in refused {
            let (_, _, declined) = Self.bothWays(Self.plan(groups: [1]), [(key, values[0], 1)], source: Self.keyed(type))
            #expect(declined == [0], "\(type) \(key)")
        }
    }

    /// Sources and plans the read-time path leaves to staging: several
    /// key columns, a key format other than KAFKA, an aggregate reading
    /// the key column, a DOUBLE key, a table.
    @Test func whatIsStaged() {
        let plan = Self.plan(groups: [1])
        var twoKeys = Self.keyed(.string)
        twoKeys.columns[3] = ColumnDefinition(name: "ON", type: .boolean, role: .key)
        twoKeys.keyColumns = ["ID", "ON"]
        var jsonKey = Self.keyed(.string)
        jsonKey.keyFormat = "JSON"
        var table = Self.keyed(.string)
        table.kind = .table
        for source in [twoKeys, jsonKey, Self.keyed(.double), table] {
            #expect(!InputStager(source: source, registry: nil).combines(plan), "\(source.columns) \(source.keyFormat) \(source.kind)")
        }
        let summingTheKey = QueryPlan.Combined(table: "p", columns: [], groupFields: [1], reductions: [(.sum, field: 0)],
                                               deletedField: 5, rowtimeField: 6, batch: [])
        #expect(InputStager(source: Self.keyed(.integer), registry: nil).combines(plan))
        #expect(!InputStager(source: Self.keyed(.integer), registry: nil).combines(summingTheKey))
        let general = InputStager(source: Self.source, registry: nil)
        general.allowsFlatJSON = false
        #expect(!general.combinesFlatJSON)
    }

    /// SUM, AVG, MIN and MAX of a DOUBLE, read as staging reads it: in
    /// arrival order, -0 kept, the later of equal values, and a sum past
    /// the largest double left to SQL (whose error isolates the record).
    @Test func doublesReduceAsStagedOnes() {
        var doubles = Self.source
        doubles.columns[2] = ColumnDefinition(name: "V", type: .double)
        let plan = QueryPlan.Combined(table: "p", columns: [], groupFields: [0],
                                      reductions: [(.count, field: 6), (.sum, field: 2), (.sumAsDouble, field: 2), (.countValues, field: 2),
                                                   (.min, field: 2), (.max, field: 2), (.latestRowtime, field: 6)],
                                      deletedField: 5, rowtimeField: 6, batch: [], doubleFields: [2])
        let records: [(key: [UInt8]?, json: String?, timestamp: Int64?)] = [
            (nil, #"{"k": 1, "v": 0.1}"#, 1), (nil, #"{"k": 1, "v": 0.2}"#, 2), (nil, #"{"k": 1, "v": 0.3}"#, 3),
            (nil, #"{"k": 2, "v": -0.0}"#, 4), (nil, #"{"k": 3, "v": 0}"#, 5), (nil, #"{"k": 3, "v": -0.0}"#, 6),
            (nil, #"{"k": 4, "v": 5}"#, 7), (nil, #"{"k": 4, "v": null}"#, 8), (nil, #"{"k": 4, "v": 1e300}"#, 9),
        ]
        let (read, staged, declined) = Self.bothWays(plan, records, source: doubles)
        #expect(declined.isEmpty && read == staged, "\(read) vs \(staged ?? "nil")")
        #expect(read == "1\t3\t0.6000000000000001\t0.6000000000000001\t3\t0.1\t0.3\t3\n2\t1\t-0.0\t-0.0\t1\t-0.0\t-0.0\t4\n"
                + "3\t2\t0.0\t0.0\t2\t-0.0\t-0.0\t6\n4\t3\t1e+300\t1e+300\t2\t5.0\t1e+300\t9\n")
        let overflow: [(key: [UInt8]?, json: String?, timestamp: Int64?)] = [(nil, #"{"k": 1, "v": 1e308}"#, 1), (nil, #"{"k": 1, "v": 1e308}"#, 2)]
        let (_, stagedOverflow, declinedOverflow) = Self.bothWays(plan, overflow, source: doubles)
        #expect(declinedOverflow == [1] && stagedOverflow == nil)
    }
}
