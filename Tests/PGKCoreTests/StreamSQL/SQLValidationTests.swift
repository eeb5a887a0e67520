import Foundation
import Testing
@testable import PGKCore

/// Statements ksqlDB rejects are rejected when created, with a message
/// that says why, and leave nothing behind in the catalog.
@Suite struct SQLValidationTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func ksqlDBRejectionsHappenAtCreation() throws {
        let fx = try Fixture("sql-validation")
        let created = try fx.sql(["-e", """
            CREATE STREAM s (id STRING KEY, a INT, b INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
            CREATE STREAM raw (id STRING KEY, v STRING) WITH (KAFKA_TOPIC='raw', VALUE_FORMAT='KAFKA', PARTITIONS=1);
            CREATE STREAM m1 (id STRING KEY, mm MAP<STRING, INT>) WITH (KAFKA_TOPIC='m1', VALUE_FORMAT='JSON', PARTITIONS=1);
            CREATE STREAM m2 (id STRING KEY, mm MAP<STRING, INT>) WITH (KAFKA_TOPIC='m2', VALUE_FORMAT='JSON', PARTITIONS=1);
            CREATE TABLE twoparts (id STRING PRIMARY KEY, x INT) WITH (KAFKA_TOPIC='twoparts', VALUE_FORMAT='JSON', PARTITIONS=2);
            CREATE STREAM wide (id STRING KEY, v BIGINT) WITH (KAFKA_TOPIC='wide', VALUE_FORMAT='JSON', PARTITIONS=1);
            """])
        #expect(created.status == 0, "\(created.stderr)")
        let cases: [(String, String)] = [
            ("CREATE TABLE t1 AS SELECT a, b, COUNT(*) AS n FROM s GROUP BY a, b;", "KEY_FORMAT KAFKA holds one key column"),
            ("CREATE TABLE t1b AS SELECT a, b, COUNT(*) AS n FROM s GROUP BY (a, b);", "GROUP BY makes 2"),
            ("CREATE STREAM p2 AS SELECT * FROM s PARTITION BY a, b;", "KEY_FORMAT KAFKA holds one key column, and PARTITION BY makes 2"),
            ("CREATE TABLE t2 AS SELECT a FROM s GROUP BY a;", "no value columns"),
            ("CREATE TABLE t3 AS SELECT a, a AS a2, COUNT(*) AS n FROM s GROUP BY a;", "key column more than once: A and A2"),
            ("CREATE TABLE t4 AS SELECT v, COUNT(*) AS n FROM raw GROUP BY v;", "does not support GROUP BY"),
            ("CREATE STREAM s2 AS SELECT id FROM s;", "no value columns"),
            ("CREATE STREAM d (k STRING KEY, st STRUCT<x INT>) WITH (KAFKA_TOPIC='d', VALUE_FORMAT='DELIMITED');",
             "'DELIMITED' format does not support type 'STRUCT'"),
            ("CREATE STREAM mk (k MAP<STRING, INT> KEY, v INT) WITH (KAFKA_TOPIC='d', FORMAT='JSON');", "a MAP cannot be"),
            ("CREATE STREAM dk (k DECIMAL(4, 2) KEY, v INT) WITH (KAFKA_TOPIC='d', VALUE_FORMAT='JSON');",
             "'KAFKA' format does not support type 'DECIMAL'"),
            ("CREATE STREAM sp (v INT) WITH (KAFKA_TOPIC='d', VALUE_FORMAT='DELIMITED', VALUE_DELIMITER=' ');", "write 'SPACE' or 'TAB'"),
            ("CREATE STREAM arrays WITH (VALUE_FORMAT='DELIMITED') AS SELECT id, ARRAY[a, b] AS ab FROM s;",
             "'DELIMITED' format does not support type 'ARRAY'"),
            // A stream's key columns, and its PARTITION BY expressions, must be selected once each
            // (or, its key kept as it came, none of them: not in another key format).
            ("CREATE STREAM k1 WITH (KEY_FORMAT='JSON') AS SELECT a FROM s;", "must include the key column ID"),
            ("CREATE STREAM k3 AS SELECT id, id AS id2, a FROM s;", "key column more than once: ID and ID2"),
            ("CREATE STREAM k4 AS SELECT id, a FROM s PARTITION BY ABS(b);", "must include the partitioning expression ABS(B)"),
            ("CREATE STREAM k5 AS SELECT a, a AS a2, id FROM s PARTITION BY a;", "key column more than once: A and A2"),
            ("CREATE STREAM k6 WITH (KEY_FORMAT='JSON') AS SELECT id, a FROM s PARTITION BY NULL;", "without key columns"),
            ("CREATE STREAM n1 AS SELECT id, 1 IN (a, 'x') AS f FROM s;", "invalid input syntax for type INTEGER"),
            ("CREATE STREAM n2 AS SELECT id, a IN (true) AS f FROM s;", "operator does not exist: INTEGER = BOOLEAN"),
            ("CREATE STREAM v1 AS SELECT id, a FROM s WHERE a = 'x';", "cannot compare A (INTEGER) to 'x' (STRING)"),
            ("CREATE STREAM v2 AS SELECT id, NULL <> NULL AS c FROM s;", "comparison with NULL is not supported"),
            ("CREATE STREAM v3 AS SELECT id, MAP() AS m FROM s;", "cannot be empty"),
            ("CREATE STREAM v4 AS SELECT id, MAP('k' := NULL) AS m FROM s;", "only NULL values"),
            ("CREATE STREAM v4b AS SELECT id, MAP(NULL := a) AS m FROM s;", "only NULL keys"),
            ("CREATE STREAM v4c AS SELECT id, MAP(id := a, 'x' := 'hello') AS m FROM s;", "invalid input syntax for type INTEGER"),
            ("CREATE STREAM v5 AS SELECT id, STRUCT(x := a, X := b) AS st FROM s;", "names field X twice"),
            ("CREATE STREAM v5a AS SELECT id, ARRAY[] AS xs FROM s;", "an ARRAY constructor cannot be empty"),
            ("CREATE STREAM r1 AS SELECT id, ROWTIME FROM s;", "reserved column name in select: ROWTIME"),
            ("CREATE TABLE wb1 AS SELECT id, MIN(WINDOWSTART) AS m FROM s WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id;",
             "window bounds column WINDOWSTART can only be used"),
            ("CREATE TABLE wb2 AS SELECT id, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id HAVING WINDOWEND > 10;",
             "window bounds column WINDOWEND can only be used"),
            ("CREATE STREAM sj AS SELECT * FROM s s1 JOIN s s2 WITHIN 1 HOUR ON s1.a = s2.a;", "self joins are not supported"),
            ("CREATE STREAM pj AS SELECT s.id, x FROM s JOIN twoparts t ON s.id = t.id;", "since the number of partitions don't match (1 and 2)"),
            ("CREATE STREAM mj AS SELECT m1.id, m2.id AS id2 FROM m1 JOIN m2 WITHIN 1 HOUR ON m1.mm = m2.mm;",
             "cannot join on M1.MM, of type MAP<STRING, INTEGER>"),
            ("CREATE STREAM tj AS SELECT s.id, s.a, wide.v FROM s JOIN wide WITHIN 1 HOUR ON s.a = wide.v;",
             "types don't match. Got S.A{INTEGER} = WIDE.V{BIGINT}"),
            ("CREATE STREAM r2 AS SELECT id, a AS rowoffset FROM s;", "reserved column name in select: ROWOFFSET"),
            ("CREATE STREAM f1 AS SELECT id, 1.8E308 AS big FROM s;", "number overflows DOUBLE: 1.8E308"),
            ("CREATE TABLE kt (id STRING KEY, v INT) WITH (KAFKA_TOPIC='kt', VALUE_FORMAT='JSON', PARTITIONS=1);",
             "please use PRIMARY KEY for tables"),
            ("CREATE STREAM kv (id STRING KEY, a INT, b INT) WITH (KAFKA_TOPIC='kv', VALUE_FORMAT='KAFKA', PARTITIONS=1);",
             "the 'KAFKA' format only supports a single field, and there are 2: A, B"),
            ("CREATE STREAM kb (id BOOLEAN KEY, a INT) WITH (KAFKA_TOPIC='kb', VALUE_FORMAT='JSON', PARTITIONS=1);",
             "the 'KAFKA' format does not support type 'BOOLEAN'"),
            ("CREATE STREAM kvs WITH (VALUE_FORMAT='KAFKA') AS SELECT id, a, b FROM s;", "only supports a single field"),
            ("CREATE STREAM v5b AS SELECT id, ARRAY[NULL, NULL] AS xs FROM s;", "only NULL elements"),
            ("CREATE STREAM v6 AS SELECT id, GREATEST(a, CAST(b AS BIGINT)) AS g FROM s;", "is ambiguous"),
            ("CREATE STREAM v7 AS SELECT id, GREATEST(NULL, NULL) AS g FROM s;", "only NULLs"),
            ("CREATE STREAM v8 AS SELECT id, GREATEST(id, a) AS g FROM s;", "cannot compare numbers with STRING"),
            ("CREATE STREAM v9 AS SELECT id, NULL AS n FROM s;", "cannot infer a type for NULL"),
            ("CREATE TABLE h1 AS SELECT id, SUM(a) AS t FROM s GROUP BY id HAVING SUM(a) > '100';", "cannot compare SUM(A) (BIGINT)"),
            ("CREATE STREAM w1 (v INT) WITH (KAFKA_TOPIC='w', VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING', WINDOW_SIZE='1 SECOND');",
             "a windowed source needs a key column"),
            ("CREATE STREAM nc WITH (KAFKA_TOPIC='w', VALUE_FORMAT='DELIMITED');", "no columns supplied"),
            ("CREATE STREAM w2 (v INT) WITH (KAFKA_TOPIC='w', VALUE_FORMAT='DELIMITED', WRAP_SINGLE_VALUE=true);",
             "does not support 'WRAP_SINGLE_VALUE' set to 'true'"),
        ]
        for (statement, message) in cases {
            let result = try fx.sql(["-e", statement])
            #expect(result.status != 0 && result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
        let shown = try fx.sql(["-e", "SHOW QUERIES;", "--output", "json"])
        #expect(shown.status == 0 && !shown.stdout.contains("CTAS_T"), "\(shown.stdout)")
        // The same GROUP BY with a key format that holds several columns is fine.
        let json = try fx.sql(["-e", "CREATE TABLE t5 WITH (KEY_FORMAT='JSON') AS SELECT a, b, COUNT(*) AS n FROM s GROUP BY a, b;"])
        #expect(json.status == 0, "\(json.stderr)")
        // Quoted field names keep their case, so these are two fields; DECIMALs widen to one another.
        let fine = try fx.sql(["-e", """
            CREATE STREAM ok1 AS SELECT id, STRUCT(foo := a, `foo` := b) AS st,
              GREATEST(CAST(a AS DECIMAL(9, 2)), CAST(b AS DECIMAL(7, 6))) AS g FROM s;
            CREATE STREAM ok2 AS SELECT * FROM s PARTITION BY ROWTIME;
            CREATE STREAM ok3 AS SELECT s.id, s.a, wide.v FROM s JOIN wide WITHIN 1 HOUR ON CAST(s.a AS BIGINT) = wide.v;
            """])
        #expect(fine.status == 0, "\(fine.stderr)")
    }
}
