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
            ("INSERT INTO orders SELECT * FROM orders;", "INSERT INTO … SELECT"),
        ]
        for (statement, message) in cases {
            let result = try fx.sql(["-e", statement])
            #expect(result.status != 0 && result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
    }
}
