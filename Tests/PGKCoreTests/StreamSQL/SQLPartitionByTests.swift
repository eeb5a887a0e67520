import Foundation
import Testing
@testable import PGKCore

/// PARTITION BY as ksqlDB's repartition: several key columns, a struct
/// field named after itself, the old key after the value in `SELECT *`,
/// and null records passed on with their new key.
@Suite struct SQLPartitionByTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func partitionByRekeysAndPassesNullRecordsOn() throws {
        let fx = try Fixture("sql-partition-by")
        try fx.cluster.createTopic("people", partitions: 1)
        try fx.produce("people", [#"{"NAME": "bob", "AGE": 30, "HOME": {"Town": "Oxford", "zip": 1}}"#, nil], keys: ["p1", "p2"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM people (id STRING KEY, name STRING, age INT, home STRUCT<town STRING>)
              WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON');
            CREATE STREAM by_both WITH (KEY_FORMAT='JSON') AS SELECT * FROM people PARTITION BY name, age;
            CREATE STREAM by_town AS SELECT home->town, id, age FROM people PARTITION BY home->town;
            CREATE STREAM plain AS SELECT * FROM people PARTITION BY name;
            CREATE STREAM unnamed WITH (KEY_FORMAT='JSON') AS SELECT * FROM people PARTITION BY name IS NULL;
            CREATE STREAM by_id AS SELECT CONCAT(id, '!') AS k, name FROM people PARTITION BY CONCAT(id, '!');
            """)
        var both: [String: String?] = [:]
        for message in try fx.topic("BY_BOTH") {
            both.updateValue(message.value.map { String(decoding: $0, as: UTF8.self) }, forKey: String(decoding: message.key ?? [], as: UTF8.self))
        }
        // The old key column ID now follows the value columns; the struct's
        // fields take their declared names, undeclared ones are dropped.
        #expect(both[#"{"NAME":"bob","AGE":30}"#] == .some(#"{"HOME":{"TOWN":"Oxford"},"ID":"p1"}"#), "\(both)")
        // The null record goes on with a null value, keyed by its (null) columns.
        #expect(both[#"{"NAME":null,"AGE":null}"#] == .some(nil), "\(both)")
        let town = try fx.topic("BY_TOWN").first { $0.value != nil }
        #expect(town.map { String(decoding: $0.key ?? [], as: UTF8.self) } == "Oxford")
        #expect(try fx.rows(#"SELECT key_columns::text FROM pgk_sql.sources WHERE name = 'BY_TOWN'"#) == [["{TOWN}"]])
        #expect(try fx.topic("PLAIN").count == 2)
        // The null record's key is null, not what `name IS NULL` makes of its null columns.
        let unnamed = try fx.topic("UNNAMED").map { ($0.key.map { String(decoding: $0, as: UTF8.self) }, $0.value == nil) }
        #expect(unnamed.contains { $0.0 == nil && $0.1 } && unnamed.contains { $0.0 == "false" && !$0.1 }, "\(unnamed)")
        // An expression of the key columns alone still keys the null record (p2 → "p2!").
        let byID = try fx.topic("BY_ID").map { "\(String(decoding: $0.key ?? [], as: UTF8.self))=\($0.value == nil ? "null" : "value")" }
        #expect(byID.sorted() == ["p1!=value", "p2!=null"], "\(byID)")
    }

    /// Without PARTITION BY a projection passes a null record on with its
    /// key; a WHERE drops it, even one that a NULL column would pass.
    @Test func projectionsPassNullRecordsOnAndFiltersDropThem() throws {
        let fx = try Fixture("sql-null-records")
        try fx.cluster.createTopic("names", partitions: 1)
        try fx.produce("names", [nil, #"{"NAME": null}"#, #"{"NAME": "n"}"#], keys: ["1", "2", "3"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM names (id STRING KEY, name STRING) WITH (KAFKA_TOPIC='names', VALUE_FORMAT='JSON');
            CREATE STREAM copied AS SELECT id, COALESCE(name, 'x') AS n FROM names;
            CREATE STREAM unnamed AS SELECT * FROM names WHERE name IS NULL;
            """)
        func records(_ topic: String) throws -> [String] {
            try fx.topic(topic).map { String(decoding: $0.key ?? [], as: UTF8.self) + "=" + ($0.value.map { String(decoding: $0, as: UTF8.self) } ?? "null") }.sorted()
        }
        #expect(try records("COPIED") == [#"1=null"#, #"2={"N":"x"}"#, #"3={"N":"n"}"#])
        #expect(try records("UNNAMED") == [#"2={"NAME":null}"#])
    }
}
