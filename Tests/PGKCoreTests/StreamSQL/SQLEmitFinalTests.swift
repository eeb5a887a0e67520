import Foundation
import Testing
@testable import PGKCore

/// `EMIT FINAL`: a windowed aggregate writes each window once, when stream
/// time closes it, to its table and its topic.
@Suite struct SQLEmitFinalTests {
    typealias Fixture = SQLCommandTests.Fixture

    static func produce(_ fx: Fixture, _ events: [(user: String, time: Int64)]) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for event in events {
            try producer.produce(topic: "taps", partition: 0, key: Array(event.user.utf8), value: Array(#"{"n": 1}"#.utf8),
                                 timestamp: event.time)
        }
        try producer.flush(timeoutMilliseconds: 10_000)
    }

    @Test func windowsAppearOnceWhenTheyClose() throws {
        let fx = try Fixture("sql-emit-final")
        try fx.cluster.createTopic("taps", partitions: 1)
        try Self.produce(fx, [("a", 1_000), ("a", 1_500), ("b", 1_200), ("a", 2_500)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM taps (usr STRING KEY, n INT) WITH (KAFKA_TOPIC='taps', VALUE_FORMAT='JSON');
            CREATE TABLE per_second WITH (KAFKA_TOPIC='per_second') AS SELECT usr, COUNT(*) AS c FROM taps
              WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 0 SECONDS) GROUP BY usr EMIT FINAL;
            CREATE TABLE sessions AS SELECT usr, SUM(n) AS total FROM taps
              WINDOW SESSION (1 SECOND, GRACE PERIOD 0 SECONDS) GROUP BY usr EMIT FINAL;
            """)
        let windows = "SELECT usr, windowstart::text, c::text FROM per_second ORDER BY 1, 2"
        let sessions = "SELECT usr, windowstart::text, windowend::text, total::text FROM sessions ORDER BY 1, 2"
        // Stream time 2500 closes [1000, 2000) (end + grace ≤ 2500), not [2000, 3000);
        // a's session [1000, 2500] stays open (2500 is within the gap of 1500), b's [1200, 1200] closed.
        #expect(try fx.rows(windows) == [["a", "1000", "2"], ["b", "1000", "1"]])
        #expect(try fx.rows(sessions) == [["b", "1200", "1200", "1"]])
        try Self.produce(fx, [("a", 2_600), ("b", 6_000)])
        try fx.catchUp()
        #expect(try fx.rows(windows) == [["a", "1000", "2"], ["a", "2000", "2"], ["b", "1000", "1"]])
        #expect(try fx.rows(sessions) == [["a", "1000", "2600", "4"], ["b", "1200", "1200", "1"]])
        // One record per closed window: no intermediate counts, no tombstones.
        let records = try fx.topic("per_second").map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(records.sorted() == [#"{"C":1}"#, #"{"C":2}"#, #"{"C":2}"#], "\(records)")

        let push = try fx.sql(["-e", "SELECT usr FROM taps EMIT FINAL;"])
        #expect(push.status != 0 && push.stderr.contains("EMIT FINAL is for CREATE TABLE"), "\(push.stderr)")
        let unwindowed = try fx.sql(["-e", "CREATE TABLE t AS SELECT usr, COUNT(*) FROM taps GROUP BY usr EMIT FINAL;"])
        #expect(unwindowed.status != 0 && unwindowed.stderr.contains("needs a windowed aggregation"), "\(unwindowed.stderr)")
    }
}
