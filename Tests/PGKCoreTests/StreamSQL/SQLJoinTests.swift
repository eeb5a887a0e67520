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
            """)
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
        for (select, message) in cases {
            let result = try fx.sql(["-e", "CREATE STREAM bad AS \(select);"])
            #expect(result.status != 0 && result.stderr.contains(message), "\(select): \(result.stderr)")
        }
    }
}
