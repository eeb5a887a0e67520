import Foundation
import Testing
@testable import PGKCore

/// ksqlDB's record pseudo columns ROWPARTITION and ROWOFFSET: read from
/// the Kafka record, selectable, filterable and groupable over streams.
@Suite struct SQLPseudoColumnTests {
    typealias Fixture = SQLCommandTests.Fixture
    typealias S = SinkTestSupport

    private func values(_ fx: Fixture, _ topic: String) throws -> [String] {
        try fx.topic(topic).compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test func streamRecordsCarryTheirPartitionAndOffset() throws {
        let fx = try Fixture("sql-pseudo-columns")
        try fx.cluster.createTopic("clicks", partitions: 2)
        try fx.produce("clicks", [#"{"PAGE": "a"}"#, #"{"PAGE": "b"}"#, #"{"PAGE": "c"}"#], keys: ["k1", "k2", "k3"])
        try S.produce(fx.cluster, "clicks", values: [#"{"PAGE": "d"}"#], keys: ["k4"], partition: 1)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (id STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE STREAM positions WITH (PARTITIONS=1) AS
              SELECT id, page, ROWPARTITION AS p, ROWOFFSET AS o, ROWOFFSET * 10 AS tens FROM clicks WHERE ROWOFFSET >= 1 OR ROWPARTITION = 1;
            CREATE TABLE per_partition AS SELECT ROWPARTITION AS p, COUNT(*) AS n, MAX(ROWOFFSET) AS last FROM clicks GROUP BY ROWPARTITION;
            """)
        #expect(try values(fx, "POSITIONS").sorted() == [
            #"{"PAGE":"b","P":0,"O":1,"TENS":10}"#,
            #"{"PAGE":"c","P":0,"O":2,"TENS":20}"#,
            #"{"PAGE":"d","P":1,"O":0,"TENS":0}"#,
        ])
        #expect(try fx.rows("SELECT p, n, last FROM per_partition ORDER BY p") == [["0", "3", "2"], ["1", "1", "0"]])
    }

    /// A repartition after a stream-stream join keeps each side's pseudo
    /// columns under `SELECT *`, as ksqlDB's join result carries them.
    @Test func repartitionedJoinStarCarriesEachSidesPseudoColumns() throws {
        let fx = try Fixture("sql-pseudo-join")
        try fx.cluster.createTopic("left_t", partitions: 1)
        try fx.cluster.createTopic("right_t", partitions: 1)
        try S.produce(fx.cluster, "left_t", values: [#"{"B": 1, "C": 2}"#], keys: ["x"], partition: 0)
        try S.produce(fx.cluster, "right_t", values: [#"{"Y": 1, "Z": -2}"#, #"{"Y": 1, "Z": -3}"#], keys: ["y", "z"], partition: 0)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM l (a STRING KEY, b INT, c INT) WITH (KAFKA_TOPIC='left_t', VALUE_FORMAT='JSON');
            CREATE STREAM r (x STRING KEY, y INT, z INT) WITH (KAFKA_TOPIC='right_t', VALUE_FORMAT='JSON');
            CREATE STREAM joined AS SELECT * FROM l JOIN r WITHIN 1 HOUR ON l.b = r.y PARTITION BY l.c;
            """)
        let rows = try values(fx, "JOINED").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(rows.count == 2)
        let offsets = rows.compactMap { $0["R_ROWOFFSET"] as? Int }.sorted()
        #expect(offsets == [0, 1], "\(rows)")
        #expect(rows.allSatisfy { $0["L_ROWOFFSET"] as? Int == 0 && $0["L_ROWPARTITION"] as? Int == 0 && $0["R_ROWPARTITION"] as? Int == 0 })
        #expect(rows.allSatisfy { $0["L_ROWTIME"] is Int && $0["R_ROWTIME"] is Int && $0["L_A"] as? String == "x" })
    }

    @Test func tablesHaveNoRecordPosition() throws {
        let fx = try Fixture("sql-pseudo-table")
        let created = try fx.sql(["-e", """
            CREATE TABLE t (id STRING PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', PARTITIONS=1);
            CREATE TABLE u AS SELECT id, ROWOFFSET AS o FROM t;
            """])
        #expect(created.status != 0)
        #expect(created.stderr.contains("ROWOFFSET is not supported over a table"), "\(created.stderr)")
    }
}
