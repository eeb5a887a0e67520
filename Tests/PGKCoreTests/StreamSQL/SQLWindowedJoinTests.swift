import Foundation
import Testing
@testable import PGKCore

/// Windowed streams (a windowed aggregation's changelog, say) join as
/// Kafka Streams joins their windowed keys: key to key, window to window.
@Suite struct SQLWindowedJoinTests {
    typealias Fixture = SQLCommandTests.Fixture

    /// A session key: the INT key, then the session's end and start.
    static func sessionKey(_ key: Int32, start: Int64, end: Int64) -> [UInt8] {
        withUnsafeBytes(of: key.bigEndian, Array.init) + withUnsafeBytes(of: end.bigEndian, Array.init)
            + withUnsafeBytes(of: start.bigEndian, Array.init)
    }

    @Test func sessionWindowedStreamsJoinWindowToWindow() throws {
        let fx = try Fixture("sql-windowed-join")
        for topic in ["left_w", "right_w", "plain"] { try fx.cluster.createTopic(topic, partitions: 1) }
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for (topic, end, value) in [("left_w", Int64(1_765), 1), ("right_w", 1_567, 2), ("right_w", 1_765, 3)] {
            try producer.produce(topic: topic, partition: 0, key: Self.sessionKey(1, start: 1_234, end: end),
                                 value: Array(#"{"V": \#(value)}"#.utf8), timestamp: end)
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM s1 (id INT KEY, v BIGINT) WITH (KAFKA_TOPIC='left_w', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');
            CREATE STREAM s2 (id INT KEY, v BIGINT) WITH (KAFKA_TOPIC='right_w', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');
            CREATE STREAM plain (id INT KEY, v BIGINT) WITH (KAFKA_TOPIC='plain', VALUE_FORMAT='JSON');
            CREATE STREAM joined WITH (PARTITIONS=1) AS SELECT s1.id, s1.v, s2.v FROM s1 JOIN s2 WITHIN 1 MINUTE ON s1.id = s2.id;
            """)
        // Only the right record of the same session [1234, 1765] joins; the key keeps the window.
        let records = try fx.topic("JOINED").map { "\($0.key ?? []) \(String(decoding: $0.value ?? [], as: UTF8.self)) @\($0.timestamp ?? -1)" }
        #expect(records == ["\(Self.sessionKey(1, start: 1_234, end: 1_765)) {\"S1_V\":1,\"S2_V\":3} @1765"], "\(records)")
        try SQLJoinTests.expectRejected(fx, [
            ("SELECT s1.id, s1.v, plain.v AS pv FROM s1 JOIN plain WITHIN 1 MINUTE ON s1.id = plain.id",
             "Can not join windowed source to non-windowed source"),
            ("SELECT s1.id, s1.v, s2.v AS v2 FROM s1 JOIN s2 WITHIN 1 MINUTE ON s1.v = s2.v",
             "Implicit repartitioning of windowed sources is not supported"),
        ])
    }
}
