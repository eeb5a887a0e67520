import Foundation
import Testing
@testable import PGKCore

/// A plain stream aggregation is pre-aggregated per batch by pgk
/// (BatchCombiner); the same query folded by SQL alone (a WHERE that
/// passes everything takes it off that path) must leave the same rows,
/// changelog and dead letters.
@Suite struct SQLCombinedAggregationTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func preAggregatedBatchesMatchTheSQLFold() throws {
        let fx = try Fixture("sql-combined")
        try fx.cluster.createTopic("nums", partitions: 1)
        try fx.produce("nums", [
            #"{"g": 1, "s": "a", "v": 5}"#, #"{"g": 2, "s": "b", "v": 7}"#, #"{"g": 1, "s": "a", "v": null}"#,
            #"{"g": null, "s": "x", "v": 3}"#, nil, #"{"g": 1, "s": "a", "v": -3}"#, "not json",
            #"{"g": 1, "s": "c"}"#, #"{"g": 1, "s": "x\ty", "v": 2}"#,
        ])
        let columns = "g, s, COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS total, AVG(v) AS mean, MIN(v) AS lo, MAX(v) AS hi"
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM nums (g INT, s STRING, v BIGINT) WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON');
            CREATE TABLE fast WITH (KEY_FORMAT='JSON') AS SELECT \(columns) FROM nums GROUP BY g, s;
            CREATE TABLE slow WITH (KEY_FORMAT='JSON') AS SELECT \(columns) FROM nums WHERE 1 = 1 GROUP BY g, s;
            CREATE TABLE fast_busy AS SELECT g, COUNT(*) AS n FROM nums GROUP BY g HAVING COUNT(*) > 3;
            CREATE TABLE slow_busy AS SELECT g, COUNT(*) AS n FROM nums WHERE 1 = 1 GROUP BY g HAVING COUNT(*) > 3;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        func run() throws -> [Substring] {
            let ran = try fx.sql(["run", "--until-end", "-v"])
            #expect(ran.status == 0, "\(ran.stderr)")
            return ran.stderr.split(separator: "\n")
        }
        func preAggregated(_ log: [Substring], _ query: String) -> Bool {
            log.contains { $0.range(of: "CTAS_\(query)_[0-9]+: .*pre-aggregated into", options: .regularExpression) != nil }
        }
        let first = try run()
        // The fast queries took the in-memory path, the others did not.
        #expect(preAggregated(first, "FAST") && preAggregated(first, "FAST_BUSY"), "\(first)")
        #expect(!preAggregated(first, "SLOW") && !preAggregated(first, "SLOW_BUSY"), "\(first)")
        // A sum past BIGINT's range: PostgreSQL's error isolates the record, on either path.
        try fx.produce("nums", [#"{"g": 2, "s": "b", "v": 9223372036854775807}"#, #"{"g": 2, "s": "b", "v": 1}"#])
        _ = try run()
        // A batch with a group seen before and a new one: one is updated, the other inserted.
        try fx.produce("nums", [#"{"g": 1, "s": "a", "v": 10}"#, #"{"g": 3, "s": "d", "v": 4}"#])
        let third = try run()
        #expect(preAggregated(third, "FAST"), "\(third)")
        // Flat JSON records only: reduced as they were read, with no staged rows.
        #expect(third.contains { $0.range(of: "CTAS_FAST_[0-9]+: .*group\\(s\\) while read", options: .regularExpression) != nil }, "\(third)")
        #expect(!first.contains { $0.contains(" while read") }, "\(first)")
        // Reduced while read, then rejected by PostgreSQL (the group's sum
        // passes BIGINT): the batch is staged, and the record isolated.
        try fx.produce("nums", [#"{"g": 2, "s": "b", "v": 9223372036854775800}"#])
        let fourth = try run()
        #expect(fourth.contains { $0.contains("offset 13 → dead letters") }, "\(fourth)")

        // The overflowing record and the bad JSON are dead letters of each query; NULL groups and null records drop out.
        #expect(try fx.rows("SELECT g::text, s, n::text, nv::text, total::text, mean::text, lo::text, hi::text FROM fast ORDER BY g, s") == [
            ["1", "a", "4", "3", "12", "4", "-3", "10"],
            ["1", "c", "1", "0", "0", "0", nil, nil],  // ksqlDB's SUM and AVG of no values: 0; MIN and MAX: NULL
            ["1", "x\ty", "1", "1", "2", "2", "2", "2"],
            ["2", "b", "2", "2", "8", "4", "1", "7"],
            ["3", "d", "1", "1", "4", "4", "4", "4"],
        ])
        for (fast, slow) in [("fast", "slow"), ("fast_busy", "slow_busy")] {
            #expect(try fx.rows("SELECT count(*)::text FROM (SELECT * FROM \(fast) EXCEPT SELECT * FROM \(slow)) AS d") == [["0"]])
            #expect(try fx.rows("SELECT count(*)::text FROM (SELECT * FROM \(slow) EXCEPT SELECT * FROM \(fast)) AS d") == [["0"]])
        }
        // Counted, the fourth run's record is no error: group 2 reaches 4.
        #expect(try fx.rows("SELECT g::text, n::text FROM fast_busy ORDER BY g") == [["1", "6"], ["2", "4"]])
        let dead = try fx.rows("""
            SELECT query_id ~ '^CTAS_FAST' AS fast, string_agg(kafka_offset::text, ',' ORDER BY kafka_offset)
            FROM pgk_sql.dead_letters GROUP BY 1 ORDER BY 1
            """)
        #expect(dead == [["f", "6,6,9,13"], ["t", "6,6,9,13"]], "\(dead)")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters WHERE kafka_offset IN (9, 13) AND reason LIKE '%out of range%'")
                == [["4"]])
        // The changelogs end on the same value per key.
        func latest(_ topic: String) throws -> [[UInt8]: [UInt8]] {
            try fx.topic(topic).reduce(into: [:]) { $0[$1.key ?? []] = $1.value ?? [] }
        }
        #expect(try latest("FAST") == (try latest("SLOW")))
        #expect(try latest("FAST").count == 5)
    }

    /// A stream whose group column is its KAFKA key: reduced while read
    /// too, with the same rows and dead letters as the SQL fold.
    @Test func aKeyColumnGroupsWhileRead() throws {
        let fx = try Fixture("sql-combined-key")
        try fx.cluster.createTopic("keyed", partitions: 1)
        try fx.produce("keyed", [#"{"v": 5}"#, #"{"v": 7, "ID": "ignored"}"#, #"{"v": 2}"#, #"{"v": 1}"#, #"{"v": "x"}"#, #"{"v": 3}"#, nil, #"{"v": 4}"#],
                       keys: ["a", "b", "a", nil, "b", "a\tz", "a", "caf\u{e9}"])
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM keyed (id STRING KEY, v INT) WITH (KAFKA_TOPIC='keyed', VALUE_FORMAT='JSON');
            CREATE TABLE kfast AS SELECT id, COUNT(*) AS n, SUM(v) AS total FROM keyed GROUP BY id;
            CREATE TABLE kslow AS SELECT id, COUNT(*) AS n, SUM(v) AS total FROM keyed WHERE 1 = 1 GROUP BY id;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let ran = try fx.sql(["run", "--until-end", "-v"])
        #expect(ran.status == 0, "\(ran.stderr)")
        // Its first batch is reduced while read until the non-ASCII key, then staged.
        #expect(ran.stderr.range(of: "CTAS_KFAST_[0-9]+: .*pre-aggregated into", options: .regularExpression) != nil, "\(ran.stderr)")
        try fx.produce("keyed", [#"{"v": 10}"#, #"{"v": 20}"#], keys: ["a", "b"])
        let again = try fx.sql(["run", "--until-end", "-v"])
        #expect(again.stderr.range(of: "CTAS_KFAST_[0-9]+: .*group\\(s\\) while read", options: .regularExpression) != nil, "\(again.stderr)")
        // No key: a NULL group, dropped; a bad value: a dead letter.
        #expect(try fx.rows("SELECT id, n::text, total::text FROM kfast ORDER BY id") == [
            ["a", "3", "17"], ["a\tz", "1", "3"], ["b", "2", "27"], ["caf\u{e9}", "1", "4"],
        ])
        #expect(try fx.rows("SELECT count(*)::text FROM (SELECT * FROM kfast EXCEPT SELECT * FROM kslow) AS d") == [["0"]])
        #expect(try fx.rows("SELECT count(*)::text FROM (SELECT * FROM kslow EXCEPT SELECT * FROM kfast) AS d") == [["0"]])
        #expect(try fx.rows("SELECT string_agg(kafka_offset::text, ',' ORDER BY query_id) FROM pgk_sql.dead_letters") == [["4,4"]])
    }

    /// SUM, AVG, MIN and MAX of a DOUBLE: pre-aggregated (while read) to
    /// the rows, changelog and dead letters of the SQL fold, -0 and an
    /// overflowing sum included. (Not 0 and -0 in one group: which of the
    /// two MIN keeps is the SQL fold's, and depends on how isolating the
    /// overflow splits the batch.)
    @Test func doublesMatchTheSQLFold() throws {
        let fx = try Fixture("sql-combined-double")
        try fx.cluster.createTopic("prices", partitions: 1)
        try fx.produce("prices", [
            #"{"g": 1, "d": 0.1}"#, #"{"g": 1, "d": 0.2}"#, #"{"g": 1, "d": 0.3}"#, #"{"g": 2, "d": -0.0}"#, #"{"g": 3, "d": 0}"#,
            #"{"g": 3, "d": 2.5}"#, #"{"g": 4, "d": 5}"#, #"{"g": 4, "d": null}"#, #"{"g": 4, "d": "x"}"#, #"{"g": 5, "d": 1e308}"#,
            #"{"g": 5, "d": 1e308}"#, #"{"g": 6, "d": 1.5e-7}"#,
        ])
        let columns = "g, SUM(d) AS total, AVG(d) AS mean, MIN(d) AS lo, MAX(d) AS hi, COUNT(d) AS n"
        let created = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM prices (g INT, d DOUBLE) WITH (KAFKA_TOPIC='prices', VALUE_FORMAT='JSON');
            CREATE TABLE dfast AS SELECT \(columns) FROM prices GROUP BY g;
            CREATE TABLE dslow AS SELECT \(columns) FROM prices WHERE 1 = 1 GROUP BY g;
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let ran = try fx.sql(["run", "--until-end", "-v"])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(ran.stderr.range(of: "CTAS_DFAST_[0-9]+: .*pre-aggregated into", options: .regularExpression) != nil, "\(ran.stderr)")
        try fx.produce("prices", [#"{"g": 1, "d": 0.4}"#, #"{"g": 7, "d": -2.5}"#])
        let again = try fx.sql(["run", "--until-end", "-v"])
        #expect(again.stderr.range(of: "CTAS_DFAST_[0-9]+: .*group\\(s\\) while read", options: .regularExpression) != nil, "\(again.stderr)")
        let rows = try fx.rows("SELECT g::text, total::text, mean::text, lo::text, hi::text, n::text FROM dfast ORDER BY g")
        #expect(rows == [
            ["1", "1", "0.25", "0.1", "0.4", "4"], ["2", "-0", "-0", "-0", "-0", "1"], ["3", "2.5", "1.25", "0", "2.5", "2"],
            ["4", "5", "5", "5", "5", "1"], ["5", "1e+308", "1e+308", "1e+308", "1e+308", "1"], ["6", "1.5e-07", "1.5e-07", "1.5e-07", "1.5e-07", "1"],
            ["7", "-2.5", "-2.5", "-2.5", "-2.5", "1"],
        ], "\(rows)")
        #expect(try fx.rows("SELECT count(*)::text FROM (SELECT * FROM dfast EXCEPT SELECT * FROM dslow) AS d") == [["0"]])
        #expect(try fx.rows("SELECT count(*)::text FROM (SELECT * FROM dslow EXCEPT SELECT * FROM dfast) AS d") == [["0"]])
        // The string and the overflowing sum's second record, for each query.
        #expect(try fx.rows("SELECT string_agg(kafka_offset::text, ',' ORDER BY kafka_offset) FROM pgk_sql.dead_letters") == [["8,8,10,10"]])
        func latest(_ topic: String) throws -> [[UInt8]: [UInt8]] {
            try fx.topic(topic).reduce(into: [:]) { $0[$1.key ?? []] = $1.value ?? [] }
        }
        #expect(try latest("DFAST") == (try latest("DSLOW")))
    }

    /// A WHERE of column-literal comparisons is applied as records are
    /// read: the same rows, changelog and dead letters as the SQL fold
    /// (`AND 1 = 1` takes a query off the pre-aggregated path), NULLs and
    /// absent fields included.
    @Test func aWhereFiltersAsTheSQLFoldDoes() throws {
        let fx = try Fixture("sql-combined-where")
        try fx.cluster.createTopic("events", partitions: 1)
        try fx.produce("events", [
            #"{"g": 1, "v": 5, "s": "a", "d": 1.5, "ok": true}"#, #"{"g": 1, "v": -2, "s": "x", "d": -1.5, "ok": false}"#,
            #"{"g": 2, "v": null, "s": null, "d": null, "ok": null}"#, #"{"g": 2, "v": 3, "d": -1.25}"#, #"{"g": 1, "s": "a"}"#,
            #"{"g": 3, "v": 0, "s": "b", "d": 0, "ok": true}"#, #"{"g": 3, "v": "bad"}"#, #"{"g": 2, "v": 7, "s": "x", "d": 2e0, "ok": true}"#,
        ])
        let wheres = ["v > 2", "-2 >= v OR s = 'x'", "NOT (v < 0) AND s <> 'x'", "s IS NULL OR v IS NOT NULL AND d >= -1.5", "ok", "NOT ok",
                      "d < 1.5 AND d <> -1.25", "v <= 5 AND NOT (s = 'a')", "NOT (v > 2 AND s = 'x')", "NOT (v > 2 OR s = 'a')"]
        var statements = "SET 'auto.offset.reset'='earliest';\n"
            + "CREATE STREAM events (g INT, v INT, s STRING, d DOUBLE, ok BOOLEAN) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');\n"
        for (index, condition) in wheres.enumerated() {
            let columns = "g, COUNT(*) AS n, SUM(v) AS total, MAX(d) AS hi"
            statements += "CREATE TABLE fast\(index) AS SELECT \(columns) FROM events WHERE \(condition) GROUP BY g;\n"
            statements += "CREATE TABLE slow\(index) AS SELECT \(columns) FROM events WHERE (\(condition)) AND 1 = 1 GROUP BY g;\n"
        }
        let created = try fx.sql(["-e", statements])
        #expect(created.status == 0, "\(created.stderr)")
        let ran = try fx.sql(["run", "--until-end", "-v"])
        #expect(ran.status == 0, "\(ran.stderr)")
        // The first run's batch held the bad record, so it was staged; the second run's records are filtered as they are read.
        try fx.produce("events", [#"{"g": 1, "v": 9, "s": "y", "d": 0.5, "ok": false}"#, #"{"g": 4, "v": 1, "s": "x", "d": -3, "ok": true}"#])
        let again = try fx.sql(["run", "--until-end", "-v"])
        for index in wheres.indices {
            #expect(again.stderr.range(of: "CTAS_FAST\(index)_[0-9]+: .*group\\(s\\) while read", options: .regularExpression) != nil,
                    "\(wheres[index]): \(again.stderr)")
            #expect(again.stderr.range(of: "CTAS_SLOW\(index)_[0-9]+: .*pre-aggregated", options: .regularExpression) == nil, "\(again.stderr)")
            let fast = try fx.rows("SELECT g::text, n::text, total::text, hi::text FROM fast\(index) ORDER BY g")
            let slow = try fx.rows("SELECT g::text, n::text, total::text, hi::text FROM slow\(index) ORDER BY g")
            #expect(fast == slow && !fast.isEmpty, "\(wheres[index]): \(fast) vs \(slow)")
        }
        #expect(try fx.rows("SELECT g::text, n::text, total::text FROM fast0 ORDER BY g") == [["1", "2", "14"], ["2", "2", "10"]])
        #expect(try fx.rows("SELECT count(DISTINCT query_id)::text, min(kafka_offset)::text FROM pgk_sql.dead_letters") == [["20", "6"]])
    }
}
