import Foundation
import Testing
@testable import PGKCore

/// Push queries over aggregations print the groups as they change; pull
/// queries over streams read the topic once and end.
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

    /// A push query prints arrays, maps and structs, and table functions'
    /// rows: its rows are never written in a sink's formats.
    @Test func aPushQueryPrintsCollectionsAndExplodedRows() throws {
        let fx = try Fixture("sql-push-collections")
        try fx.cluster.createTopic("baskets", partitions: 1)
        try fx.produce("baskets", [#"{"ITEMS": [1, 2], "TAGS": {"a": 1}}"#, #"{"ITEMS": [3], "TAGS": {}}"#], keys: ["k1", "k2"])
        let created = try fx.sql(["-e", "CREATE STREAM baskets (id STRING KEY, items ARRAY<INT>, tags MAP<STRING, INT>) "
            + "WITH (KAFKA_TOPIC='baskets', VALUE_FORMAT='JSON');"])
        #expect(created.status == 0, "\(created.stderr)")
        let push = try fx.sql(["-o", "json", "-e", """
            SET 'auto.offset.reset'='earliest';
            SELECT id, items, tags, EXPLODE(items) AS item FROM baskets EMIT CHANGES LIMIT 3;
            """])
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.split(separator: "\n").map(String.init) == [
            #"{"ID":"k1","ITEMS":[1,2],"TAGS":{"a":1},"ITEM":1}"#, #"{"ID":"k1","ITEMS":[1,2],"TAGS":{"a":1},"ITEM":2}"#,
            #"{"ID":"k2","ITEMS":[3],"TAGS":{},"ITEM":3}"#,
        ], "\(push.stdout)")
    }

    /// A stream's pull query reads from the earliest offset to the current
    /// end, whatever `auto.offset.reset` says, and leaves nothing behind; a
    /// windowed table's pull query orders its columns as ksqlDB does.
    @Test func aStreamsPullQueryScansItsTopicOnceAndEnds() throws {
        let fx = try Fixture("sql-pull-stream")
        try fx.cluster.createTopic("clicks", partitions: 2)
        try fx.produce("clicks", [#"{"N": 1}"#, #"{"N": 7}"#, #"{"N": 3}"#], keys: ["a", "b", "a"])
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM clicks (usr STRING KEY, n INT) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');
            CREATE TABLE per_hour AS SELECT usr, COUNT(*) AS c FROM clicks WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY usr;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        try fx.catchUp()
        let scan = try fx.sql(["-o", "json", "-e", "SELECT usr, n * 10 AS tens FROM clicks WHERE n > 1;"])
        #expect(scan.status == 0, "\(scan.stderr)")
        #expect(Set(scan.stdout.split(separator: "\n").map(String.init)) == [#"{"USR":"b","TENS":70}"#, #"{"USR":"a","TENS":30}"#],
                "\(scan.stdout)")
        let limited = try fx.sql(["-e", "SELECT * FROM clicks LIMIT 1;"])
        #expect(limited.status == 0 && limited.stdout.split(separator: "\n").count == 2, "\(limited.stdout)\(limited.stderr)")
        let windowed = try fx.sql(["-e", "SELECT * FROM per_hour WHERE usr = 'a' AND WINDOWSTART >= 0;"])
        #expect(windowed.stdout.split(separator: "\n").first.map { $0.split(separator: " ").map(String.init) }
                == ["USR", "WINDOWSTART", "WINDOWEND", "C"], "\(windowed.stdout)\(windowed.stderr)")
        #expect(windowed.stdout.split(separator: "\n").count == 2 && windowed.stdout.hasSuffix("  2\n"), "\(windowed.stdout)")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.queries") == [["1"]])
    }
}
