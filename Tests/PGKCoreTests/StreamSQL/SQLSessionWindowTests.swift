import Foundation
import Testing
@testable import PGKCore

/// `WINDOW SESSION (gap)`: sessions per key that merge when a record
/// falls within the gap of both, across batches.
@Suite struct SQLSessionWindowTests {
    typealias Fixture = SQLCommandTests.Fixture

    static func produce(_ fx: Fixture, _ events: [(user: String, page: String, time: Int64)]) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for event in events {
            try producer.produce(topic: "clicks", partition: 0, key: Array(event.user.utf8),
                                 value: Array(#"{"page": "\#(event.page)"}"#.utf8), timestamp: event.time)
        }
        try producer.flush(timeoutMilliseconds: 10_000)
    }

    /// Aggregates kept as value lists merge with sessions too: the n
    /// latest and earliest by offset interleave by arrival, sets and
    /// top values combine.
    @Test func listAggregatesMergeWithSessions() throws {
        let fx = try Fixture("sql-session-lists")
        try fx.cluster.createTopic("clicks", partitions: 1)
        try Self.produce(fx, [("a", "p1", 1_000), ("a", "p2", 50_000)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (usr STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE TABLE lists AS SELECT usr, LATEST_BY_OFFSET(page, 2) AS l2, EARLIEST_BY_OFFSET(page, 2) AS e2,
              COUNT_DISTINCT(page) AS cd, TOPK(page, 2) AS tk, COUNT(*) AS n FROM clicks WINDOW SESSION (30 SECONDS) GROUP BY usr;
            """)
        let query = "SELECT windowstart::text, l2::text, e2::text, cd::text, tk::text, n::text FROM lists ORDER BY 1"
        #expect(try fx.rows(query) == [["1000", "{p1}", "{p1}", "1", "{p1}", "1"], ["50000", "{p2}", "{p2}", "1", "{p2}", "1"]])
        // 25000 joins both sessions; by offset the values are p1, p2, p3, p2.
        try Self.produce(fx, [("a", "p3", 25_000), ("a", "p2", 26_000)])
        try fx.catchUp()
        #expect(try fx.rows(query) == [["1000", "{p3,p2}", "{p1,p2}", "3", "{p3,p2}", "4"]])
    }

    @Test func sessionsMergeWithinTheGapAcrossBatches() throws {
        let fx = try Fixture("sql-session")
        try fx.cluster.createTopic("clicks", partitions: 1)
        try Self.produce(fx, [("a", "p1", 1_000), ("a", "p2", 11_000), ("b", "p1", 10_000), ("b", "p2", 50_000)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (usr STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE TABLE visits AS SELECT usr, COUNT(*) AS n, LATEST_BY_OFFSET(page) AS last_page, MIN(ROWTIME) AS first
              FROM clicks WINDOW SESSION (30 SECONDS) GROUP BY usr;
            CREATE TABLE paths AS SELECT usr, COLLECT_LIST(page) AS pages FROM clicks WINDOW SESSION (30 SECONDS) GROUP BY usr;
            """)
        let query = "SELECT usr, windowstart::text, windowend::text, n::text, last_page, first::text FROM visits ORDER BY 1, 2"
        #expect(try fx.rows(query) == [["a", "1000", "11000", "2", "p2", "1000"],
                                       ["b", "10000", "10000", "1", "p1", "10000"], ["b", "50000", "50000", "1", "p2", "50000"]])
        // 30000 reaches both of b's sessions (each within 30 s): one session of three.
        // 100000 starts a new session for a; 41000 extends a's first one (exactly the gap).
        try Self.produce(fx, [("b", "p3", 30_000), ("a", "p4", 100_000), ("a", "p3", 41_000)])
        try fx.catchUp()
        #expect(try fx.rows(query) == [["a", "1000", "41000", "3", "p3", "1000"], ["a", "100000", "100000", "1", "p4", "100000"],
                                       ["b", "10000", "50000", "3", "p3", "10000"]])
        // Lists merge in time order, as ksqlDB documents: b's sessions
        // [10000] and [50000], then 30000 between them.
        #expect(try fx.rows("SELECT pages::text FROM paths WHERE usr = 'b'") == [["{p1,p3,p2}"]])

        // The changelog's last word per key (group, end, start) matches the
        // table: merged-away sessions end as tombstones.
        var latest: [[UInt8]: [UInt8]?] = [:]
        for message in try fx.topic("VISITS") { latest[message.key ?? []] = .some(message.value) }
        func key(_ user: String, _ start: Int64, _ end: Int64) -> [UInt8] {
            Array(user.utf8) + withUnsafeBytes(of: end.bigEndian, Array.init) + withUnsafeBytes(of: start.bigEndian, Array.init)
        }
        let live = latest.filter { $0.value != nil }.keys
        #expect(Set(live) == [key("a", 1_000, 41_000), key("a", 100_000, 100_000), key("b", 10_000, 50_000)])
        for gone in [key("a", 1_000, 11_000), key("b", 10_000, 10_000), key("b", 50_000, 50_000)] {
            #expect(latest[gone] == .some(nil), "no tombstone for \(gone)")
        }
        let value = try #require(latest[key("b", 10_000, 50_000)] ?? nil)
        #expect(String(decoding: value, as: UTF8.self) == #"{"N":3,"LAST_PAGE":"p3","FIRST":10000}"#)
    }

    @Test func aSessionPastTheGracePeriodTakesNoMoreRecords() throws {
        let fx = try Fixture("sql-session-grace")
        try fx.cluster.createTopic("clicks", partitions: 1)
        try Self.produce(fx, [("a", "p1", 1_000), ("a", "p2", 100_000), ("a", "late", 2_000)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (usr STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE TABLE visits AS SELECT usr, COUNT(*) AS n FROM clicks WINDOW SESSION (10 SECONDS, GRACE PERIOD 5 SECONDS) GROUP BY usr;
            """)
        #expect(try fx.rows("SELECT windowstart::text, n::text FROM visits ORDER BY 1") == [["1000", "1"], ["100000", "1"]])
    }

    /// A session expires once stream time passes its end plus the gap and
    /// the grace period: a later record within the gap starts a new one.
    @Test func anExpiredSessionIsNotMergedInto() throws {
        let fx = try Fixture("sql-session-expiry")
        try fx.cluster.createTopic("clicks", partitions: 1)
        try Self.produce(fx, [("a", "p1", 1), ("a", "p2", 100_010), ("a", "late", 10_009), ("a", "p3", 10_010)])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (usr STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE TABLE visits AS SELECT usr, COUNT(*) AS n FROM clicks WINDOW SESSION (30 SECONDS, GRACE PERIOD 1 MINUTE) GROUP BY usr;
            """)
        let sessions = try fx.rows("SELECT windowstart::text, windowend::text, n::text FROM visits ORDER BY visits.windowstart")
        #expect(sessions == [["1", "1", "1"], ["10010", "10010", "1"], ["100010", "100010", "1"]], "\(sessions)")
    }
}
