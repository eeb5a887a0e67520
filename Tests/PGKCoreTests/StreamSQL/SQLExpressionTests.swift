import Foundation
import Testing
@testable import PGKCore

/// Lambdas and constructors, run by PostgreSQL over real records.
@Suite struct SQLExpressionTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func lambdasAndConstructorsInAStreamQuery() throws {
        let fx = try Fixture("sql-lambdas")
        try fx.cluster.createTopic("nums", partitions: 1)
        try fx.produce("nums", [#"{"NUMBERS": [3, 6, 9], "NAME": "a"}"#, #"{"NUMBERS": null, "NAME": "b"}"#], keys: ["k1", "k2"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM nums (id STRING KEY, numbers ARRAY<INT>, name STRING) WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON');
            CREATE STREAM shaped AS SELECT id, FILTER(numbers, x => x > 5) AS big, TRANSFORM(numbers, x => x * 2) AS twice,
              ARRAY[name, 'z'] AS names, STRUCT(who := name, n := 1) AS s, UCASE(name) FROM nums;
            """)
        let values = try fx.topic("SHAPED").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        // An unnamed expression is KSQL_COL_0, as the first one ksqlDB names; a STRUCT's fields come in declared order.
        #expect(values == [#"{"BIG":[6,9],"TWICE":[6,12,18],"NAMES":["a","z"],"S":{"WHO":"a","N":1},"KSQL_COL_0":"A"}"#,
                           #"{"BIG":null,"TWICE":null,"NAMES":["b","z"],"S":{"WHO":"b","N":1},"KSQL_COL_0":"B"}"#], "\(values)")
    }

    /// EXPLODE gives a row per element, in order; several are zipped, the
    /// shorter padded with NULLs; an empty or NULL array gives no row.
    /// Tables and aggregations reject it, as ksqlDB does.
    @Test func explodeGivesARowPerElement() throws {
        let fx = try Fixture("sql-explode")
        try fx.cluster.createTopic("baskets", partitions: 1)
        let items = (1...12).map(String.init).joined(separator: ", ")
        try fx.produce("baskets", [#"{"ITEMS": [\#(items)], "TAGS": ["x", "y"], "N": 1}"#, #"{"ITEMS": [], "TAGS": null, "N": 2}"#,
                                   #"{"ITEMS": null, "TAGS": ["z"], "N": 3}"#, #"{"ITEMS": [7], "TAGS": ["w"], "N": 0}"#],
                       keys: ["a", "b", "c", "d"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM baskets (id STRING KEY, items ARRAY<INT>, tags ARRAY<STRING>, n INT) WITH (KAFKA_TOPIC='baskets', VALUE_FORMAT='JSON');
            CREATE STREAM lines AS SELECT id, EXPLODE(items) AS item, n FROM baskets WHERE n > 0;
            CREATE STREAM zipped AS SELECT id, EXPLODE(items) * 10, EXPLODE(tags) FROM baskets;
            CREATE STREAM cubes AS SELECT id, CUBE_EXPLODE(ARRAY[n, items[1]]) AS c FROM baskets WHERE id IN ('b', 'd');
            """)
        func values(_ topic: String) throws -> [String] {
            try fx.topic(topic).map { "\(String(decoding: $0.key ?? [], as: UTF8.self)) \(String(decoding: $0.value ?? [], as: UTF8.self))" }
        }
        #expect(try values("LINES") == (1...12).map { #"a {"ITEM":\#($0),"N":1}"# })
        // In order per key (the keys spread over the output's partitions).
        let zipped = Dictionary(grouping: try values("ZIPPED")) { $0.prefix(1) }
        #expect(zipped == [
            "a": [#"a {"KSQL_COL_0":10,"KSQL_COL_1":"x"}"#, #"a {"KSQL_COL_0":20,"KSQL_COL_1":"y"}"#]
                + (3...12).map { #"a {"KSQL_COL_0":\#($0 * 10),"KSQL_COL_1":null}"# },
            "c": [#"c {"KSQL_COL_0":null,"KSQL_COL_1":"z"}"#], "d": [#"d {"KSQL_COL_0":70,"KSQL_COL_1":"w"}"#],
        ], "\(zipped)")
        // CUBE_EXPLODE: every combination with elements set to NULL, in binary
        // counting order; a NULL element does not double them.
        let cubes = Dictionary(grouping: try values("CUBES")) { $0.prefix(1) }
        #expect(cubes == ["b": [#"b {"C":[null,null]}"#, #"b {"C":[2,null]}"#],
                          "d": [#"d {"C":[null,null]}"#, #"d {"C":[null,7]}"#, #"d {"C":[0,null]}"#, #"d {"C":[0,7]}"#]], "\(cubes)")
        let rejected = [
            ("CREATE TABLE t AS SELECT n, COUNT(*) AS c, EXPLODE(items) AS i FROM baskets GROUP BY n;", "Table functions cannot be used with aggregations"),
            ("CREATE TABLE bt (id STRING PRIMARY KEY, items ARRAY<INT>) WITH (KAFKA_TOPIC='baskets', VALUE_FORMAT='JSON'); "
                + "CREATE TABLE t2 AS SELECT id, EXPLODE(items) AS i FROM bt;", "Table source is not supported with table functions"),
            ("CREATE STREAM w AS SELECT id, n FROM baskets WHERE EXPLODE(items) > 1;", "EXPLODE is a table function"),
            ("CREATE STREAM m AS SELECT id, EXPLODE(n) AS x FROM baskets;", "EXPLODE takes an ARRAY, not INTEGER"),
        ]
        for (statement, message) in rejected {
            let result = try fx.sql(["-e", statement])
            #expect(result.status != 0 && result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
    }

    /// Lambdas over maps, and REDUCE folding an array or a map: a NULL
    /// collection reduces to the start, a NULL start to NULL. A map that
    /// TRANSFORM rebuilds with a NULL value, or with a key twice, is NULL.
    @Test func lambdasOverMapsAndReduce() throws {
        let fx = try Fixture("sql-reduce")
        try fx.cluster.createTopic("m", partitions: 1)
        try fx.produce("m", [#"{"M": {"123": 3, "12": 7, "1234": 2}, "XS": [1, 2, 3], "S": 10}"#,
                             #"{"M": {"1": 1, "ttttt": null}, "XS": null, "S": null}"#, #"{"M": null, "XS": [], "S": 1}"#],
                       keys: ["a", "b", "c"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM m (id STRING KEY, m MAP<STRING, INT>, xs ARRAY<INT>, s BIGINT) WITH (KAFKA_TOPIC='m', VALUE_FORMAT='JSON');
            CREATE STREAM mo AS SELECT id, REDUCE(m, 0, (st, k, v) => CASE WHEN LEN(k) > 3 THEN st + v ELSE st - v END) AS r,
              REDUCE(xs, s, (st, x) => st * 2 + x) AS rs, TRANSFORM(m, (k, v) => CONCAT(k, '!'), (k, v) => v * 10) AS t,
              FILTER(m, (k, v) => v > 2) AS f, TRANSFORM(m, (k, v) => SUBSTRING(k, 1, 1), (k, v) => 1) AS twice FROM m;
            """)
        var byKey: [String: String] = [:]
        for message in try fx.topic("MO") {
            byKey[String(decoding: message.key ?? [], as: UTF8.self)] = message.value.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(byKey["a"] == #"{"R":-8,"RS":91,"T":{"12!":70,"123!":30,"1234!":20},"F":{"12":7,"123":3},"TWICE":null}"#, "\(byKey)")
        // A NULL value in a rebuilt map fails Java's Collectors.toMap: ksqlDB gives NULL.
        #expect(byKey["b"] == #"{"R":null,"RS":null,"T":null,"F":{},"TWICE":{"1":1,"t":1}}"#, "\(byKey)")
        #expect(byKey["c"] == #"{"R":0,"RS":1,"T":null,"F":null,"TWICE":null}"#, "\(byKey)")
    }

    /// More collection and string functions as ksqlDB answers them, an
    /// alias that starts with a digit, and a comparison with NULL being false.
    @Test func collectionAndTrimFunctions() throws {
        let fx = try Fixture("sql-collections")
        try fx.cluster.createTopic("c", partitions: 1)
        try fx.produce("c", [#"{"XS": [1, 2], "YS": null, "KS": ["a", "b"], "M": {"b": 2, "a": 1}, "T": " \t hi \t"}"#], keys: ["k"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM c (id STRING KEY, xs ARRAY<INT>, ys ARRAY<INT>, ks ARRAY<STRING>, m MAP<STRING, INT>, t STRING)
              WITH (KAFKA_TOPIC='c', VALUE_FORMAT='JSON');
            CREATE STREAM co AS SELECT id, ARRAY_CONCAT(xs, ys) c, AS_MAP(ks, xs) am, ENTRIES(m, true) e, GENERATE_SERIES(3, 1) g,
              TRIM(t) tr, SPLIT_TO_MAP('a:1:2/b:3', '/', ':') sm, 1 AS 1R, xs[5] = 1 AS eq,
              MAP(id := xs[1] > 0, NULL := 'no', 10 := 'true') AS mm FROM c;
            """)
        let values = try fx.topic("CO").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(values == [#"{"C":[1,2],"AM":{"a":1,"b":2},"E":[{"K":"a","V":1},{"K":"b","V":2}],"G":[3,2,1],"TR":"hi","#
            + #""SM":{"a":"1","b":"3"},"1R":1,"EQ":false,"MM":{"k":true,"10":true,"null":false}}"#], "\(values)")
    }

    /// Map values and struct fields keep their declared types: they
    /// filter, add and aggregate as numbers; `+` joins strings.
    @Test func typedMapAndStructAccess() throws {
        let fx = try Fixture("sql-typed-access")
        try fx.cluster.createTopic("people", partitions: 1)
        try fx.produce("people", [#"{"M": {"x": 5, "y": 7}, "S": {"A": 3, "B": "hi"}, "NAME": "bob"}"#,
                                  #"{"M": {"x": 1}, "S": {"A": 0, "B": "yo"}, "NAME": "al"}"#,
                                  #"{"M": {"y": 2}, "S": {"A": 4, "B": "ho"}, "NAME": "bob"}"#], keys: ["1", "2", "3"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM people (id STRING KEY, m MAP<STRING, INT>, s STRUCT<a INT, b STRING>, name STRING)
              WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON');
            CREATE STREAM shown AS SELECT id, m['x'] + 1 AS mx, s->a * 2 AS sa, name + '-' + s->b AS nb FROM people WHERE s->a > 1;
            CREATE TABLE totals AS SELECT name, SUM(m['y']) AS sy, MAX(s->a) AS ma FROM people GROUP BY name;
            """)
        let values = try fx.topic("SHOWN").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(values == [#"{"MX":6,"SA":6,"NB":"bob-hi"}"#, #"{"MX":null,"SA":8,"NB":"bob-ho"}"#], "\(values)")
        let totals = try fx.rows("SELECT name, sy::text, ma::text FROM totals ORDER BY name")
        // SUM starts at 0 in ksqlDB: al's only value is NULL, so 0.
        #expect(totals == [["al", "0", "0"], ["bob", "9", "4"]], "\(totals)")
    }

    /// IN compares across numeric types, and its literals take the
    /// operand's type: '4.000' is 4 for an INT, 5.10 is no INT at all.
    @Test func inListsCompareAcrossTypes() throws {
        let fx = try Fixture("sql-in-lists")
        try fx.cluster.createTopic("nums", partitions: 1)
        try fx.produce("nums", [#"{"I": 4, "B": 0, "D": 0, "C": 0}"#, #"{"I": 5, "B": 0, "D": 0, "C": 0}"#,
                                #"{"I": 10, "B": 10, "D": 10.0, "C": 10.00}"#, #"{"I": 11, "B": 11, "D": 11.01, "C": 11.01}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM nums (i INT, b BIGINT, d DOUBLE, c DECIMAL(4, 2)) WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON');
            CREATE STREAM hits AS SELECT i AS x, i IN (b) AS ib, i IN (d) AS id, d IN (c) AS dc FROM nums
              WHERE i IN (1, '4.000', 5.10, b, d, c);
            """)
        let values = try fx.topic("HITS").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(values == [#"{"X":10,"IB":true,"ID":true,"DC":true}"#, #"{"X":11,"IB":true,"ID":false,"DC":true}"#,
                           #"{"X":4,"IB":false,"ID":false,"DC":true}"#], "\(values)")
    }

    /// CAST truncates to whole numbers, wraps a BIGINT into an INT, and
    /// gives NULL for a DECIMAL too small to hold the value, as ksqlDB's
    /// Java casts do, where PostgreSQL would round or fail the record.
    @Test func castsFollowJava() throws {
        let fx = try Fixture("sql-casts")
        try fx.cluster.createTopic("c", partitions: 1)
        try fx.produce("c", [#"{"N": 1, "I": 10, "B": 4294967297, "D": 1.7, "C": 10.56}"#,
                             #"{"N": 2, "I": 1, "B": -1, "D": -0.99, "C": -2.5}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM c (n INT, i INT, b BIGINT, d DOUBLE, c DECIMAL(4, 2)) WITH (KAFKA_TOPIC='c', VALUE_FORMAT='JSON');
            CREATE STREAM co AS SELECT n, CAST(d AS INT) di, CAST(c AS BIGINT) cb, CAST(b AS INT) bi,
              CAST(i AS DECIMAL(2, 1)) idec, CAST(d AS DECIMAL(2, 1)) ddec FROM c;
            """)
        let values = try fx.topic("CO").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(values == [#"{"N":1,"DI":1,"CB":10,"BI":1,"IDEC":null,"DDEC":1.7}"#,
                           #"{"N":2,"DI":0,"CB":-2,"BI":-1,"IDEC":1.0,"DDEC":-1.0}"#], "\(values)")
    }

    /// BYTES read as numbers (either byte order), split, cut and measured
    /// as bytes; hex is upper-case as in ksqlDB.
    @Test func bytesFunctions() throws {
        let fx = try Fixture("sql-bytes")
        try fx.cluster.createTopic("raw", partitions: 1)
        try fx.produce("raw", [#"{"A": "AAAH5Q==", "B": "AAAAASoF8gA=", "C": "QICm/ZvJ9YI=", "L": "gvXJm/2mgEA=", "X": "YSxiLCxj"}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM raw (a BYTES, b BYTES, c BYTES, l BYTES, x BYTES) WITH (KAFKA_TOPIC='raw', VALUE_FORMAT='JSON');
            CREATE STREAM nums AS SELECT INT_FROM_BYTES(a) i, BIGINT_FROM_BYTES(b) b, DOUBLE_FROM_BYTES(c) d,
              DOUBLE_FROM_BYTES(l, 'LITTLE_ENDIAN') dl, INT_FROM_BYTES(b) bad, FROM_BYTES(a, 'hex') h,
              SPLIT(x, TO_BYTES(',', 'utf8')) parts, SUBSTRING(x, 3) tail, LEN(x) n FROM raw;
            """)
        let values = try fx.topic("NUMS").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(values == [#"{"I":2021,"B":5000000000,"D":532.8738323,"DL":532.8738323,"BAD":null,"H":"000007E5","#
            + #""PARTS":["YQ==","Yg==","","Yw=="],"TAIL":"YiwsYw==","N":6}"#], "\(values)")
    }

    /// An array inside a STRUCT reads back as an array of its type; a
    /// DELIMITED DATE may be given as days since the epoch.
    @Test func nestedArraysAndDelimitedDates() throws {
        let fx = try Fixture("sql-nested-arrays")
        try fx.cluster.createTopic("shirts", partitions: 1)
        try fx.cluster.createTopic("days", partitions: 1)
        try fx.produce("shirts", [#"{"S": {"COLORS": ["Pink", "Blue"]}, "G": [[0, 1], [2]], "G3": [[["a", "b"]], []]}"#,
                                  #"{"S": {"COLORS": ["Red"]}, "G": [null, [2]]}"#], keys: ["1", "2"])
        try fx.produce("days", ["10", "-10"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM shirts (id STRING KEY, s STRUCT<colors ARRAY<STRING>>, g ARRAY<ARRAY<INT>>, g3 ARRAY<ARRAY<ARRAY<STRING>>>)
              WITH (KAFKA_TOPIC='shirts', VALUE_FORMAT='JSON');
            CREATE STREAM pink AS SELECT id, s->colors[2] AS second FROM shirts WHERE ARRAY_CONTAINS(s->colors, 'Pink');
            CREATE STREAM grid AS SELECT id, g[1][2] AS g12, ARRAY_LENGTH(g) AS n, g3[1][1][2] AS deep, g AS whole,
              TRANSFORM(g, r => ARRAY_LENGTH(r)) AS lens, ARRAY_REMOVE(g, ARRAY[2]) AS no2 FROM shirts;
            CREATE STREAM days (d DATE) WITH (KAFKA_TOPIC='days', VALUE_FORMAT='DELIMITED');
            CREATE STREAM later AS SELECT DATEADD(DAYS, 1, d) AS d FROM days;
            """)
        let pink = try fx.topic("PINK").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(pink == [#"{"SECOND":"Blue"}"#], "\(pink)")
        // Ragged arrays of arrays, at any depth.
        var grid: [String: String] = [:]
        for message in try fx.topic("GRID") {
            grid[String(decoding: message.key ?? [], as: UTF8.self)] = message.value.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(grid["1"] == #"{"G12":1,"N":2,"DEEP":"b","WHOLE":[[0,1],[2]],"LENS":[2,1],"NO2":[[0,1]]}"#, "\(grid)")
        #expect(grid["2"] == #"{"G12":null,"N":2,"DEEP":null,"WHOLE":[null,[2]],"LENS":[null,1],"NO2":[null]}"#, "\(grid)")
        let later = try fx.topic("LATER").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        // A line's first field that starts with '-' is quoted, as ksqlDB's CSV printer does.
        #expect(later == ["\"-9\"", "11"], "\(later)")
    }

    /// CASTs between ARRAY, MAP and STRUCT types convert each element as
    /// a scalar CAST would; a STRUCT takes the target's fields by name.
    @Test func complexCasts() throws {
        let fx = try Fixture("sql-complex-casts")
        try fx.cluster.createTopic("c", partitions: 1)
        try fx.produce("c", [#"{"A": [1, 3, 2147483648], "M": {"this": 2147483648}, "S": {"F0": 1, "F1": 3}, "# +
                             #""AA": [[1, -3], [2147483648]], "MM": {"k": {"x": "7"}}}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM c (a ARRAY<BIGINT>, m MAP<STRING, BIGINT>, s STRUCT<f0 BIGINT, f1 INT>, aa ARRAY<ARRAY<BIGINT>>,
              mm MAP<STRING, MAP<STRING, STRING>>) WITH (KAFKA_TOPIC='c', VALUE_FORMAT='JSON');
            CREATE STREAM co AS SELECT CAST(a AS ARRAY<INT>) ai, CAST(m AS MAP<STRING, INT>) mi,
              CAST(s AS STRUCT<f0 STRING, f3 INT>) st, CAST(aa AS ARRAY<ARRAY<STRING>>) aas,
              CAST(mm AS MAP<STRING, MAP<STRING, INT>>) mmi FROM c;
            """)
        let values = try fx.topic("CO").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(values == [#"{"AI":[1,3,-2147483648],"MI":{"this":-2147483648},"ST":{"F0":"1","F3":null},"#
            + #""AAS":[["1","-3"],["2147483648"]],"MMI":{"k":{"x":7}}}"#], "\(values)")
    }

    /// COLLECT_LIST and COLLECT_SET of ARRAYs (of any lengths) and STRUCTs
    /// collect them whole, across batches.
    @Test func collectingArraysAndStructs() throws {
        let fx = try Fixture("sql-collect-arrays")
        try fx.cluster.createTopic("c", partitions: 1)
        try fx.produce("c", [#"{"K": 0, "A": [1, 2], "S": {"X": 1}}"#, #"{"K": 0, "A": [3], "S": {"X": 1}}"#,
                             #"{"K": 0, "A": [1, 2], "S": null}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM c (k INT, a ARRAY<INT>, s STRUCT<x INT>) WITH (KAFKA_TOPIC='c', VALUE_FORMAT='JSON');
            CREATE TABLE t AS SELECT k, COLLECT_LIST(a) AS al, COLLECT_SET(a) AS aset, COLLECT_LIST(s) AS sl FROM c GROUP BY k;
            """)
        let rows = try fx.rows("SELECT to_jsonb(al)::text, to_jsonb(aset)::text, to_jsonb(sl)::text FROM t")
        #expect(rows == [["[[1, 2], [3], [1, 2]]", "[[1, 2], [3]]", #"[{"X": 1}, {"X": 1}, null]"#]], "\(rows)")
    }

    /// PARSE_* functions give NULL for text that does not fit the pattern,
    /// as ksqlDB's do, instead of failing the record.
    @Test func parseFunctionsGiveNullForBadText() throws {
        let fx = try Fixture("sql-parse-null")
        try fx.cluster.createTopic("d", partitions: 1)
        try fx.produce("d", [#"{"F": "2022-02-02"}"#, #"{"F": "abcd"}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM d (f STRING) WITH (KAFKA_TOPIC='d', VALUE_FORMAT='JSON');
            CREATE STREAM dd AS SELECT IFNULL(CAST(PARSE_DATE(f, 'yyyy-MM-dd') AS STRING), '1900-01-01') AS v,
              STRINGTOTIMESTAMP(f, 'yyyy-MM-dd') AS ts FROM d;
            """)
        let values = try fx.topic("DD").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(values == [#"{"V":"1900-01-01","TS":null}"#, #"{"V":"2022-02-02","TS":1643760000000}"#], "\(values)")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters") == [["0"]])
    }

    /// Numeric functions answer as Java's Math does (NaN, ±Infinity,
    /// HALF_UP) where PostgreSQL would fail the record.
    @Test func mathFunctionsFollowKsqlDB() throws {
        let fx = try Fixture("sql-math")
        try fx.cluster.createTopic("m", partitions: 1)
        try fx.produce("m", [#"{"I": -1, "D": -1.5}"#, #"{"I": 0, "D": 0.0}"#, #"{"I": 2, "D": 12345.678}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM m (i INT, d DOUBLE) WITH (KAFKA_TOPIC='m', VALUE_FORMAT='JSON');
            CREATE STREAM mo AS SELECT ln(i) a, sqrt(i) b, log(2, d) c, round(d) e, round(d, 2) f, round(d, -1) g,
              floor(i) h, sign(d) k, asin(i * 2) n, power(i, d) p, cot(i) r FROM m;
            """)
        // Keyless records spread over the output's partitions: compare them in any order.
        let values = try fx.topic("MO").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(values == [
            #"{"A":"NaN","B":"NaN","C":"NaN","E":-1,"F":-1.5,"G":0.0,"H":-1,"K":-1,"N":"NaN","P":"NaN","R":-0.6420926159343306}"#,
            #"{"A":"-Infinity","B":0.0,"C":"-Infinity","E":0,"F":0.0,"G":0.0,"H":0,"K":0,"N":0.0,"P":1.0,"R":"Infinity"}"#,
            #"{"A":0.6931471805599453,"B":1.4142135623730951,"C":13.591718448138552,"E":12346,"F":12345.68,"G":12350.0,"H":2,"K":1,"N":"NaN","P":"Infinity","R":-0.45765755436028577}"#,
        ].sorted(), "\(values)")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters") == [["0"]])
    }

    @Test func stringFunctionsFollowKsqlDB() throws {
        let fx = try Fixture("sql-strings")
        try fx.cluster.createTopic("str", partitions: 1)
        try fx.produce("str", [#"{"S": "Hello World 42!", "J": "{\"log\": {\"cloud\": \"gcp\"}}"}"#, #"{"S": null, "J": "not json"}"#])
        try fx.run(#"""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM str (s STRING, j STRING) WITH (KAFKA_TOPIC='str', VALUE_FORMAT='JSON');
            CREATE STREAM so AS SELECT INSTR(s, 'o', 1, 2) a, INSTR(s, 'o', -1, 2) c, MASK(s) d, MASK(s, NULL, '*') e,
              MASK_KEEP_LEFT(s, 5) f, MASK_RIGHT(s, 3) g, ELT(2, 'a', 'b') h, FIELD(s, 'x', s) i, CHR(75) j, CHR('\u004b') k,
              REGEXP_EXTRACT_ALL('[a-z]+', s) l, SPLIT_TO_MAP('a=1;b=2;c', ';', '=')['b'] n,
              EXTRACTJSONFIELD(j, '$.log.cloud') o, ENCODE('aGk=', 'base64', 'hex') q, LPAD(s, 3, '') r FROM str;
            """#)
        let values = try fx.topic("SO").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(values == [
            #"{"A":8,"C":5,"D":"Xxxxx-Xxxxx-nn-","E":"H****-W****-nn-","F":"Hello-Xxxxx-nn-","G":"Hello World nn-","H":"b","I":2,"J":"K","K":"K","L":["ello","orld"],"N":"2","O":"gcp","Q":"6869","R":null}"#,
            #"{"A":null,"C":null,"D":null,"E":null,"F":null,"G":null,"H":"b","I":0,"J":"K","K":"K","L":null,"N":"2","O":null,"Q":"6869","R":null}"#,
        ].sorted(), "\(values)")
    }

    /// DATEADD and friends take a time unit keyword; CONVERT_TZ moves a wall clock between zones.
    @Test func dateArithmetic() throws {
        let fx = try Fixture("sql-date-arithmetic")
        try fx.cluster.createTopic("dt", partitions: 1)
        try fx.produce("dt", [#"{"D": 19000, "T": 3600000, "TS": 1700000000000}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM dt (d DATE, t TIME, ts TIMESTAMP) WITH (KAFKA_TOPIC='dt', VALUE_FORMAT='JSON');
            CREATE STREAM dto AS SELECT DATEADD(DAYS, 3, d) a, DATESUB(DAYS, 1, d) b, TIMEADD(HOURS, 25, t) c,
              TIMESUB(MINUTES, 90, t) e, TIMESTAMPADD(MILLISECONDS, 5, ts) f, TIMESTAMPSUB(DAYS, 1, ts) g,
              CONVERT_TZ(ts, 'UTC', 'America/Los_Angeles') h FROM dt;
            """)
        let values = try fx.topic("DTO").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(values == [#"{"A":19003,"B":18999,"C":7200000,"E":84600000,"F":1700000000005,"G":1699913600000,"H":1699971200000}"#])
        let bad = try fx.sql(["-e", "CREATE STREAM bad AS SELECT DATEADD(d, 1, d) x FROM dt;"])
        #expect(bad.status != 0 && bad.stderr.contains("time unit"), "\(bad.stderr)")
    }

    /// Array set functions keep first occurrences in order; NULL arrays stay NULL.
    @Test func arrayAndMapFunctions() throws {
        let fx = try Fixture("sql-collections")
        try fx.cluster.createTopic("arr", partitions: 1)
        try fx.produce("arr", [#"{"A": [3, 1, null, 3, 2], "B": [2, 5], "M": {"b": 2.5, "a": 1.5}}"#, #"{"A": null, "B": [1], "M": null}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM arr (a ARRAY<INT>, b ARRAY<INT>, m MAP<STRING, DOUBLE>) WITH (KAFKA_TOPIC='arr', VALUE_FORMAT='JSON');
            CREATE STREAM ao AS SELECT ARRAY_DISTINCT(a) a, ARRAY_UNION(a, b) b, ARRAY_INTERSECT(a, b) c, ARRAY_EXCEPT(a, b) d,
              ARRAY_REMOVE(a, 3) e, ARRAY_MAX(a) f, ARRAY_SORT(a, 'desc') i, ARRAY_JOIN(a) j, SLICE(a, 2, 3) n,
              MAP_KEYS(m) o, ARRAY_MAX(MAP_VALUES(m)) + 1 q FROM arr;
            """)
        let values = try fx.topic("AO").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(values == [
            #"{"A":[3,1,null,2],"B":[3,1,null,2,5],"C":[2],"D":[3,1,null],"E":[1,null,2],"F":3,"I":[3,3,2,1,null],"J":"3,1,null,3,2","N":[1,null],"O":["a","b"],"Q":3.5}"#,
            #"{"A":null,"B":null,"C":null,"D":null,"E":null,"F":null,"I":null,"J":null,"N":null,"O":null,"Q":null}"#,
        ].sorted(), "\(values)")
    }

    /// AS_VALUE copies a key column into the value.
    @Test func asValueCopiesTheKeyIntoTheValue() throws {
        let fx = try Fixture("sql-as-value")
        try fx.cluster.createTopic("events", partitions: 1)
        try fx.produce("events", [#"{"F1": 1, "F2": "a"}"#, #"{"F1": 1, "F2": "a"}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM events (f1 INT, f2 STRING) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');
            CREATE TABLE counted WITH (KEY_FORMAT='JSON') AS SELECT f1, f2, AS_VALUE(f1) AS f3, COUNT(*) FROM events GROUP BY f2, f1;
            """)
        let latest = try fx.topic("COUNTED").last.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(latest == #"{"F3":1,"KSQL_COL_0":2}"#)
    }
}

extension SQLExpressionTests {
    /// `s->*` selects every field of a STRUCT as its own column, nested
    /// and quoted fields too; elsewhere it is refused when created.
    @Test func structStarExpandsIntoItsFields() throws {
        let fx = try Fixture("sql-struct-star")
        try fx.cluster.createTopic("nested", partitions: 1)
        try fx.produce("nested", [#"{"V1": {"a": {"b": 1, "f 2": "x"}, "c": 3}}"#], keys: ["k"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM nested (id STRING KEY, v1 STRUCT<a STRUCT<b INT, `f 2` STRING>, c INT>)
              WITH (KAFKA_TOPIC='nested', VALUE_FORMAT='JSON');
            CREATE STREAM flat AS SELECT id, v1->c AS first, v1->a->* FROM nested n;
            CREATE STREAM outer_fields AS SELECT n.id, n.v1->* FROM nested n;
            """)
        #expect(try fx.topic("FLAT").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } } == [#"{"FIRST":3,"B":1,"f 2":"x"}"#])
        #expect(try fx.topic("OUTER_FIELDS").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
                == [#"{"A":{"B":1,"f 2":"x"},"C":3}"#])
        // A pull query expands it too, from the table's declared STRUCT type.
        let latest = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            CREATE TABLE latest AS SELECT id, LATEST_BY_OFFSET(v1) AS v FROM nested GROUP BY id;
            """])
        #expect(latest.status == 0, "\(latest.stderr)")
        try fx.catchUp()
        let pulled = try fx.sql(["-e", "SELECT id, v->* FROM latest WHERE id = 'k';", "--output", "json"])
        #expect(pulled.stdout.contains(#""A":{"B":1,"f 2":"x"}"#) && pulled.stdout.contains(#""C":3"#), "\(pulled.stdout) \(pulled.stderr)")
        for statement in ["CREATE STREAM bad1 AS SELECT id, v1->c FROM nested WHERE v1->* IS NULL;",
                          "CREATE STREAM bad2 AS SELECT id, v1->c->* FROM nested;"] {
            let refused = try fx.sql(["-e", statement])
            #expect(refused.status != 0 && refused.stderr.contains("->*"), "\(statement): \(refused.stderr)")
        }
    }
}
