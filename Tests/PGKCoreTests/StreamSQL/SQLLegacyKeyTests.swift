import Foundation
import Testing
@testable import PGKCore

/// Old KSQL's `KEY='col'` layout (before ksqlDB 0.10): the key column is a
/// value column too, and results over such a source keep their key columns
/// in the value as well as in the key.
@Suite struct SQLLegacyKeyTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func resultsOverAKeyPropertySourceKeepTheKeyInTheValue() throws {
        let fx = try Fixture("sql-legacy-key")
        try fx.cluster.createTopic("legacy_in", partitions: 1)
        // Keyless records: the legacy key column is read from the value.
        try fx.produce("legacy_in", ["0,zero,50", "0,zero,10", "1,one,100"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM legacy_in (id BIGINT, name STRING, amount BIGINT)
              WITH (KAFKA_TOPIC='legacy_in', VALUE_FORMAT='DELIMITED', KEY='id');
            CREATE STREAM modern_in (k STRING KEY, id BIGINT, name STRING, amount BIGINT)
              WITH (KAFKA_TOPIC='legacy_in', VALUE_FORMAT='DELIMITED');
            CREATE TABLE legacy_totals AS SELECT id, SUM(amount) AS total FROM legacy_in GROUP BY id;
            CREATE TABLE modern_totals AS SELECT name, SUM(amount) AS total FROM modern_in GROUP BY name;
            CREATE TABLE legacy_windows AS SELECT id, WINDOWSTART AS ws, COUNT(*) AS n
              FROM legacy_in WINDOW TUMBLING (SIZE 30 SECONDS) GROUP BY id;
            CREATE TABLE downstream AS SELECT id, total * 2 AS doubled FROM legacy_totals;
            """)
        try fx.catchUp()
        func latest(_ topic: String) throws -> [String] {
            var last: [String: String] = [:]
            for message in try fx.topic(topic) {
                let key = (message.key ?? []).map { String($0) }.joined(separator: ".")
                last[key] = message.value.map { String(decoding: $0, as: UTF8.self) } ?? "null"
            }
            return last.values.sorted()
        }
        // The key (ID) leads the value, as old KSQL wrote it.
        #expect(try latest("LEGACY_TOTALS") == ["0,60", "1,100"])
        // A source with a KEY column keeps today's layout: the key only in the key.
        #expect(try latest("MODERN_TOTALS") == ["100", "60"])
        // Windowed: the key column joins the value; the window bounds stay in the key.
        #expect(try latest("LEGACY_WINDOWS").map { $0.split(separator: ",").count } == [3, 3])
        #expect(try latest("LEGACY_WINDOWS").allSatisfy { $0.hasSuffix(",2") || $0.hasSuffix(",1") })
        // The result is itself a KEY='col' source for the next query, and the
        // PostgreSQL tables hold each column once.
        #expect(try latest("DOWNSTREAM") == ["0,120", "1,200"])
        #expect(try fx.rows("SELECT id::text, total::text FROM legacy_totals ORDER BY id") == [["0", "60"], ["1", "100"]])
        #expect(try fx.rows("SELECT id::text, doubled::text FROM downstream ORDER BY id") == [["0", "120"], ["1", "200"]])
    }
}
