import Foundation
import Testing
@testable import PGKCore

/// `LATEST_BY_OFFSET(x, n, ignoreNulls)`, `EARLIEST_BY_OFFSET`, `TOPK` and
/// `TOPKDISTINCT`, merged across batches.
@Suite struct SQLAggregateOptionsTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func latestEarliestAndTopValuesMergeAcrossBatches() throws {
        let fx = try Fixture("sql-aggregate-options")
        try fx.cluster.createTopic("values", partitions: 1)
        try fx.produce("values", [#"{"F0": 12, "F1": [1, 2]}"#, #"{"F0": null}"#, #"{"F0": 12}"#], keys: ["a", "a", "a"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM vals (id STRING KEY, f0 INT, f1 ARRAY<INT>) WITH (KAFKA_TOPIC='values', VALUE_FORMAT='JSON');
            CREATE TABLE opts AS SELECT id, LATEST_BY_OFFSET(f0, true) AS l1, LATEST_BY_OFFSET(f0, false) AS l2,
              LATEST_BY_OFFSET(f0, 2) AS l3, LATEST_BY_OFFSET(f0, 2, false) AS l4, EARLIEST_BY_OFFSET(f0, 2) AS e1,
              EARLIEST_BY_OFFSET(f0, 2, false) AS e2, TOPK(f0, 2) AS t1, TOPKDISTINCT(f0, 2) AS t2,
              SUM_LIST(f1) AS s FROM vals GROUP BY id;
            """)
        try fx.produce("values", [#"{"F0": 13, "F1": [3]}"#, #"{"F0": null}"#], keys: ["a", "a"])
        try fx.catchUp()
        #expect(try fx.rows("SELECT l1::text, l2::text, l3::text, l4::text, e1::text, e2::text, t1::text, t2::text, s::text FROM opts")
                == [["13", nil, "{12,13}", "{13,NULL}", "{12,12}", "{12,NULL}", "{13,12}", "{13,12}", "6"]])
        let bad = try fx.sql(["-e", "CREATE TABLE bad AS SELECT id, TOPK(f0) AS t FROM vals GROUP BY id;"])
        #expect(bad.status != 0 && bad.stderr.contains("how many values to keep"), "\(bad.stderr)")
    }
}

extension SQLAggregateOptionsTests {
    /// The latest array, not a nested one (array_agg of arrays would nest).
    @Test func latestByOffsetKeepsArraysWhole() throws {
        let fx = try Fixture("sql-latest-array")
        try fx.cluster.createTopic("lists", partitions: 1)
        try fx.produce("lists", [#"{"XS": [1, 2]}"#, #"{"XS": [3]}"#], keys: ["a", "a"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM lists (id STRING KEY, xs ARRAY<INT>) WITH (KAFKA_TOPIC='lists', VALUE_FORMAT='JSON');
            CREATE TABLE last AS SELECT id, LATEST_BY_OFFSET(xs) AS l, EARLIEST_BY_OFFSET(xs) AS e FROM lists GROUP BY id;
            """)
        #expect(try fx.rows("SELECT l::text, e::text FROM last") == [["{3}", "{1,2}"]])
    }
}
