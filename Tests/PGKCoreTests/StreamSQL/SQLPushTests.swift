import Foundation
import Testing
@testable import PGKCore

/// Push queries over aggregations print the groups as they change.
@Suite struct SQLPushTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func anAggregatingPushQueryPrintsItsGroupsAndLeavesNothingBehind() throws {
        let fx = try Fixture("sql-push-aggregate")
        try fx.cluster.createTopic("taps", partitions: 1)
        try fx.produce("taps", [#"{"usr": "a", "n": 1}"#, #"{"usr": "b", "n": 5}"#, #"{"usr": "a", "n": 2}"#])
        let created = try fx.sql(["-e", "CREATE STREAM taps (usr STRING, n INT) WITH (KAFKA_TOPIC='taps', VALUE_FORMAT='JSON');"])
        #expect(created.status == 0, "\(created.stderr)")
        let push = try fx.sql(["-o", "json", "-e", """
            SET 'auto.offset.reset'='earliest';
            SELECT usr, COUNT(*) AS c, SUM(n) AS total FROM taps GROUP BY usr EMIT CHANGES LIMIT 2;
            """])
        #expect(push.status == 0, "\(push.stderr)")
        let lines = Set(push.stdout.split(separator: "\n").map(String.init))
        #expect(lines == [#"{"USR":"a","C":2,"TOTAL":3}"#, #"{"USR":"b","C":1,"TOTAL":5}"#], "\(push.stdout)")
        let left = try fx.rows("""
            SELECT count(*)::text FROM pg_tables WHERE tablename LIKE 'transient%'
            UNION ALL SELECT count(*)::text FROM pgk_sql.changelog
            UNION ALL SELECT count(*)::text FROM pgk_sql.queries
            """)
        #expect(left == [["0"], ["0"], ["0"]])
    }
}
