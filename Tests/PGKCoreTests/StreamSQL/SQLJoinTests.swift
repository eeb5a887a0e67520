import Foundation
import Testing
@testable import PGKCore

/// Joins as ksqlDB defines them, run by the built binary on real
/// PostgreSQL and the mock cluster.
@Suite struct SQLJoinTests {
    typealias Fixture = SQLCommandTests.Fixture

    /// Produces (topic, key, JSON value or nil, timestamp) in the order given, to partition 0.
    static func produce(_ fx: Fixture, _ records: [(String, String, String?, Int64)]) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for (topic, key, value, timestamp) in records {
            try producer.produce(topic: topic, partition: 0, key: Array(key.utf8), value: value.map { Array($0.utf8) },
                                 timestamp: timestamp)
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        #expect(producer.failedCount == 0)
    }

    /// Each `CREATE STREAM … AS` SELECT fails at creation with its message.
    static func expectRejected(_ fx: Fixture, _ cases: [(select: String, message: String)]) throws {
        for (select, message) in cases {
            let result = try fx.sql(["-e", "CREATE STREAM bad AS \(select);"])
            #expect(result.status != 0 && result.stderr.contains(message), "\(select): \(result.stderr)")
        }
    }

    /// (key, value, timestamp) of every record of a topic, in offset order per partition.
    static func records(_ fx: Fixture, _ topic: String) throws -> [String] {
        try fx.topic(topic).map { message in
            let value = message.value.map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: " ", with: "") } ?? "null"
            return "\(String(decoding: message.key ?? [], as: UTF8.self)) \(value) @\(message.timestamp ?? -1)"
        }
    }

    /// Each stream record meets the table as it stood at its timestamp,
    /// even though the table's records were produced after the stream's
    /// and arrive in the same batch; a tombstone removes the row.
    @Test func streamTableJoinSeesTheTableAsOfEachRecord() throws {
        let fx = try Fixture("sql-stream-table")
        try fx.cluster.createTopic("clicks", partitions: 1)
        try fx.cluster.createTopic("users", partitions: 1)
        try Self.produce(fx, [
            ("clicks", "u1", #"{"PAGE": "early"}"#, 500),
            ("clicks", "u1", #"{"PAGE": "home"}"#, 1_000),
            ("clicks", "u1", #"{"PAGE": "cart"}"#, 2_500),
            ("clicks", "u2", #"{"PAGE": "home"}"#, 2_600),
            ("clicks", "u1", #"{"PAGE": "exit"}"#, 3_500),
        ])
        try Self.produce(fx, [
            ("users", "u1", #"{"NAME": "Ann"}"#, 1_000),
            ("users", "u1", #"{"NAME": "Anna"}"#, 2_000),
            ("users", "u1", nil, 3_000),
        ])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (uid STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE TABLE users (uid STRING PRIMARY KEY, name STRING) WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON');
            CREATE STREAM enriched AS SELECT c.uid, page, name FROM clicks c LEFT JOIN users u ON c.uid = u.uid;
            CREATE STREAM known AS SELECT c.uid, page, name FROM clicks c JOIN users u ON c.uid = u.uid;
            CREATE STREAM by_table_key AS SELECT u.uid, page FROM clicks c LEFT JOIN users u ON c.uid = u.uid;
            CREATE STREAM times AS SELECT c.uid, c.ROWTIME AS ct, u.ROWTIME AS ut FROM clicks c JOIN users u ON c.uid = u.uid;
            """)
        // A table's ROWTIME is when its row was set (2000 for Anna), as QTT's joins.json has it.
        #expect(try Self.records(fx, "TIMES") == [#"u1 {"CT":1000,"UT":1000} @1000"#, #"u1 {"CT":2500,"UT":2000} @2500"#])
        // Keyed by the table's key column, an unmatched record still has its join value as the key.
        #expect(try Self.records(fx, "BY_TABLE_KEY").filter { $0.hasPrefix("u2 ") } == [#"u2 {"PAGE":"home"} @2600"#])
        // The key column is the record key, not a value field; ROWTIME is the stream record's.
        let enriched = try Self.records(fx, "ENRICHED")
        #expect(enriched.filter { $0.hasPrefix("u1") } == [
            #"u1 {"PAGE":"early","NAME":null} @500"#, #"u1 {"PAGE":"home","NAME":"Ann"} @1000"#,
            #"u1 {"PAGE":"cart","NAME":"Anna"} @2500"#, #"u1 {"PAGE":"exit","NAME":null} @3500"#,
        ], "\(enriched)")
        #expect(enriched.filter { $0.hasPrefix("u2") } == [#"u2 {"PAGE":"home","NAME":null} @2600"#], "\(enriched)")
        #expect(try Self.records(fx, "KNOWN") == [#"u1 {"PAGE":"home","NAME":"Ann"} @1000"#, #"u1 {"PAGE":"cart","NAME":"Anna"} @2500"#])
        // Later batches see the state the earlier ones left.
        try Self.produce(fx, [("users", "u2", #"{"NAME": "Bo"}"#, 4_000), ("clicks", "u2", #"{"PAGE": "again"}"#, 4_500)])
        try fx.catchUp()
        #expect(try Self.records(fx, "KNOWN").last == #"u2 {"PAGE":"again","NAME":"Bo"} @4500"#)
    }

    /// A windowed aggregation of a stream enriched from a table.
    @Test func windowedAggregationOverAStreamTableJoin() throws {
        let fx = try Fixture("sql-windowed-join")
        try fx.cluster.createTopic("regions", partitions: 1)
        try fx.cluster.createTopic("visits", partitions: 1)
        try fx.produce("regions", [#"{"regionid": "one"}"#], keys: ["1"])
        try fx.produce("visits", [#"{"Id": "1"}"#, #"{"Id": "1"}"#, #"{"Id": "2"}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE regions (id STRING PRIMARY KEY, regionid STRING) WITH (KAFKA_TOPIC='regions', VALUE_FORMAT='JSON');
            CREATE STREAM visits (id STRING) WITH (KAFKA_TOPIC='visits', VALUE_FORMAT='JSON');
            CREATE TABLE zones (id STRING PRIMARY KEY, zone STRING) WITH (KAFKA_TOPIC='regions', VALUE_FORMAT='JSON');
            CREATE TABLE per_region AS SELECT r.regionid, COUNT(*) AS n FROM visits v JOIN regions r ON r.id = v.id
              WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY r.regionid;
            """)
        #expect(try fx.rows("SELECT regionid, n::text FROM per_region") == [["one", "2"]])
        let bad = try fx.sql(["-e", "CREATE TABLE w2 AS SELECT r.id, COUNT(*) AS n FROM regions r JOIN zones q ON r.id = q.id "
            + "WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY r.id;"])
        #expect(bad.status != 0 && bad.stderr.contains("WINDOW aggregates one stream"), "\(bad.stderr)")
    }

    /// Tables joined, then grouped: a change on either side moves its joined
    /// row between groups, and the groups retract.
    @Test func aggregationOverATableJoin() throws {
        let fx = try Fixture("sql-table-join-agg")
        try fx.cluster.createTopic("users", partitions: 1)
        try fx.cluster.createTopic("scores", partitions: 1)
        try fx.produce("users", [#"{"R": "x"}"#, #"{"R": "x"}"#, #"{"R": "y"}"#], keys: ["1", "2", "3"])
        try fx.produce("scores", [#"{"SCORE": 10}"#, #"{"SCORE": 5}"#], keys: ["1", "2"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE users (id STRING PRIMARY KEY, r STRING) WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON');
            CREATE TABLE scores (id STRING PRIMARY KEY, score INT) WITH (KAFKA_TOPIC='scores', VALUE_FORMAT='JSON');
            CREATE TABLE per_r AS SELECT u.r, COUNT(*) AS n, SUM(s.score) AS total FROM users u LEFT JOIN scores s ON u.id = s.id GROUP BY u.r;
            """)
        let query = "SELECT r, n::text, total::text FROM per_r ORDER BY 1"
        // y's one user has no score: SUM of NULL is 0 in ksqlDB (it starts at 0), not NULL.
        #expect(try fx.rows(query) == [["x", "2", "15"], ["y", "1", "0"]])
        // User 2 moves to y, user 1 is deleted, user 3 gets a score.
        try fx.produce("users", [#"{"R": "y"}"#, nil], keys: ["2", "1"])
        try fx.produce("scores", [#"{"SCORE": 20}"#, #"{"SCORE": 1}"#], keys: ["1", "3"])
        try fx.catchUp()
        #expect(try fx.rows(query) == [["x", "0", "0"], ["y", "2", "6"]])
    }

    @Test func streamTableJoinsAreCheckedWhenCreated() throws {
        let fx = try Fixture("sql-stream-table-errors")
        let created = try fx.sql(["-e", """
            CREATE STREAM s (id STRING KEY, name STRING) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
            CREATE TABLE t (id STRING PRIMARY KEY, f STRING) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', PARTITIONS=1);
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let cases = [
            ("SELECT s.id, name FROM s FULL OUTER JOIN t ON s.id = t.id", "INNER or LEFT, not FULL"),
            ("SELECT s.id, name FROM s JOIN t ON s.name = t.f", "must be ON the table's primary key ID: got S.NAME = T.F"),
            ("SELECT name, f FROM s JOIN t ON s.id = t.id", "must include the join column S.ID or T.ID"),
            ("SELECT t.id, f FROM t JOIN s ON s.id = t.id", "put the stream on the left"),
        ]
        try Self.expectRejected(fx, cases)
    }
}

extension SQLJoinTests {
    /// The records of ksqlDB's documented stream-stream example, and its
    /// streams `l` (topic lefts: id, name) and `r` (topic rights: id, f).
    static func documentedExample(_ fx: Fixture) throws {
        try fx.cluster.createTopic("lefts", partitions: 1)
        try fx.cluster.createTopic("rights", partitions: 1)
        try produce(fx, [
            ("lefts", "0", #"{"NAME": "zero"}"#, 1_000), ("rights", "0", #"{"F": "blah"}"#, 11_000),
            ("lefts", "10", #"{"NAME": "100"}"#, 12_000), ("lefts", "0", #"{"NAME": "foo"}"#, 14_000),
            ("rights", "0", #"{"F": "a"}"#, 16_000), ("rights", "100", #"{"F": "newblah"}"#, 17_000),
            ("lefts", "90", #"{"NAME": "ninety"}"#, 18_000), ("lefts", "0", #"{"NAME": "bar"}"#, 31_000),
        ])
        let created = try fx.sql(["-e", """
            CREATE STREAM l (id STRING KEY, name STRING) WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON');
            CREATE STREAM r (id STRING KEY, f STRING) WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON');
            """])
        #expect(created.status == 0, "\(created.stderr)")
    }

    /// ksqlDB's documented stream-stream example (WITHIN 11 SECONDS, no
    /// grace): pairs when the later record arrives, at the larger
    /// timestamp; outer sides padded at once when nothing earlier matches.
    @Test func streamStreamJoinsPairWithinTheWindowAndPadOuterSides() throws {
        let fx = try Fixture("sql-stream-stream")
        try Self.documentedExample(fx)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM inner_j WITH (PARTITIONS=1) AS SELECT l.id, name, f FROM l JOIN r WITHIN 11 SECONDS ON l.id = r.id;
            CREATE STREAM left_j WITH (PARTITIONS=1) AS SELECT l.id, name, f FROM l LEFT JOIN r WITHIN 11 SECONDS ON l.id = r.id;
            CREATE STREAM right_j WITH (PARTITIONS=1) AS SELECT r.id, name, f FROM l RIGHT JOIN r WITHIN 11 SECONDS ON l.id = r.id;
            CREATE STREAM full_j WITH (PARTITIONS=1) AS SELECT ROWKEY AS k, name, f FROM l FULL OUTER JOIN r WITHIN 11 SECONDS ON l.id = r.id;
            CREATE STREAM full_star WITH (PARTITIONS=1) AS SELECT * FROM l FULL OUTER JOIN r WITHIN 11 SECONDS ON l.id = r.id;
            CREATE STREAM by_name WITH (PARTITIONS=1) AS SELECT l.id AS lid, name, f FROM l JOIN r WITHIN 11 SECONDS ON l.id = r.id
              PARTITION BY name;
            """)
        // Per key, in order (the output topic's partitions follow the key).
        func byKey(_ topic: String) throws -> [String: [String]] {
            Dictionary(grouping: try Self.records(fx, topic)) { String($0.prefix { $0 != " " }) }
        }
        let pairs = [#"0 {"NAME":"zero","F":"blah"} @11000"#, #"0 {"NAME":"foo","F":"blah"} @14000"#, #"0 {"NAME":"foo","F":"a"} @16000"#]
        #expect(try byKey("INNER_J") == ["0": pairs])
        let leftPadded = [
            "0": [#"0 {"NAME":"zero","F":null} @1000"#] + pairs + [#"0 {"NAME":"bar","F":null} @31000"#],
            "10": [#"10 {"NAME":"100","F":null} @12000"#], "90": [#"90 {"NAME":"ninety","F":null} @18000"#],
        ]
        let rightPadded = ["100": [#"100 {"NAME":null,"F":"newblah"} @17000"#]]
        #expect(try byKey("LEFT_J") == leftPadded)
        #expect(try byKey("RIGHT_J") == rightPadded.merging(["0": pairs]) { a, _ in a })
        #expect(try byKey("FULL_J") == leftPadded.merging(rightPadded) { a, _ in a })
        // Re-keyed after the join: by the left record's name.
        #expect(try fx.topic("BY_NAME").map { String(decoding: $0.key ?? [], as: UTF8.self) }.sorted() == ["foo", "foo", "zero"])
        // `SELECT *` over a FULL join is keyed by ROWKEY, which ksqlDB adds.
        #expect(try byKey("FULL_STAR").mapValues(\.count) == leftPadded.merging(rightPadded) { a, _ in a }.mapValues(\.count))
        // The key column is named after its source where both sides have it, and kept out of the value.
        let described = try fx.sql(["-e", "DESCRIBE left_j;"])
        #expect(described.stdout.contains("L_ID"), "\(described.stdout)")
    }
}

extension SQLJoinTests {
    /// Join conditions may compute the join value with literals; they are
    /// typed as written (a string literal stays text, a number numeric).
    @Test func joinConditionsMayHoldLiterals() throws {
        let fx = try Fixture("sql-join-literals")
        try fx.cluster.createTopic("orders", partitions: 1)
        try fx.cluster.createTopic("skus", partitions: 1)
        try fx.cluster.createTopic("returns", partitions: 1)
        try Self.produce(fx, [
            ("skus", "sku-7", #"{"TITLE": "lamp"}"#, 500),
            ("orders", "o1", #"{"ITEM": 7, "QTY": 2}"#, 1_000),
            ("orders", "o2", #"{"ITEM": 8, "QTY": 1}"#, 1_100),
            ("returns", "x", #"{"ORDER_NO": 1, "WHY": "broken"}"#, 1_500),
        ])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM orders (oid STRING KEY, item INT, qty INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
            CREATE TABLE skus (sku STRING PRIMARY KEY, title STRING) WITH (KAFKA_TOPIC='skus', VALUE_FORMAT='JSON');
            CREATE STREAM returns (rid STRING KEY, order_no INT, why STRING) WITH (KAFKA_TOPIC='returns', VALUE_FORMAT='JSON');
            CREATE STREAM titled WITH (PARTITIONS=1) AS SELECT s.sku, o.oid, o.qty, s.title
              FROM orders o LEFT JOIN skus s ON CONCAT('sku-', CAST(o.item AS STRING)) = s.sku;
            CREATE STREAM returned WITH (PARTITIONS=1) AS SELECT o.oid, r.why
              FROM orders o JOIN returns r WITHIN 1 MINUTE ON o.oid = CONCAT('o', CAST(r.order_no * 1 AS STRING));
            """)
        #expect(try Self.records(fx, "TITLED") == [
            #"sku-7 {"OID":"o1","QTY":2,"TITLE":"lamp"} @1000"#, #"sku-8 {"OID":"o2","QTY":1,"TITLE":null} @1100"#,
        ])
        #expect(try Self.records(fx, "RETURNED") == [#"o1 {"WHY":"broken"} @1500"#])
    }

    /// With GRACE PERIOD an unmatched record waits until stream time
    /// passes ts + after + grace, in this batch or a later one; a record
    /// that late on arrival is padded at once.
    @Test func graceDefersPaddingUntilTheWindowCloses() throws {
        let fx = try Fixture("sql-stream-grace")
        try fx.cluster.createTopic("gl", partitions: 1)
        try fx.cluster.createTopic("gr", partitions: 1)
        try Self.produce(fx, [
            ("gl", "0", #"{"NAME": "A"}"#, 1_000), ("gr", "0", #"{"F": "a"}"#, 61_000),
            ("gl", "1", #"{"NAME": "B"}"#, 100_000), ("gl", "5", #"{"NAME": "E"}"#, 300_000),
            ("gl", "2", #"{"NAME": "C"}"#, 90_000),
        ])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM l (id STRING KEY, name STRING) WITH (KAFKA_TOPIC='gl', VALUE_FORMAT='JSON');
            CREATE STREAM r (id STRING KEY, f STRING) WITH (KAFKA_TOPIC='gr', VALUE_FORMAT='JSON');
            CREATE STREAM g AS SELECT l.id, name, f FROM l LEFT JOIN r WITHIN 1 MINUTE GRACE PERIOD 1 MINUTE ON l.id = r.id;
            """)
        #expect(Set(try Self.records(fx, "G")) == [
            #"0 {"NAME":"A","F":"a"} @61000"#, #"1 {"NAME":"B","F":null} @100000"#, #"2 {"NAME":"C","F":null} @90000"#,
        ])
        // A later record moves stream time on: E's window closes.
        try Self.produce(fx, [("gl", "6", #"{"NAME": "F"}"#, 600_000)])
        try fx.catchUp()
        #expect(try Self.records(fx, "G").filter { $0.hasPrefix("5 ") } == [#"5 {"NAME":"E","F":null} @300000"#])
        #expect(try Self.records(fx, "G").count == 4)
    }

    /// A window buffer keeps `before + after + grace` in segments of half
    /// that, as Kafka Streams' does: a record whose segment stream time
    /// has left behind is found by no later record (D), while one in a
    /// segment still live is (C), however late both came.
    @Test func lateRecordsPastTheBuffersSegmentsJoinNothing() throws {
        let fx = try Fixture("sql-stream-segments")
        try fx.cluster.createTopic("sl", partitions: 1)
        try fx.cluster.createTopic("sr", partitions: 1)
        try Self.produce(fx, [
            ("sl", "0", #"{"NAME": "A"}"#, 1_000), ("sl", "1", #"{"NAME": "B"}"#, 331_000), ("sl", "2", #"{"NAME": "C"}"#, 91_000),
            ("sl", "3", #"{"NAME": "D"}"#, 61_000), ("sr", "0", #"{"F": "a"}"#, 61_000), ("sr", "2", #"{"F": "c"}"#, 91_000),
            ("sr", "3", #"{"F": "d"}"#, 61_000),
        ])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM l (id STRING KEY, name STRING) WITH (KAFKA_TOPIC='sl', VALUE_FORMAT='JSON');
            CREATE STREAM r (id STRING KEY, f STRING) WITH (KAFKA_TOPIC='sr', VALUE_FORMAT='JSON');
            CREATE STREAM j AS SELECT l.id, name, f FROM l JOIN r WITHIN 1 MINUTE GRACE PERIOD 1 MINUTE ON l.id = r.id;
            """)
        #expect(Set(try Self.records(fx, "J")) == [#"0 {"NAME":"A","F":"a"} @61000"#, #"2 {"NAME":"C","F":"c"} @91000"#])
    }

    @Test func streamStreamJoinsAreCheckedWhenCreated() throws {
        let fx = try Fixture("sql-stream-stream-errors")
        let created = try fx.sql(["-e", """
            CREATE STREAM l (id STRING KEY, name STRING) WITH (KAFKA_TOPIC='l', VALUE_FORMAT='JSON', PARTITIONS=1);
            CREATE STREAM r (id STRING KEY, f STRING) WITH (KAFKA_TOPIC='r', VALUE_FORMAT='JSON', PARTITIONS=1);
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let cases = [
            ("SELECT l.id, name FROM l JOIN r ON l.id = r.id", "needs a WITHIN clause"),
            ("SELECT name, f FROM l JOIN r WITHIN 1 SECOND ON l.id = r.id", "must include the join expression L.ID or R.ID"),
            ("SELECT l.id, name FROM l FULL JOIN r WITHIN 1 SECOND ON l.id = r.id", "must include the join expression ROWKEY"),
            // Only an unqualified `*` brings ROWKEY along.
            ("SELECT l.name, r.* FROM l FULL JOIN r WITHIN 1 SECOND ON l.id = r.id", "must include the join expression ROWKEY"),
            ("SELECT l.id, name FROM l JOIN r WITHIN 1 SECOND ON l.id = l.name", "exactly one of the joined streams"),
            ("SELECT ROWKEY AS k, name FROM l FULL JOIN r WITHIN 1 SECOND ON ROWKEY = r.id", "ROWKEY is the join's result key"),
        ]
        try Self.expectRejected(fx, cases)
    }
}

extension SQLJoinTests {
    /// A stream enriched from two tables, each as of the record; the key
    /// candidates are every join's columns, in order.
    @Test func aStreamJoinsSeveralTables() throws {
        let fx = try Fixture("sql-stream-tables")
        for topic in ["views", "people", "pages"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try Self.produce(fx, [
            ("people", "u1", #"{"NAME": "Ann"}"#, 1_000), ("pages", "p1", #"{"TITLE": "Home"}"#, 1_000),
            ("pages", "p1", #"{"TITLE": "Start"}"#, 3_000),
        ])
        try Self.produce(fx, [
            ("views", "u1", #"{"PAGE": "p1"}"#, 2_000), ("views", "u1", #"{"PAGE": "p1"}"#, 4_000),
            ("views", "u1", #"{"PAGE": "p9"}"#, 5_000), ("views", "u2", #"{"PAGE": "p1"}"#, 6_000),
        ])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM views (uid STRING KEY, page STRING) WITH (KAFKA_TOPIC='views', VALUE_FORMAT='JSON');
            CREATE TABLE people (uid STRING PRIMARY KEY, name STRING) WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON');
            CREATE TABLE pages (pid STRING PRIMARY KEY, title STRING) WITH (KAFKA_TOPIC='pages', VALUE_FORMAT='JSON');
            CREATE STREAM seen AS SELECT v.uid, name, title FROM views v
              JOIN people u ON v.uid = u.uid LEFT JOIN pages p ON v.page = p.pid;
            CREATE STREAM clicks (uid STRING KEY, page STRING) WITH (KAFKA_TOPIC='views', VALUE_FORMAT='JSON');
            """)
        #expect(try Self.records(fx, "SEEN") == [
            #"u1 {"NAME":"Ann","TITLE":"Home"} @2000"#, #"u1 {"NAME":"Ann","TITLE":"Start"} @4000"#,
            #"u1 {"NAME":"Ann","TITLE":null} @5000"#,
        ])
        // A stream joined to a stream needs WITHIN, after a table too.
        let mixed = try fx.sql(["-e", "CREATE STREAM bad AS SELECT v.uid FROM views v JOIN people u ON v.uid = u.uid JOIN clicks w ON v.uid = w.uid;"])
        #expect(mixed.status != 0 && mixed.stderr.contains("several joins in one query are supported for tables, or a stream joined"), "\(mixed.stderr)")
    }
}

extension SQLJoinTests {
    /// A foreign-key table-table join: keyed by the left table's key; a
    /// change on the right updates every left row pointing at it.
    @Test func foreignKeyTableJoinsFollowBothSides() throws {
        let fx = try Fixture("sql-fk-join")
        for topic in ["orders", "customers"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try fx.produce("customers", [#"{"NAME": "Ann"}"#, #"{"NAME": "Bo"}"#], keys: ["c1", "c2"])
        try fx.produce("orders", [#"{"CID": "c1", "AMOUNT": 5}"#, #"{"CID": "c1", "AMOUNT": 7}"#, #"{"CID": "c3", "AMOUNT": 9}"#],
                       keys: ["o1", "o2", "o3"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE orders (oid STRING PRIMARY KEY, cid STRING, amount INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
            CREATE TABLE customers (cid STRING PRIMARY KEY, name STRING) WITH (KAFKA_TOPIC='customers', VALUE_FORMAT='JSON');
            CREATE TABLE named AS SELECT o.oid, amount, name FROM orders o JOIN customers c ON o.cid = c.cid;
            CREATE TABLE all_orders AS SELECT o.oid, amount, name FROM orders o LEFT JOIN customers c ON o.cid = c.cid;
            """)
        let inner = "SELECT oid, amount::text, name FROM named ORDER BY 1"
        let left = "SELECT oid, amount::text, coalesce(name, '-') FROM all_orders ORDER BY 1"
        #expect(try fx.rows(inner) == [["o1", "5", "Ann"], ["o2", "7", "Ann"]])
        #expect(try fx.rows(left) == [["o1", "5", "Ann"], ["o2", "7", "Ann"], ["o3", "9", "-"]])
        // c1 renamed: both its orders follow; o2 moves to c2; c3 appears.
        try fx.produce("customers", [#"{"NAME": "Anna"}"#, #"{"NAME": "Cy"}"#], keys: ["c1", "c3"])
        try fx.produce("orders", [#"{"CID": "c2", "AMOUNT": 7}"#], keys: ["o2"])
        try fx.catchUp()
        #expect(try fx.rows(inner) == [["o1", "5", "Anna"], ["o2", "7", "Bo"], ["o3", "9", "Cy"]])
        // c1 deleted: the inner join drops o1, the left join keeps it without a name.
        try fx.produce("customers", [nil], keys: ["c1"])
        try fx.catchUp()
        #expect(try fx.rows(inner) == [["o2", "7", "Bo"], ["o3", "9", "Cy"]])
        #expect(try fx.rows(left) == [["o1", "5", "-"], ["o2", "7", "Bo"], ["o3", "9", "Cy"]])
        let full = try fx.sql(["-e", "CREATE TABLE bad AS SELECT o.oid, name FROM orders o FULL JOIN customers c ON o.cid = c.cid;"])
        #expect(full.status != 0 && full.stderr.contains("INNER or LEFT"), "\(full.stderr)")
    }
}

extension SQLJoinTests {
    /// GROUP BY over a stream-table join: each event counts where the
    /// table put it at its time; a later table change moves later events only.
    @Test func aggregatesOverAStreamTableJoinCountEachEventAsOfItsTime() throws {
        let fx = try Fixture("sql-join-aggregate")
        for topic in ["taps", "homes"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try Self.produce(fx, [
            ("homes", "u1", #"{"REGION": "eu"}"#, 1_000), ("homes", "u1", #"{"REGION": "us"}"#, 3_000),
            ("homes", "u2", #"{"REGION": "eu"}"#, 1_000),
        ])
        try Self.produce(fx, [
            ("taps", "u1", #"{"N": 1}"#, 2_000), ("taps", "u2", #"{"N": 5}"#, 2_500), ("taps", "u1", #"{"N": 2}"#, 4_000),
            ("taps", "u3", #"{"N": 7}"#, 4_500),
        ])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM taps (uid STRING KEY, n INT) WITH (KAFKA_TOPIC='taps', VALUE_FORMAT='JSON');
            CREATE TABLE homes (uid STRING PRIMARY KEY, region STRING) WITH (KAFKA_TOPIC='homes', VALUE_FORMAT='JSON');
            CREATE TABLE per_region AS SELECT region, COUNT(*) AS taps, SUM(n) AS total
              FROM taps t JOIN homes h ON t.uid = h.uid GROUP BY region;
            """)
        #expect(try fx.rows("SELECT region, taps::text, total::text FROM per_region ORDER BY 1") == [["eu", "2", "6"], ["us", "1", "2"]])
        // Array-backed aggregates merge too.
        try fx.run("SET 'auto.offset.reset'='earliest'; CREATE TABLE kinds AS SELECT region, COUNT_DISTINCT(n) AS d, COLLECT_LIST(n) AS ns FROM taps t JOIN homes h ON t.uid = h.uid GROUP BY region;")
        #expect(try fx.rows("SELECT region, d::text, ns::text FROM kinds ORDER BY 1") == [["eu", "2", "{1,5}"], ["us", "1", "{2}"]])
    }
}

extension SQLJoinTests {
    /// Several tables joined on their primary keys, and outer joins whose
    /// rows lack one side: the key is the one present.
    @Test func tablesJoinInChainsAndOuterRowsKeepTheirKey() throws {
        let fx = try Fixture("sql-table-chain")
        for topic in ["names", "ages", "towns"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try fx.produce("names", [#"{"NAME": "Ann"}"#, #"{"NAME": "Bo"}"#], keys: ["p1", "p2"])
        try fx.produce("ages", [#"{"AGE": 30}"#, #"{"AGE": 40}"#], keys: ["p1", "p3"])
        try fx.produce("towns", [#"{"TOWN": "Oslo"}"#], keys: ["p1"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE names (id STRING PRIMARY KEY, name STRING) WITH (KAFKA_TOPIC='names', VALUE_FORMAT='JSON');
            CREATE TABLE ages (id STRING PRIMARY KEY, age INT) WITH (KAFKA_TOPIC='ages', VALUE_FORMAT='JSON');
            CREATE TABLE towns (id STRING PRIMARY KEY, town STRING) WITH (KAFKA_TOPIC='towns', VALUE_FORMAT='JSON');
            CREATE TABLE people AS SELECT n.id, name, age, town FROM names n JOIN ages a ON n.id = a.id LEFT JOIN towns t ON a.id = t.id;
            CREATE TABLE everyone AS SELECT n.id, name, age FROM names n FULL OUTER JOIN ages a ON n.id = a.id;
            CREATE TABLE keyed AS SELECT ROWKEY, name, age FROM names n FULL OUTER JOIN ages a ON n.id = a.id;
            """)
        // ksqlDB names a column several sources share after its source: N_ID.
        let people = "SELECT n_id, name, age::text, coalesce(town, '-') FROM people ORDER BY 1"
        let everyone = "SELECT n_id, coalesce(name, '-'), coalesce(age::text, '-') FROM everyone ORDER BY 1"
        #expect(try fx.rows(people) == [["p1", "Ann", "30", "Oslo"]])
        #expect(try fx.rows(everyone) == [["p1", "Ann", "30"], ["p2", "Bo", "-"], ["p3", "-", "40"]])
        #expect(try fx.rows("SELECT rowkey FROM keyed ORDER BY 1") == [["p1"], ["p2"], ["p3"]])
        // p2 gets an age and a town; p1 loses its town.
        try fx.produce("ages", [#"{"AGE": 25}"#], keys: ["p2"])
        try fx.produce("towns", [#"{"TOWN": "Rome"}"#, nil], keys: ["p2", "p1"])
        try fx.catchUp()
        #expect(try fx.rows(people) == [["p1", "Ann", "30", "-"], ["p2", "Bo", "25", "Rome"]])
        #expect(try fx.rows(everyone) == [["p1", "Ann", "30"], ["p2", "Bo", "25"], ["p3", "-", "40"]])
        let foreign = try fx.sql(["-e", "CREATE TABLE bad AS SELECT n.id, age FROM names n JOIN ages a ON n.id = a.id JOIN towns t ON n.name = t.id;"])
        #expect(foreign.status != 0 && foreign.stderr.contains("primary keys of TOWNS"), "\(foreign.stderr)")
    }
}

extension SQLJoinTests {
    /// A record matching several others emits the pairs in the order the
    /// matched records came; a column two of three sources have is named
    /// after its source, the third source's own column is not.
    @Test func matchesComeInArrivalOrderAndSharedNamesArePrefixed() throws {
        let fx = try Fixture("sql-join-order")
        for topic in ["s1", "s2", "t3"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try Self.produce(fx, [("t3", "0", #"{"DIFF": "d"}"#, 1_000)])
        try Self.produce(fx, [("s1", "0", #"{"NAME": "a", "V0": 1}"#, 1_000)])
        try Self.produce(fx, [("s2", "0", #"{"NAME": "b", "V0": 2}"#, 1_010)])
        try Self.produce(fx, [("s1", "0", #"{"NAME": null, "V0": 3}"#, 1_020)])
        try Self.produce(fx, [("s2", "0", #"{"NAME": null, "V0": 4}"#, 1_030)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM s1 (id STRING KEY, name STRING, v0 INT) WITH (KAFKA_TOPIC='s1', VALUE_FORMAT='JSON');
            CREATE STREAM s2 (id STRING KEY, name STRING, v0 INT) WITH (KAFKA_TOPIC='s2', VALUE_FORMAT='JSON');
            CREATE TABLE t3 (id STRING PRIMARY KEY, diff STRING) WITH (KAFKA_TOPIC='t3', VALUE_FORMAT='JSON');
            CREATE STREAM pairs WITH (PARTITIONS=1) AS SELECT s1.id, s1.name AS name1, s2.name AS name2
              FROM s1 JOIN s2 WITHIN 1 SECOND ON s1.id = s2.id;
            CREATE STREAM named WITH (PARTITIONS=1) AS SELECT s1.id, s1.v0, t3.diff FROM s1 JOIN t3 ON s1.id = t3.id;
            """)
        let pairs = try Self.records(fx, "PAIRS")
        #expect(pairs == [
            #"0 {"NAME1":"a","NAME2":"b"} @1010"#, #"0 {"NAME1":null,"NAME2":"b"} @1020"#,
            #"0 {"NAME1":"a","NAME2":null} @1030"#, #"0 {"NAME1":null,"NAME2":null} @1030"#,
        ], "\(pairs)")
        // V0 is only S1's among the sources joined here, so it keeps its name; DIFF too.
        let named = try Self.records(fx, "NAMED")
        #expect(named.first == #"0 {"V0":1,"DIFF":"d"} @1000"#, "\(named)")
    }
}

extension SQLJoinTests {
    /// A join keyed by no selected column has a synthetic key, ROWKEY, or
    /// ROWKEY_n where a source has a ROWKEY column; `SELECT *` carries it.
    @Test func syntheticJoinKeysAvoidSourceColumnNames() throws {
        let fx = try Fixture("sql-synthetic-key")
        for topic in ["lt", "rt", "s1", "s2"] { try fx.cluster.createTopic(topic, partitions: 1) }
        let int = { (n: UInt8) -> [UInt8] in [0, 0, 0, n] }
        try SinkTestSupport.produce(fx.cluster, "lt", [(key: int(1), value: Array(#"{"V": 2}"#.utf8))], partition: 0)
        try SinkTestSupport.produce(fx.cluster, "rt", [(key: int(1), value: Array(#"{"W": 5}"#.utf8))], partition: 0)
        try Self.produce(fx, [("s1", "1", #"{"B": {"C": 10}}"#, 1_020)])
        try Self.produce(fx, [("s2", "2", #"{"Y": {"Z": 10}}"#, 1_100)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE l (rowkey INT PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='lt', VALUE_FORMAT='JSON');
            CREATE TABLE r (id INT PRIMARY KEY, w INT) WITH (KAFKA_TOPIC='rt', VALUE_FORMAT='JSON');
            CREATE TABLE both_sides AS SELECT ROWKEY_1, l.rowkey AS lk, w FROM l FULL OUTER JOIN r ON l.rowkey = r.id;
            CREATE STREAM s1 (id STRING KEY, b STRUCT<c INT>) WITH (KAFKA_TOPIC='s1', VALUE_FORMAT='JSON');
            CREATE STREAM s2 (id STRING KEY, y STRUCT<z INT>) WITH (KAFKA_TOPIC='s2', VALUE_FORMAT='JSON');
            CREATE STREAM on_fields AS SELECT * FROM s1 JOIN s2 WITHIN 1 MINUTE ON s1.b->c = s2.y->z;
            """)
        #expect(try fx.rows("SELECT rowkey_1::text, lk::text, w::text FROM both_sides") == [["1", "1", "5"]])
        let joined = try fx.topic("ON_FIELDS")
        #expect(joined.map { $0.key ?? [] } == [int(10)])
        #expect(joined.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [#"{"S1_ID":"1","S1_B":{"C":10},"S2_ID":"2","S2_Y":{"Z":10}}"#])
        // A source's own ROWKEY column may be joined on: the synthetic key is then ROWKEY_n.
        try Self.produce(fx, [("s1", "1", #"{"B": {"C": 7}}"#, 1_200)])
        try Self.produce(fx, [("s2", "2", #"{"Y": {"Z": 1}}"#, 1_210)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM k1 (rowkey STRING KEY, b STRUCT<c INT>) WITH (KAFKA_TOPIC='s1', VALUE_FORMAT='JSON');
            CREATE STREAM k2 (id STRING KEY, y STRUCT<z INT>) WITH (KAFKA_TOPIC='s2', VALUE_FORMAT='JSON');
            CREATE STREAM on_rowkey AS SELECT k1.rowkey, k2.y FROM k1 JOIN k2 WITHIN 1 MINUTE ON k1.rowkey = CAST(k2.y->z AS STRING);
            """)
        // The right record (z = 1) meets both left records keyed "1".
        let onRowKey = try fx.topic("ON_ROWKEY")
        #expect(onRowKey.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [#"{"Y":{"Z":1}}"#, #"{"Y":{"Z":1}}"#], "\(onRowKey)")
        #expect(onRowKey.map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["1", "1"])
    }
}

extension SQLJoinTests {
    /// A stream without a key (KEY_FORMAT 'NONE') joined to a table is keyed
    /// by the join value, in the table's key format.
    @Test func aKeylessStreamTakesItsKeyFromTheJoin() throws {
        let fx = try Fixture("sql-keyless-join")
        for topic in ["t", "s"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try SinkTestSupport.produce(fx.cluster, "t", [(key: [0, 0, 0, 10], value: Array(#"{"VAL": "hello"}"#.utf8))], partition: 0)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE t (id INT PRIMARY KEY, val STRING) WITH (KAFKA_TOPIC='t', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON');
            CREATE STREAM s (id INT, foo INT) WITH (KAFKA_TOPIC='s', KEY_FORMAT='NONE', VALUE_FORMAT='JSON');
            CREATE STREAM enriched AS SELECT s.id, val FROM s LEFT JOIN t ON s.id = t.id;
            """)
        try fx.produce("s", [#"{"ID": 10, "FOO": 22}"#])
        try fx.catchUp()
        let out = try fx.topic("ENRICHED")
        #expect(out.map { $0.key ?? [] } == [[0, 0, 0, 10]])
        #expect(out.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [#"{"VAL":"hello"}"#])
        // Two keyless streams: ksql.persistence.default.format.key says how the join value is written.
        for topic in ["a", "b"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try fx.produce("a", [#"{"ID": 10, "X": "x"}"#])
        try fx.produce("b", [#"{"ID": 10, "Y": "y"}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            SET 'ksql.persistence.default.format.key'='DELIMITED';
            CREATE STREAM a (id INT, x STRING) WITH (KAFKA_TOPIC='a', KEY_FORMAT='NONE', VALUE_FORMAT='JSON');
            CREATE STREAM b (id INT, y STRING) WITH (KAFKA_TOPIC='b', KEY_FORMAT='NONE', VALUE_FORMAT='JSON');
            CREATE STREAM ab AS SELECT a.id, x, y FROM a JOIN b WITHIN 1 HOUR ON a.id = b.id;
            """)
        #expect(try fx.topic("AB").map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["10"])
    }
}

extension SQLJoinTests {
    /// A stream joined to several tables is keyed by the last join's
    /// expression, as each ksqlDB join re-keys by its own.
    @Test func theLastJoinKeysAStreamJoinedToTables() throws {
        let fx = try Fixture("sql-last-join-key")
        for topic in ["left", "right", "right2"] { try fx.cluster.createTopic(topic, partitions: 1) }
        let int = { (n: UInt8) -> [UInt8] in [0, 0, 0, n] }
        try SinkTestSupport.produce(fx.cluster, "right2", [(key: int(2), value: Array(#"{"V0": 3}"#.utf8))], partition: 0)
        try SinkTestSupport.produce(fx.cluster, "right", [(key: int(1), value: Array(#"{"V0": 2}"#.utf8))], partition: 0)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM s1 (id INT KEY, k INT, v0 INT) WITH (KAFKA_TOPIC='left', VALUE_FORMAT='JSON');
            CREATE TABLE t2 (id INT PRIMARY KEY, v0 INT) WITH (KAFKA_TOPIC='right', VALUE_FORMAT='JSON');
            CREATE TABLE t3 (id INT PRIMARY KEY, v0 INT) WITH (KAFKA_TOPIC='right2', VALUE_FORMAT='JSON');
            CREATE STREAM output AS SELECT s1.k, s1.v0, t2.v0, t3.v0 FROM s1 JOIN t2 ON s1.v0 = t2.id JOIN t3 ON s1.k = t3.id;
            """)
        try SinkTestSupport.produce(fx.cluster, "left", [(key: int(0), value: Array(#"{"K": 2, "V0": 1}"#.utf8))], partition: 0)
        try fx.catchUp()
        let out = try fx.topic("OUTPUT")
        #expect(out.map { $0.key ?? [] } == [int(2)])
        #expect(out.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [#"{"S1_V0":1,"T2_V0":2,"T3_V0":3}"#])
    }
}

extension SQLJoinTests {
    /// Two streams joined within a window, each pair then joined to a
    /// table as of the pair's time; a LEFT pair padded with NULLs keeps
    /// the join value as its key.
    @Test func streamStreamPairsJoinTables() throws {
        let fx = try Fixture("sql-stream-stream-table")
        for topic in ["left", "right", "right2"] { try fx.cluster.createTopic(topic, partitions: 1) }
        let int = { (n: UInt8) -> [UInt8] in [0, 0, 0, n] }
        func send(_ topic: String, _ value: String, _ timestamp: Int64) throws {
            let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
            try producer.produce(topic: topic, partition: 0, key: int(0), value: Array(value.utf8), timestamp: timestamp)
            try producer.flush(timeoutMilliseconds: 10_000)
        }
        try send("right2", #"{"V0": 3}"#, 1_010)
        try send("right", #"{"V0": 2}"#, 1_011)
        try send("left", #"{"V0": 1}"#, 1_012)
        try send("right", #"{"V0": 4}"#, 1_013)
        try send("left", #"{"V0": 5}"#, 101_000)
        try send("right", #"{"V0": 6}"#, 101_001)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM s1 (id INT KEY, v0 BIGINT) WITH (KAFKA_TOPIC='left', VALUE_FORMAT='JSON');
            CREATE STREAM s2 (id INT KEY, v0 BIGINT) WITH (KAFKA_TOPIC='right', VALUE_FORMAT='JSON');
            CREATE TABLE t3 (id INT PRIMARY KEY, v0 BIGINT) WITH (KAFKA_TOPIC='right2', VALUE_FORMAT='JSON');
            CREATE STREAM inner_j WITH (PARTITIONS=1) AS SELECT s2.id, s1.v0, s2.v0, t3.v0
              FROM s1 JOIN s2 WITHIN 10 SECONDS ON s1.id = s2.id JOIN t3 ON s1.id = t3.id;
            CREATE STREAM left_j WITH (PARTITIONS=1) AS SELECT s1.v0, s2.v0, t3.v0, s2.id
              FROM s1 LEFT JOIN s2 WITHIN 10 SECONDS ON s1.id = s2.id JOIN t3 ON s1.id = t3.id;
            """)
        func records(_ topic: String) throws -> [String] {
            try fx.topic(topic).map { "\($0.key ?? []) \(String(decoding: $0.value ?? [], as: UTF8.self)) @\($0.timestamp ?? -1)" }
        }
        let key = "\(int(0))"
        #expect(try records("INNER_J") == [
            #"\#(key) {"S1_V0":1,"S2_V0":2,"T3_V0":3} @1012"#, #"\#(key) {"S1_V0":1,"S2_V0":4,"T3_V0":3} @1013"#,
            #"\#(key) {"S1_V0":5,"S2_V0":6,"T3_V0":3} @101001"#,
        ])
        #expect(try records("LEFT_J") == [
            #"\#(key) {"S1_V0":1,"S2_V0":2,"T3_V0":3} @1012"#, #"\#(key) {"S1_V0":1,"S2_V0":4,"T3_V0":3} @1013"#,
            #"\#(key) {"S1_V0":5,"S2_V0":null,"T3_V0":3} @101000"#, #"\#(key) {"S1_V0":5,"S2_V0":6,"T3_V0":3} @101001"#,
        ])
    }
}

extension SQLJoinTests {
    /// GROUP BY over two streams joined within a window aggregates the
    /// join's output: each pair once, and each padded record of an outer
    /// join, at the pair's time (ksqlDB's documented example's records).
    @Test func aggregatesOverAStreamStreamJoinCountEachPairOnce() throws {
        let fx = try Fixture("sql-stream-stream-aggregate")
        try Self.documentedExample(fx)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE pairs AS SELECT l.id, COUNT(*) AS n, COUNT(f) AS matched, LATEST_BY_OFFSET(name) AS last_name
              FROM l LEFT JOIN r WITHIN 11 SECONDS ON l.id = r.id GROUP BY l.id;
            CREATE TABLE per_f AS SELECT f, COUNT(*) AS n FROM l JOIN r WITHIN 11 SECONDS ON l.id = r.id
              WHERE name <> 'zero' GROUP BY f;
            """)
        #expect(try fx.rows("SELECT l_id, n::text, matched::text, last_name FROM pairs ORDER BY 1") == [
            ["0", "5", "3", "bar"], ["10", "1", "0", "100"], ["90", "1", "0", "ninety"],
        ])
        #expect(try fx.rows("SELECT f, n::text FROM per_f ORDER BY 1") == [["a", "1"], ["blah", "1"]])
        // The changelog's last record per key, at the latest pair's time.
        let last = Dictionary(try Self.records(fx, "PAIRS").map { (String($0.prefix { $0 != " " }), $0) }) { _, new in new }
        #expect(last["0"] == #"0 {"N":5,"MATCHED":3,"LAST_NAME":"bar"} @31000"#)
        // A third stream, or a window over the join, is still refused when created.
        let windowed = try fx.sql(["-e", """
            CREATE TABLE w AS SELECT l.id, COUNT(*) AS n FROM l JOIN r WITHIN 1 SECOND ON l.id = r.id
              WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY l.id;
            """])
        #expect(windowed.status != 0 && windowed.stderr.contains("WINDOW aggregates one stream"), "\(windowed.stderr)")
    }
}
