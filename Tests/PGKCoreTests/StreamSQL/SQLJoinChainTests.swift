import Foundation
import Testing
@testable import PGKCore

/// Three streams joined within windows, as ksqlDB nests them:
/// `(s1 ⋈ s2) ⋈ s3`, the pairs of the first join a stream of their own.
@Suite struct SQLJoinChainTests {
    typealias Fixture = SQLCommandTests.Fixture

    /// Sends each (topic, V0, timestamp) with the INT key 0, in order.
    static func send(_ fx: Fixture, _ records: [(String, Int, Int64)]) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for (topic, value, timestamp) in records {
            try producer.produce(topic: topic, partition: 0, key: [0, 0, 0, 0], value: Array(#"{"V0": \#(value)}"#.utf8), timestamp: timestamp)
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        #expect(producer.failedCount == 0)
    }

    /// "key-bytes value @timestamp" per record, in offset order.
    static func records(_ fx: Fixture, _ topic: String) throws -> [String] {
        try fx.topic(topic).map { "\($0.key ?? []) \(String(decoding: $0.value ?? [], as: UTF8.self)) @\($0.timestamp ?? -1)" }
    }

    static let streams = """
        SET 'auto.offset.reset'='earliest';
        CREATE STREAM s1 (id INT KEY, v0 BIGINT) WITH (KAFKA_TOPIC='left', VALUE_FORMAT='JSON');
        CREATE STREAM s2 (id INT KEY, v0 BIGINT) WITH (KAFKA_TOPIC='right', VALUE_FORMAT='JSON');
        CREATE STREAM s3 (id INT KEY, v0 BIGINT) WITH (KAFKA_TOPIC='right2', VALUE_FORMAT='JSON');
        """

    static func fixture(_ name: String) throws -> Fixture {
        let fx = try Fixture(name)
        for topic in ["left", "right", "right2"] { try fx.cluster.createTopic(topic, partitions: 1) }
        return fx
    }

    /// FULL joins pad at once, and a padded pair of the first join is a
    /// left record of the second: it joins the third stream's later records.
    /// Each stream's ROWTIME is its own record's, not the pair's.
    @Test func outerJoinsOfThreeStreamsPadEachLevel() throws {
        let fx = try Self.fixture("sql-join-chain-outer")
        try Self.send(fx, [("left", 1, 1_000), ("right", 2, 1_001), ("right2", 3, 1_002), ("left", 4, 1_003)])
        try fx.run(Self.streams + """
            CREATE STREAM outer_j WITH (PARTITIONS=1) AS SELECT ROWKEY, s1.v0, s2.v0, s3.v0, s2.ROWTIME AS t2
              FROM s1 FULL OUTER JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id FULL OUTER JOIN s3 WITHIN 10 SECONDS ON s1.id = s3.id;
            """)
        let key = "\([UInt8](repeating: 0, count: 4))"
        #expect(try Self.records(fx, "OUTER_J") == [
            #"\#(key) {"S1_V0":1,"S2_V0":null,"S3_V0":null,"T2":null} @1000"#,
            #"\#(key) {"S1_V0":1,"S2_V0":2,"S3_V0":null,"T2":1001} @1001"#,
            #"\#(key) {"S1_V0":1,"S2_V0":null,"S3_V0":3,"T2":null} @1002"#,
            #"\#(key) {"S1_V0":1,"S2_V0":2,"S3_V0":3,"T2":1001} @1002"#,
            #"\#(key) {"S1_V0":4,"S2_V0":2,"S3_V0":3,"T2":1001} @1003"#,
        ])
    }

    /// Each join keeps its own window; the pairs stay buffered across
    /// runs (a second run goes on where the first stopped), are matched in
    /// arrival order, and WHERE filters the final rows only.
    @Test func eachJoinKeepsItsWindowAcrossRuns() throws {
        let fx = try Self.fixture("sql-join-chain-windows")
        try Self.send(fx, [("left", 1, 1_000), ("right", 2, 1_001), ("right2", 3, 1_002), ("left", 4, 1_003)])
        try fx.run(Self.streams + """
            CREATE STREAM inner_j WITH (PARTITIONS=1) AS SELECT s2.id, s1.v0, s2.v0, s3.v0
              FROM s1 JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id JOIN s3 WITHIN 10 SECONDS ON s1.id = s3.id;
            CREATE STREAM left_j WITH (PARTITIONS=1) AS SELECT s3.id, s1.v0, s2.v0, s3.v0
              FROM s1 LEFT JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id LEFT JOIN s3 WITHIN 10 SECONDS ON s1.id = s3.id
              WHERE s1.v0 <> 4;
            """)
        try Self.send(fx, [("left", 5, 5_000), ("right2", 6, 7_000), ("left", 7, 7_001), ("right2", 8, 8_000)])
        try fx.catchUp()
        func row(_ v1: Int, _ v2: Int?, _ v3: Int?, _ at: Int) -> String {
            let text = { (v: Int?) in v.map(String.init) ?? "null" }
            return "\([UInt8](repeating: 0, count: 4)) {\"S1_V0\":\(v1),\"S2_V0\":\(text(v2)),\"S3_V0\":\(text(v3))} @\(at)"
        }
        #expect(try Self.records(fx, "INNER_J") == [
            row(1, 2, 3, 1_002), row(4, 2, 3, 1_003), row(5, 2, 3, 5_000),
            row(1, 2, 6, 7_000), row(4, 2, 6, 7_000), row(5, 2, 6, 7_000),
            row(1, 2, 8, 8_000), row(4, 2, 8, 8_000), row(5, 2, 8, 8_000),
        ])
        // s1 7 is 6 s after s2 2, outside the first window: padded, it still meets s3 3 and 6.
        #expect(try Self.records(fx, "LEFT_J") == [
            row(1, nil, nil, 1_000), row(1, 2, nil, 1_001), row(1, nil, 3, 1_002), row(1, 2, 3, 1_002),
            row(5, 2, 3, 5_000),
            row(1, nil, 6, 7_000), row(1, 2, 6, 7_000), row(5, 2, 6, 7_000),
            row(7, nil, 3, 7_001), row(7, nil, 6, 7_001),
            row(1, nil, 8, 8_000), row(1, 2, 8, 8_000), row(5, 2, 8, 8_000), row(7, nil, 8, 8_000),
        ])
    }

    /// A stream enriched from a table, then joined within a window to a
    /// second stream: each record meets the table as of its own time, and
    /// the enriched records are buffered for the window join.
    @Test func aStreamJoinsATableThenAStream() throws {
        let fx = try Self.fixture("sql-join-chain-table")
        try Self.send(fx, [("right2", 3, 1_010), ("right", 2, 1_011), ("left", 1, 1_012), ("right", 4, 1_013),
                           ("left", 5, 101_000), ("right2", 6, 101_001), ("left", 7, 101_002)])
        try fx.run(Self.streams.replacingOccurrences(of: "CREATE STREAM s2 (id INT KEY", with: "CREATE TABLE t2 (id INT PRIMARY KEY") + """
            CREATE STREAM enriched WITH (PARTITIONS=1) AS SELECT s3.id, s1.v0, t2.v0, s3.v0
              FROM s1 LEFT JOIN t2 ON s1.id = t2.id JOIN s3 WITHIN 10 SECONDS ON s1.id = s3.id;
            """)
        let key = "\([UInt8](repeating: 0, count: 4))"
        #expect(try Self.records(fx, "ENRICHED") == [
            #"\#(key) {"S1_V0":1,"T2_V0":2,"S3_V0":3} @1012"#,
            #"\#(key) {"S1_V0":5,"T2_V0":4,"S3_V0":6} @101001"#,
            #"\#(key) {"S1_V0":7,"T2_V0":4,"S3_V0":6} @101002"#,
        ])
        let refused = try fx.sql(["-e", """
            CREATE STREAM bad AS SELECT s3.id, s1.v0 FROM s1 FULL OUTER JOIN t2 ON s1.id = t2.id JOIN s3 WITHIN 10 SECONDS ON s1.id = s3.id;
            """])
        #expect(refused.status != 0 && refused.stderr.contains("a stream-table join is INNER or LEFT, not FULL"), "\(refused.stderr)")
    }

    /// GROUP BY over a chain aggregates its output rows: each once, padded
    /// ones included, and two streams then a table count each pair with
    /// the table's row as of the pair's time.
    @Test func chainsAreAggregated() throws {
        let fx = try Self.fixture("sql-join-chain-aggregate")
        try fx.cluster.createTopic("dims", partitions: 1)
        try Self.send(fx, [("left", 1, 1_000), ("right", 2, 1_001), ("right2", 3, 1_002), ("left", 4, 1_003),
                           ("left", 5, 5_000), ("right2", 6, 7_000), ("left", 7, 7_001), ("right2", 8, 8_000)])
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        try producer.produce(topic: "dims", partition: 0, key: [0, 0, 0, 0], value: Array(#"{"NAME": "zero"}"#.utf8), timestamp: 900)
        try producer.produce(topic: "dims", partition: 0, key: [0, 0, 0, 0], value: Array(#"{"NAME": "nil"}"#.utf8), timestamp: 5_500)
        try producer.flush(timeoutMilliseconds: 30_000)
        try fx.run(Self.streams + """
            CREATE TABLE dims (id INT PRIMARY KEY, name STRING) WITH (KAFKA_TOPIC='dims', VALUE_FORMAT='JSON');
            CREATE TABLE inner_n AS SELECT s1.id, COUNT(*) AS n, SUM(s3.v0) AS s3_total FROM s1 JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id
              JOIN s3 WITHIN 10 SECONDS ON s1.id = s3.id GROUP BY s1.id;
            CREATE TABLE left_n AS SELECT s1.id, COUNT(*) AS n, COUNT(s2.v0) AS with_s2 FROM s1 LEFT JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id
              LEFT JOIN s3 WITHIN 10 SECONDS ON s1.id = s3.id GROUP BY s1.id;
            CREATE TABLE per_name AS SELECT d.name, COUNT(*) AS n FROM s1 JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id
              JOIN dims d ON s1.id = d.id GROUP BY d.name;
            """)
        // The rows eachJoinKeepsItsWindowAcrossRuns lists: 9 inner ones (s3 3, 6 and 8, three times each); 17 left ones, 10 with s2.
        #expect(try fx.rows("SELECT s1_id::text, n::text, s3_total::text FROM inner_n") == [["0", "9", "51"]])
        #expect(try fx.rows("SELECT s1_id::text, n::text, with_s2::text FROM left_n") == [["0", "17", "10"]])
        // Pairs (1,2)@1001 and (4,2)@1003 meet "zero"; (5,2)@5000 does too, before "nil" at 5500.
        #expect(try fx.rows("SELECT name, n::text FROM per_name ORDER BY 1") == [["zero", "3"]])
    }

    /// What a chain cannot do yet is refused when the statement is created.
    @Test func chainsRefuseWhatTheyCannotDo() throws {
        let fx = try Self.fixture("sql-join-chain-refused")
        #expect(try fx.sql(["-e", Self.streams]).status == 0)
        try SQLJoinTests.expectRejected(fx, [
            ("SELECT s1.id, s1.v0, s3.v0 FROM s1 JOIN s2 WITHIN 5 SECONDS GRACE PERIOD 1 SECOND ON s1.id = s2.id "
                + "JOIN s3 WITHIN 5 SECONDS ON s1.id = s3.id", "GRACE PERIOD in a join of more than two streams"),
            ("SELECT s1.id, s1.v0 FROM s1 JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id JOIN s3 ON s1.id = s3.id",
             "several joins in one query are supported for"),
        ])
        let grouped = try fx.sql(["-e", """
            CREATE TABLE g AS SELECT s1.id, COUNT(*) AS n FROM s1 JOIN s2 WITHIN 5 SECONDS ON s1.id = s2.id
              JOIN s3 WITHIN 5 SECONDS ON s1.id = s3.id WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY s1.id;
            """])
        #expect(grouped.status != 0 && grouped.stderr.contains("WINDOW aggregates one stream"), "\(grouped.stderr)")
    }
}
