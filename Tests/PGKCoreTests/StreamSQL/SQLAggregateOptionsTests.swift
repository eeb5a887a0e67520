import Foundation
import Testing
@testable import PGKCore

/// `LATEST_BY_OFFSET(x, n, ignoreNulls)`, `EARLIEST_BY_OFFSET`, `TOPK` and
/// `TOPKDISTINCT`, merged across batches.
@Suite struct SQLAggregateOptionsTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func latestEarliestAndTopValuesMergeAcrossBatches() throws {
        let fx = try Fixture("sql-aggregate-options")
        try fx.cluster.createTopic("values", partitions: 1)
        try fx.produce("values", [#"{"F0": 12, "F1": [1, 2]}"#, #"{"F0": null}"#, #"{"F0": 12}"#], keys: ["a", "a", "a"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM vals (id STRING KEY, f0 INT, f1 ARRAY<INT>) WITH (KAFKA_TOPIC='values', VALUE_FORMAT='JSON');
            CREATE TABLE opts AS SELECT id, LATEST_BY_OFFSET(f0, true) AS l1, LATEST_BY_OFFSET(f0, false) AS l2,
              LATEST_BY_OFFSET(f0, 2) AS l3, LATEST_BY_OFFSET(f0, 2, false) AS l4, EARLIEST_BY_OFFSET(f0, 2) AS e1,
              EARLIEST_BY_OFFSET(f0, 2, false) AS e2, TOPK(f0, 2) AS t1, TOPKDISTINCT(f0, 2) AS t2,
              SUM_LIST(f1) AS s FROM vals GROUP BY id;
            """)
        try fx.produce("values", [#"{"F0": 13, "F1": [3]}"#, #"{"F0": null}"#], keys: ["a", "a"])
        try fx.catchUp()
        #expect(try fx.rows("SELECT l1::text, l2::text, l3::text, l4::text, e1::text, e2::text, t1::text, t2::text, s::text FROM opts")
                == [["13", nil, "{12,13}", "{13,NULL}", "{12,12}", "{12,NULL}", "{13,12}", "{13,12}", "6"]])
        let bad = try fx.sql(["-e", "CREATE TABLE bad AS SELECT id, TOPK(f0) AS t FROM vals GROUP BY id;"])
        #expect(bad.status != 0 && bad.stderr.contains("how many values to keep"), "\(bad.stderr)")
    }
}

extension SQLAggregateOptionsTests {
    /// The latest array, not a nested one (array_agg of arrays would nest).
    @Test func latestByOffsetKeepsArraysWhole() throws {
        let fx = try Fixture("sql-latest-array")
        try fx.cluster.createTopic("lists", partitions: 1)
        try fx.produce("lists", [#"{"XS": [1, 2]}"#, #"{"XS": [3]}"#], keys: ["a", "a"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM lists (id STRING KEY, xs ARRAY<INT>) WITH (KAFKA_TOPIC='lists', VALUE_FORMAT='JSON');
            CREATE TABLE last AS SELECT id, LATEST_BY_OFFSET(xs) AS l, EARLIEST_BY_OFFSET(xs) AS e FROM lists GROUP BY id;
            """)
        #expect(try fx.rows("SELECT l::text, e::text FROM last") == [["{3}", "{1,2}"]])
    }

    /// `ksql.functions.collect_list.limit` and `…collect_set.limit`, set
    /// before a query is created, stay with it (in the catalog) for a
    /// stream's merged accumulators and a table's recomputed groups.
    @Test func collectLimitsAreTheQuerysOwn() throws {
        let fx = try Fixture("sql-collect-limits")
        try fx.cluster.createTopic("picks", partitions: 1)
        try fx.produce("picks", [#"{"V": 1}"#, #"{"V": 1}"#, #"{"V": 2}"#], keys: ["a", "a", "a"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            SET 'ksql.functions.collect_list.limit'='2';
            SET 'ksql.functions.collect_set.limit'='3';
            CREATE STREAM picks (id STRING KEY, v INT) WITH (KAFKA_TOPIC='picks', VALUE_FORMAT='JSON');
            CREATE TABLE picked AS SELECT id, COLLECT_LIST(v) AS list, COLLECT_SET(v) AS vset FROM picks GROUP BY id;
            CREATE TABLE latest AS SELECT id, LATEST_BY_OFFSET(v) AS v FROM picks GROUP BY id;
            CREATE TABLE regrouped AS SELECT v, COLLECT_LIST(id) AS ids FROM latest GROUP BY v;
            UNSET 'ksql.functions.collect_list.limit';
            CREATE TABLE unlimited AS SELECT id, COLLECT_LIST(v) AS list FROM picks GROUP BY id;
            """)
        // Later batches, run by `pgk sql run` from the catalog, keep the limits.
        try fx.produce("picks", [#"{"V": 3}"#, #"{"V": 4}"#, #"{"V": 5}"#, #"{"V": 2}"#], keys: ["a", "a", "b", "c"])
        try fx.catchUp()
        #expect(try fx.rows("SELECT list::text, vset::text FROM picked WHERE id = 'a'") == [["{1,1}", "{1,2,3}"]])
        #expect(try fx.rows("SELECT list::text FROM unlimited WHERE id = 'a'") == [["{1,1,2,3,4}"]])
        #expect(try fx.rows("SELECT cardinality(ids)::text FROM regrouped WHERE v = 2") == [["1"]], "a table's groups are cut too")
        let bad = try fx.sql(["-e", "SET 'ksql.functions.collect_list.limit'='none'; CREATE TABLE bad AS SELECT id, COLLECT_LIST(v) AS l FROM picks GROUP BY id;"])
        #expect(bad.status != 0 && bad.stderr.contains("takes a positive whole number"), "\(bad.stderr)")
        // Other ksql.functions settings change nothing, but SUBSTRING's old arguments are refused.
        let ignored = try fx.sql(["-e", "SET 'ksql.functions.substring.legacy.args'='false'; CREATE TABLE ok AS SELECT id, COUNT(*) AS n FROM picks GROUP BY id;"])
        #expect(ignored.status == 0, "\(ignored.stderr)")
        let legacy = try fx.sql(["-e", "SET 'ksql.functions.substring.legacy.args'='true'; CREATE TABLE old AS SELECT id, COUNT(*) AS n FROM picks GROUP BY id;"])
        #expect(legacy.status != 0 && legacy.stderr.contains("not supported"), "\(legacy.stderr)")
    }

    /// STDDEV_SAMPLE, and STDDEV_SAMP (ksqlDB's gives the variance), merged
    /// across batches; 0.0 below two values; NULLs are skipped.
    @Test func standardDeviationsMergeAcrossBatches() throws {
        let fx = try Fixture("sql-stddev")
        try fx.cluster.createTopic("vals", partitions: 1)
        func json(_ value: Int?) -> String { #"{"V": \#(value.map(String.init) ?? "null")}"# }
        try fx.produce("vals", [0, 10, 50, 10].map(json), keys: ["a", "a", "b", "b"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM vals (id STRING KEY, v INT) WITH (KAFKA_TOPIC='vals', VALUE_FORMAT='JSON');
            CREATE TABLE spread AS SELECT id, STDDEV_SAMPLE(v) AS sd, STDDEV_SAMP(v) AS var FROM vals GROUP BY id;
            """)
        try fx.produce("vals", [7, 3, nil, 6, 5].map(json), keys: ["a", "b", "b", "a", "c"])
        try fx.catchUp()
        let rows = try fx.rows("SELECT id, sd::text, var::text FROM spread ORDER BY id")
        #expect(rows.map { $0[0] } == ["a", "b", "c"])
        let expected: [String: (Double, Double)] = ["a": (4.193248541803041, 17.583333333333332), "b": (25.357444666211933, 643.0), "c": (0, 0)]
        for row in rows {
            let (sd, variance) = expected[row[0]!]!
            #expect(abs(Double(row[1]!)! - sd) < 1e-9 && abs(Double(row[2]!)! - variance) < 1e-9, "\(row)")
        }
        let bad = try fx.sql(["-e", """
            CREATE STREAM dl (id STRING KEY, v INT) WITH (KAFKA_TOPIC='vals', VALUE_FORMAT='DELIMITED');
            CREATE TABLE t AS SELECT id, STDDEV_SAMP(v) AS s FROM dl GROUP BY id;
            """])
        #expect(bad.status != 0 && bad.stderr.contains("intermediate type that the value format can not handle"), "\(bad.stderr)")
        // AVG keeps a sum and a count the same way.
        let average = try fx.sql(["-e", "CREATE TABLE a AS SELECT id, AVG(v) AS m FROM dl GROUP BY id;"])
        #expect(average.status != 0 && average.stderr.contains("intermediate type that the value format can not handle"), "\(average.stderr)")
    }

    /// HISTOGRAM: how often each string came, merged across batches, over
    /// a stream and (undoing a row's old value) over a table.
    @Test func histogramsCountStrings() throws {
        let fx = try Fixture("sql-histogram")
        try fx.cluster.createTopic("picks", partitions: 1)
        try fx.cluster.createTopic("owners", partitions: 1)
        try fx.produce("picks", [#"{"C": "red"}"#, #"{"C": "blue"}"#, #"{"C": "red"}"#], keys: ["a", "a", "b"])
        try fx.produce("owners", [#"{"C": "red"}"#, #"{"C": "blue"}"#], keys: ["o1", "o2"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM picks (id STRING KEY, c STRING) WITH (KAFKA_TOPIC='picks', VALUE_FORMAT='JSON');
            CREATE TABLE counted AS SELECT id, HISTOGRAM(c) AS h FROM picks GROUP BY id;
            CREATE TABLE owners (id STRING PRIMARY KEY, c STRING) WITH (KAFKA_TOPIC='owners', VALUE_FORMAT='JSON');
            CREATE TABLE colours AS SELECT 'all' AS k, HISTOGRAM(c) AS h FROM owners GROUP BY 'all';
            """)
        try fx.produce("picks", [#"{"C": "red"}"#, #"{"C": null}"#], keys: ["a", "a"])
        try fx.produce("owners", [#"{"C": "red"}"#], keys: ["o2"])
        try fx.catchUp()
        #expect(try fx.rows("SELECT id, h::text FROM counted ORDER BY id") == [["a", #"{"red": 2, "blue": 1}"#], ["b", #"{"red": 1}"#]])
        #expect(try fx.rows("SELECT h::text FROM colours") == [[#"{"red": 2}"#]])
        let bad = try fx.sql(["-e", "CREATE TABLE bad AS SELECT id, HISTOGRAM(LEN(c)) AS h FROM picks GROUP BY id;"])
        #expect(bad.status != 0 && bad.stderr.contains("HISTOGRAM counts STRING values, not INTEGER"), "\(bad.stderr)")
    }
}

extension SQLAggregateOptionsTests {
    /// CORRELATION over the rows where both columns are set: merged across
    /// batches over a stream, recomputed (rows undone) over a table.
    @Test func correlationMatchesKsqlDBOverStreamsAndTables() throws {
        let fx = try Fixture("sql-correlation")
        try fx.cluster.createTopic("points", partitions: 1)
        try fx.cluster.createTopic("latest", partitions: 1)
        try fx.produce("points", [#"{"X": 1.5, "Y": 8.0}"#, #"{"X": -3.5, "Y": -2.0}"#, #"{"X": -1.0, "Y": -2.0}"#],
                       keys: ["alice", "bob", "alice"])
        try fx.produce("latest", [#"{"K": "a", "X": 1.5, "Y": 8.0}"#, #"{"K": "a", "X": -3.5, "Y": -2.0}"#], keys: ["alice", "bob"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM points (id STRING KEY, x DOUBLE, y DOUBLE) WITH (KAFKA_TOPIC='points', VALUE_FORMAT='JSON');
            CREATE TABLE corr AS SELECT id, CORRELATION(x, y) AS c FROM points GROUP BY id;
            CREATE TABLE latest (id STRING PRIMARY KEY, k STRING, x DOUBLE, y DOUBLE) WITH (KAFKA_TOPIC='latest', VALUE_FORMAT='JSON');
            CREATE TABLE by_k AS SELECT k, CORRELATION(x, y) AS c FROM latest GROUP BY k;
            """)
        // A second batch: alice's third point, bob's with a NULL (ignored) and then a real one.
        try fx.produce("points", [#"{"X": -4.5, "Y": -1.0}"#, #"{"X": 13.1, "Y": null}"#, #"{"X": 3.0, "Y": 11.0}"#, #"{"X": null, "Y": -6.0}"#],
                       keys: ["alice", "bob", "bob", "alice"])
        try fx.produce("latest", [#"{"K": "a", "X": -1.0, "Y": -2.0}"#, #"{"K": "a", "X": -4.5, "Y": -1.0}"#], keys: ["alice", "charlie"])
        try fx.catchUp()
        let stream = try fx.rows("SELECT id, c FROM corr ORDER BY id").map { [$0[0], $0[1].flatMap(Double.init).map { String(format: "%.12f", $0) }] }
        #expect(stream == [["alice", "0.758076452113"], ["bob", "1.000000000000"]])
        let table = try fx.rows("SELECT c FROM by_k").compactMap { $0[0].flatMap(Double.init) }
        #expect(table.count == 1 && abs(table[0] - -0.7205766921228921) < 1e-12, "\(table)")
        // One point alone has no correlation: NaN, as in ksqlDB.
        try fx.produce("points", [#"{"X": 1, "Y": 2}"#], keys: ["carol"])
        try fx.catchUp()
        #expect(try fx.rows("SELECT c::text FROM corr WHERE id = 'carol'") == [["NaN"]])
        let delimited = try fx.sql(["-e", """
            CREATE STREAM d (id STRING KEY, x DOUBLE, y DOUBLE) WITH (KAFKA_TOPIC='d', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
            CREATE TABLE dc AS SELECT id, CORRELATION(x, y) AS c FROM d GROUP BY id;
            """])
        #expect(delimited.status != 0 && delimited.stderr.contains("intermediate type"), "\(delimited.stderr)")
    }

    /// COLLECT_LIST and COLLECT_SET of ARRAYs, MAPs, STRUCTs and DECIMALs
    /// get Avro schemas of those (not of strings), and their records encode.
    @Test func collectionsOfNestedValuesInAvro() throws {
        var fx = try Fixture("sql-collect-avro")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        fx.extraEnvironment["PGK_REGISTRY"] = registry.url
        try fx.cluster.createTopic("nested", partitions: 1)
        try fx.produce("nested", [#"{"A": [1, 2], "M": {"a": 1}, "S": {"F": 1}, "D": 1.5, "B": {"x": "YQ=="}}"#,
                                  #"{"A": [3], "M": {"b": 2}, "S": {"F": 2}, "D": 2.25, "B": {"x": "Yg=="}}"#], keys: ["k", "k"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM nested (id STRING KEY, a ARRAY<INT>, m MAP<STRING, INT>, s STRUCT<f INT>, d DECIMAL(4, 2), b MAP<STRING, BYTES>)
              WITH (KAFKA_TOPIC='nested', VALUE_FORMAT='JSON');
            CREATE TABLE bytes_collected AS SELECT id, COLLECT_LIST(b['x']) AS lb FROM nested GROUP BY id;
            CREATE TABLE collected WITH (VALUE_FORMAT='AVRO') AS
              SELECT id, COLLECT_LIST(a) AS la, COLLECT_LIST(m) AS lm, COLLECT_SET(s) AS ls, COLLECT_LIST(d) AS ld FROM nested GROUP BY id;
            """)
        let schema = try AvroSchema(json: try registry.latestSchemaText("COLLECTED-value"))
        let last = try #require(try fx.topic("COLLECTED").last?.value)
        let decoded = try schema.decode(Array(last.dropFirst(5)))
        #expect(JSON.encode(decoded) == #"{"LA":[[1,2],[3]],"LM":[{"a":1},{"b":2}],"LS":[{"F":1},{"F":2}],"LD":[1.50,2.25]}"#, "\(decoded)")
        // BYTES from a MAP's values are written once in base64, as they came.
        let bytes = try #require(try fx.topic("BYTES_COLLECTED").last?.value)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"LB":["YQ==","Yg=="]}"#)
    }

    /// A SUM of DECIMAL(4,1) is a DECIMAL(4,1), as in ksqlDB: the record
    /// that takes it past 999.9 is a dead letter (ksqlDB stops the query
    /// there), and the AVRO result goes on with the sum before it.
    @Test func aDecimalSumPastItsPrecisionIsADeadLetter() throws {
        var fx = try Fixture("sql-decimal-overflow")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        fx.extraEnvironment["PGK_REGISTRY"] = registry.url
        try fx.cluster.createTopic("amounts", partitions: 1)
        try fx.produce("amounts", [#"{"V": 5.4}"#, #"{"V": 100.1}"#, #"{"V": 500.9}"#, #"{"V": 300.8}"#, #"{"V": 400.8}"#],
                       keys: ["0", "0", "100", "100", "100"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM amounts (id STRING KEY, v DECIMAL(4, 1)) WITH (KAFKA_TOPIC='amounts', VALUE_FORMAT='JSON');
            CREATE TABLE sums WITH (VALUE_FORMAT='AVRO') AS SELECT id, SUM(v) AS total FROM amounts GROUP BY id;
            """)
        #expect(try fx.rows("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'sums'::regclass AND attname = 'total'")
                == [["numeric(4,1)"]])
        #expect(try fx.rows("SELECT id, total::text FROM sums ORDER BY id") == [["0", "105.5"], ["100", "801.7"]])
        let dead = try fx.rows("SELECT kafka_offset::text, reason LIKE '%numeric field overflow%' FROM pgk_sql.dead_letters")
        #expect(dead == [["4", "t"]], "\(dead)")
        let schema = try AvroSchema(json: try registry.latestSchemaText("SUMS-value"))
        let last = try #require(try fx.topic("SUMS").last { $0.key == Array("100".utf8) }?.value)
        #expect(JSON.encode(try schema.decode(Array(last.dropFirst(5)))) == #"{"TOTAL":801.7}"#)
    }
}
