import Foundation
import Testing
@testable import PGKCore

/// `INSERT INTO … VALUES`: a record in the source's formats, which the
/// queries over it then read.
@Suite struct SQLInsertTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func insertedValuesReachTheTopicAndTheQueries() throws {
        let fx = try Fixture("sql-insert")
        try fx.cluster.createTopic("orders", partitions: 1)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM orders (id INT KEY, item STRING, qty INT, price DOUBLE) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
            CREATE TABLE per_item AS SELECT item, SUM(qty) AS qty FROM orders GROUP BY item;
            INSERT INTO orders (id, item, qty, price) VALUES (1, 'pen', 2, 1.5);
            INSERT INTO orders (item, qty, id, ROWTIME) VALUES ('pen', 3, 2, 1000);
            INSERT INTO orders VALUES (3, UCASE('ink'), '4', NULL);
            """)
        #expect(try fx.rows("SELECT item, qty::text FROM per_item ORDER BY 1") == [["INK", "4"], ["pen", "5"]])
        let records = try fx.topic("orders")
        #expect(records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [
            #"{"ITEM":"pen","QTY":2,"PRICE":1.5}"#, #"{"ITEM":"pen","QTY":3,"PRICE":null}"#, #"{"ITEM":"INK","QTY":4,"PRICE":null}"#,
        ])
        #expect(records.map { $0.key ?? [] } == [[0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 3]])
        #expect(records[1].timestamp == 1000)
        let cases = [
            ("INSERT INTO orders (id, itme) VALUES (4, 'x');", "has no column ITME (did you mean ITEM?)"),
            ("INSERT INTO orders (id) VALUES (4, 'x');", "names 1 column(s) but gives 2 value(s)"),
            ("INSERT INTO ordrs (id) VALUES (4);", "unknown stream or table ORDRS"),
            ("INSERT INTO orders SELECT * FROM orders;", "cannot read ORDERS itself"),
        ]
        for (statement, message) in cases {
            let result = try fx.sql(["-e", statement])
            #expect(result.status != 0 && result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
    }
}

extension SQLInsertTests {
    /// INSERT INTO … SELECT: persistent queries merging two streams into a
    /// third, in its formats; a query reading the merged stream sees both.
    @Test func insertSelectMergesStreams() throws {
        let fx = try Fixture("sql-insert-select")
        for topic in ["a_in", "b_in"] { try fx.cluster.createTopic(topic, partitions: 1) }
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for (topic, key, value) in [("a_in", 1, 2), ("b_in", 1, 3), ("a_in", 2, 5)] {
            try producer.produce(topic: topic, partition: 0, key: [0, 0, 0, UInt8(key)], value: Array(#"{"V": \#(value)}"#.utf8))
        }
        try producer.flush(timeoutMilliseconds: 10_000)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM a (id INT KEY, v INT) WITH (KAFKA_TOPIC='a_in', VALUE_FORMAT='JSON');
            CREATE STREAM b (id INT KEY, v INT) WITH (KAFKA_TOPIC='b_in', VALUE_FORMAT='JSON');
            CREATE STREAM merged (id INT KEY, v INT) WITH (KAFKA_TOPIC='merged', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
            INSERT INTO merged SELECT id, v FROM a;
            INSERT INTO merged SELECT id, v * 10 AS v FROM b;
            CREATE TABLE totals AS SELECT id, SUM(v) AS s FROM merged GROUP BY id;
            """)
        #expect(try fx.rows("SELECT id::text, s::text FROM totals ORDER BY 1") == [["1", "32"], ["2", "5"]])
        #expect(Set(try fx.topic("merged").map { String(decoding: $0.value ?? [], as: UTF8.self) }) == ["2", "30", "5"])
        let queries = try fx.sql(["-e", "SHOW QUERIES;", "-o", "json"])
        #expect(queries.stdout.contains("INSERTQUERY_1") && queries.stdout.contains("INSERTQUERY_2"), "\(queries.stdout)")
        let cases = [
            ("INSERT INTO merged SELECT v FROM a;", "needs the columns ID KEY, V; the SELECT gives V"),
            ("INSERT INTO merged SELECT id, v AS w FROM a;", "needs the columns"),
            ("INSERT INTO merged SELECT id, CAST(v AS BIGINT) AS v FROM a;",
             "Incompatible schema between results and sink: V is INTEGER in MERGED, the SELECT gives BIGINT"),
            ("INSERT INTO totals SELECT id, v AS s FROM a;", "writes into a stream; TOTALS is a table"),
            ("DROP STREAM merged;", "reads it"),
        ]
        for (statement, message) in cases {
            let result = try fx.sql(["-e", statement])
            #expect(result.status != 0 && result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
        #expect(try fx.sql(["-e", "TERMINATE CTAS_TOTALS_1; DROP TABLE totals;"]).status == 0)
        let drop = try fx.sql(["-e", "DROP STREAM merged;"])
        #expect(drop.status != 0 && drop.stderr.contains("writes into it"), "\(drop.stderr)")
    }
}

extension SQLInsertTests {
    /// `--until-end` reads a topic that does not exist as empty, instead of
    /// waiting for it forever; the other inputs are read as usual.
    @Test func untilEndTreatsAMissingTopicAsEmpty() throws {
        let fx = try Fixture("sql-missing-topic")
        try fx.cluster.createTopic("present", partitions: 1)
        try fx.produce("present", ["v1"], keys: ["k1"])
        let started = SystemClock.shared.nowMilliseconds
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM absent (data STRING) WITH (KAFKA_TOPIC='absent', VALUE_FORMAT='DELIMITED');
            CREATE STREAM present (data STRING) WITH (KAFKA_TOPIC='present', VALUE_FORMAT='DELIMITED');
            CREATE STREAM merged AS SELECT * FROM absent;
            INSERT INTO merged SELECT * FROM present;
            """)
        #expect(SystemClock.shared.nowMilliseconds - started < 30_000)
        #expect(try fx.topic("MERGED").map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["v1"])
    }

    /// ALTER … ADD COLUMN widens a declared stream; queries planned after it see the column.
    @Test func alterAddsColumnsToADeclaredStream() throws {
        let fx = try Fixture("sql-alter")
        try fx.cluster.createTopic("people", partitions: 1)
        try fx.produce("people", [#"{"NAME": "ann", "AGE": 40, "CITY": "Oslo"}"#], keys: ["p1"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM people (id STRING KEY, name STRING) WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON');
            ALTER STREAM people ADD COLUMN age INT, ADD city STRING;
            CREATE STREAM adults AS SELECT id, name, city FROM people WHERE age >= 18;
            """)
        #expect(try fx.topic("ADULTS").map { String(decoding: $0.value ?? [], as: UTF8.self) } == [#"{"NAME":"ann","CITY":"Oslo"}"#])
        let cases = [
            ("ALTER STREAM people ADD COLUMN name STRING;", "already has a column NAME"),
            ("ALTER STREAM adults ADD COLUMN x INT;", "not supported for the result of CREATE STREAM"),
            ("ALTER TABLE people ADD COLUMN x INT;", "use ALTER STREAM"),
        ]
        for (statement, message) in cases {
            let result = try fx.sql(["-e", statement])
            #expect(result.status != 0 && result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
    }
}
