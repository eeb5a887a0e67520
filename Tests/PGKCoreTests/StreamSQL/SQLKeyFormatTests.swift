import Foundation
import Testing
@testable import PGKCore

/// Sources with several key columns, and the JSON, DELIMITED and AVRO key formats.
@Suite struct SQLKeyFormatTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func severalKeyColumnsInJSONAndDelimitedKeys() throws {
        let fx = try Fixture("sql-multikey")
        try fx.cluster.createTopic("plays", partitions: 1)
        try fx.cluster.createTopic("scores", partitions: 1)
        try fx.produce("plays", [#"{"points": 3}"#, #"{"points": 4}"#, #"{"points": 5}"#],
                       keys: [#"{"REGION": "eu", "GAME": "chess"}"#, #"{"region": "eu", "game": "go"}"#, #"{"REGION": "eu", "GAME": "chess"}"#])
        try fx.produce("scores", [#"{"best": 10}"#, #"{"best": 12}"#, nil], keys: ["eu,chess", "us,go", "us,go"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM plays (region STRING KEY, game STRING KEY, points INT) WITH (KAFKA_TOPIC='plays', KEY_FORMAT='JSON', VALUE_FORMAT='JSON');
            CREATE TABLE scores (region STRING PRIMARY KEY, game STRING PRIMARY KEY, best INT)
              WITH (KAFKA_TOPIC='scores', KEY_FORMAT='DELIMITED', VALUE_FORMAT='JSON');
            CREATE STREAM doubled AS SELECT region, game, points * 2 AS twice FROM plays;
            CREATE TABLE totals AS SELECT region, game, SUM(points) AS total FROM plays GROUP BY region, game;
            CREATE TABLE best AS SELECT region, game, best FROM scores;
            CREATE STREAM keyless AS SELECT points FROM plays;
            """)
        // Its key columns left out, a stream's records keep their key bytes as they came (ksqlDB 0.25 on).
        let keyless = try fx.topic("KEYLESS").map { [String(decoding: $0.key ?? [], as: UTF8.self), String(decoding: $0.value ?? [], as: UTF8.self)] }
        #expect(keyless.sorted { $0[1] < $1[1] } == [[#"{"REGION": "eu", "GAME": "chess"}"#, #"{"POINTS":3}"#], [#"{"region": "eu", "game": "go"}"#, #"{"POINTS":4}"#],
                            [#"{"REGION": "eu", "GAME": "chess"}"#, #"{"POINTS":5}"#]], "\(keyless)")
        #expect(try fx.rows("SELECT region, game, total::text FROM totals ORDER BY 1, 2") == [["eu", "chess", "8"], ["eu", "go", "4"]])
        // The tombstone for (us, go) removed that row.
        #expect(try fx.rows("SELECT region, game, best::text FROM best ORDER BY 1, 2") == [["eu", "chess", "10"]])
        let doubled = try fx.topic("DOUBLED").map { String(decoding: $0.key ?? [], as: UTF8.self) }
        #expect(doubled.sorted() == [#"{"REGION":"eu","GAME":"chess"}"#, #"{"REGION":"eu","GAME":"chess"}"#, #"{"REGION":"eu","GAME":"go"}"#])
        let best = try fx.topic("BEST").map { (String(decoding: $0.key ?? [], as: UTF8.self), $0.value.map { String(decoding: $0, as: UTF8.self) }) }
        #expect(best.last { $0.0 == "eu,chess" }?.1 == #"{"BEST":10}"#, "\(best)")
        #expect(best.contains { $0.0 == "us,go" && $0.1 == nil }, "\(best)")

        let kafka = try fx.sql(["-e", "CREATE STREAM p2 (a STRING KEY, b STRING KEY, v INT) WITH (KAFKA_TOPIC='plays', VALUE_FORMAT='JSON');"])
        #expect(kafka.status != 0 && kafka.stderr.contains("KEY_FORMAT KAFKA holds one key column"), "\(kafka.stderr)")
    }

    /// WRAP_SINGLE_VALUE=false: the one value column is the whole value, read and written.
    @Test func unwrappedSingleValues() throws {
        let fx = try Fixture("sql-unwrapped")
        try fx.cluster.createTopic("names", partitions: 1)
        try fx.produce("names", [#""a""#, #"{"x": 1}"#], keys: ["1", "2"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM names (id STRING KEY, name STRING) WITH (WRAP_SINGLE_VALUE=false, KAFKA_TOPIC='names', VALUE_FORMAT='JSON');
            CREATE STREAM bare WITH (WRAP_SINGLE_VALUE=false) AS SELECT id, UCASE(name) AS name FROM names;
            CREATE STREAM wrapped AS SELECT id, name FROM names;
            """)
        let bare = try fx.topic("BARE").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.sorted()
        #expect(bare == [#""A""#, #""{\"X\":1}""#].sorted(), "\(bare)")
        let wrapped = try fx.topic("WRAPPED").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(wrapped.contains(#"{"NAME":"a"}"#), "\(wrapped)")
        for wrap in ["false", "true"] {
            let two = try fx.sql(["-e", "CREATE STREAM bad WITH (WRAP_SINGLE_VALUE=\(wrap)) AS SELECT id, name, name AS n2 FROM names;"])
            #expect(two.status != 0 && two.stderr.contains("only valid for single-field value schemas"), "\(two.stderr)")
        }
        // The session's ksql.persistence.wrap.single.values=false unwraps where WRAP_SINGLE_VALUE does not say.
        let configured = try fx.sql(["-e", """
            SET 'auto.offset.reset'='earliest';
            SET 'ksql.persistence.wrap.single.values'='false';
            CREATE STREAM by_config AS SELECT id, name FROM names;
            CREATE STREAM two_columns AS SELECT id, name, name AS n2 FROM names;
            """])
        #expect(configured.status == 0, "\(configured.stderr)")
        try fx.catchUp()
        let byConfig = try fx.topic("BY_CONFIG").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        #expect(byConfig.contains(#""a""#), "\(byConfig)")
        #expect(try fx.topic("TWO_COLUMNS").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }.contains(#"{"NAME":"a","N2":"a"}"#))
    }

    @Test func avroKeysAreReadAndWrittenThroughTheRegistry() throws {
        var fx = try Fixture("sql-avro-keys")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        fx.extraEnvironment["PGK_REGISTRY"] = registry.url
        try fx.cluster.createTopic("orders", partitions: 1)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM orders (id BIGINT KEY, shop STRING KEY, amount DOUBLE)
              WITH (KAFKA_TOPIC='orders', FORMAT='AVRO');
            CREATE TABLE per_shop WITH (KEY_FORMAT='AVRO') AS SELECT shop, COUNT(*) AS n FROM orders GROUP BY shop;
            INSERT INTO orders (id, shop, amount) VALUES (1, 'north', 2.5);
            INSERT INTO orders (id, shop, amount) VALUES (2, 'north', 1.0);
            INSERT INTO orders (id, shop, amount) VALUES (3, 'south', 4.0);
            """)
        try fx.catchUp()
        #expect(try fx.rows("SELECT shop, n::text FROM per_shop ORDER BY 1") == [["north", "2"], ["south", "1"]])
        // Every key is Confluent-framed Avro: a record of the two columns in,
        // the bare string out (one key column).
        let inputKey = try #require(try fx.topic("orders").first?.key)
        #expect(inputKey.first == 0 && inputKey.count > 5)
        let outputKeys = try fx.topic("PER_SHOP").compactMap(\.key)
        #expect(!outputKeys.isEmpty && outputKeys.allSatisfy { $0.first == 0 })
        let subjects = try CommandRunner.run("/usr/bin/curl", ["-s", registry.url + "/subjects"]).stdout
        #expect(subjects.contains("PER_SHOP-key") && subjects.contains("orders-key"), "\(subjects)")
    }

    /// DECIMAL results are Avro decimals (bytes with precision and scale),
    /// as ksqlDB registers them, so no digit is lost to a double.
    @Test func avroDecimalsStayExact() throws {
        var fx = try Fixture("sql-avro-decimal")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        fx.extraEnvironment["PGK_REGISTRY"] = registry.url
        try fx.cluster.createTopic("prices", partitions: 1)
        try fx.produce("prices", [#"{"P": 1234567890123.45}"#, #"{"P": -0.10}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM prices (p DECIMAL(15, 2)) WITH (KAFKA_TOPIC='prices', VALUE_FORMAT='JSON');
            CREATE STREAM exact WITH (VALUE_FORMAT='AVRO') AS SELECT p FROM prices;
            """)
        let schemaText = try registry.latestSchemaText("EXACT-value")
        #expect(schemaText.contains(#""logicalType":"decimal""#) && schemaText.contains(#""scale":2"#), "\(schemaText)")
        let schema = try AvroSchema(json: schemaText)
        let decoded = try fx.topic("EXACT").compactMap { $0.value }.map { try schema.decode(Array($0.dropFirst(5))) }
        // Keyless records spread over the output's partitions: compare in any order.
        #expect(Set(decoded.compactMap { $0["P"].map { "\($0)" } }) == [#"decimal("1234567890123.45")"#, #"decimal("-0.10")"#], "\(decoded)")
    }

    /// A key column may be named like the aliases pgk's SQL uses (`a`), and
    /// a re-keyed record whose key column is NULL gets a null key, not its old one.
    @Test func keysNamedLikeAliasesAndNullKeys() throws {
        let fx = try Fixture("sql-key-names")
        try fx.cluster.createTopic("input", partitions: 1)
        try fx.produce("input", [#"{"A": 12.30, "S": "x"}"#, #"{"A": 1.00, "S": null}"#], keys: [#""k1""#, #""k2""#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM input (id STRING KEY, a DECIMAL(4,2), s STRING) WITH (KAFKA_TOPIC='input', KEY_FORMAT='JSON', VALUE_FORMAT='JSON');
            CREATE TABLE per_a AS SELECT a, COUNT(*) AS n FROM input GROUP BY a;
            CREATE STREAM by_s WITH (KEY_FORMAT='KAFKA') AS SELECT id, s FROM input PARTITION BY s;
            """)
        let keys = try fx.topic("PER_A").map { String(decoding: $0.key ?? [], as: UTF8.self) }
        #expect(Set(keys) == ["12.3", "1.0"], "\(keys)")
        let rekeyed = try fx.topic("BY_S").map { $0.key.map { String(decoding: $0, as: UTF8.self) } }
        #expect(Set(rekeyed) == [.some("x"), .none], "\(rekeyed)")
    }
}

extension SQLKeyFormatTests {
    /// `VALUE_DELIMITER` reads and writes DELIMITED values; a sink keeps
    /// its source's delimiter unless it names its own.
    @Test func delimitedValuesTakeTheirDelimiter() throws {
        let fx = try Fixture("sql-delimiter")
        try fx.cluster.createTopic("piped", partitions: 1)
        try fx.produce("piped", ["0|zero|0", "1|a,b|5", "2|\" padded\"|7", "-3|-x|1"], keys: ["k0", "k1", "k2", "k3"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM piped (id BIGINT, name STRING, value INT) WITH (KAFKA_TOPIC='piped', VALUE_FORMAT='DELIMITED', VALUE_DELIMITER='|');
            CREATE STREAM same AS SELECT id, name, value FROM piped;
            CREATE STREAM spaced WITH (VALUE_DELIMITER='SPACE') AS SELECT id, name, value * 2 AS twice FROM piped;
            """)
        // Keyless results have null keys, spread over the output's partitions: compare in any order.
        func values(_ topic: String) throws -> [String] { try fx.topic(topic).map { String(decoding: $0.value ?? [], as: UTF8.self) }.sorted() }
        // A field with leading blanks is quoted, as ksqlDB's CSV printer does,
        // and so is a first field that starts with neither a letter nor a digit.
        #expect(try values("SAME") == ["\"-3\"|-x|1", "0|zero|0", "1|a,b|5", "2|\" padded\"|7"])
        #expect(try values("SPACED") == ["\"-3\" -x 2", "0 zero 0", "1 a,b 10", "2 \" padded\" 14"])
        let bad = try fx.sql(["-e", "CREATE STREAM j (a INT) WITH (KAFKA_TOPIC='piped', VALUE_FORMAT='JSON', VALUE_DELIMITER='|');"])
        #expect(bad.status != 0 && bad.stderr.contains("VALUE_DELIMITER applies to VALUE_FORMAT='DELIMITED' only"), "\(bad.stderr)")
    }

    /// `KEY_DELIMITER` separates the columns of a DELIMITED key, read and
    /// written; a sink keeps its source's unless it names its own.
    @Test func delimitedKeysTakeTheirDelimiter() throws {
        let fx = try Fixture("sql-key-delimiter")
        try fx.cluster.createTopic("pairs", partitions: 1)
        try fx.produce("pairs", [#"{"V": 1}"#, #"{"V": 2}"#], keys: ["a|1", "b,c|2"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM pairs (name STRING KEY, n INT KEY, v INT)
              WITH (KAFKA_TOPIC='pairs', KEY_FORMAT='DELIMITED', KEY_DELIMITER='|', VALUE_FORMAT='JSON');
            CREATE STREAM kept AS SELECT name, n, v FROM pairs;
            CREATE STREAM tabbed WITH (KEY_DELIMITER='TAB') AS SELECT name, n, v * 10 AS v10 FROM pairs;
            """)
        func records(_ topic: String) throws -> [String] {
            try fx.topic(topic).map { "\(String(decoding: $0.key ?? [], as: UTF8.self)) \(String(decoding: $0.value ?? [], as: UTF8.self))" }.sorted()
        }
        #expect(try records("KEPT") == [#"a|1 {"V":1}"#, #"b,c|2 {"V":2}"#])
        #expect(try records("TABBED") == ["a\t1 {\"V10\":10}", "b,c\t2 {\"V10\":20}"])
        let bad = try fx.sql(["-e", "CREATE STREAM j (a INT KEY, b INT) WITH (KAFKA_TOPIC='pairs', KEY_FORMAT='JSON', VALUE_FORMAT='JSON', KEY_DELIMITER='|');"])
        #expect(bad.status != 0 && bad.stderr.contains("KEY_DELIMITER applies to KEY_FORMAT='DELIMITED' only"), "\(bad.stderr)")
    }

    /// Sources with WINDOW_TYPE: their keys carry the window (the start
    /// after the key; a session's end, then start), read into WINDOWSTART
    /// and WINDOWEND; a projection's result is windowed the same way.
    @Test func windowedSourcesKeepTheirWindows() throws {
        let fx = try Fixture("sql-windowed-source")
        try fx.cluster.createTopic("sessions", partitions: 1)
        try fx.cluster.createTopic("tumbling", partitions: 1)
        func long(_ value: Int64) -> [UInt8] { (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
        func int(_ value: Int32) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for (key, start, end, value) in [(Int32(0), Int64(0), Int64(10_000), "2"), (1, 10_000, 40_000, "4")] {
            try producer.produce(topic: "sessions", partition: 0, key: int(key) + long(end) + long(start), value: Array(value.utf8))
        }
        try producer.produce(topic: "tumbling", partition: 0, key: int(7) + long(30_000), value: Array(#"{"ID": 5}"#.utf8))
        try producer.produce(topic: "tumbling", partition: 0, key: [1, 2], value: Array(#"{"ID": 6}"#.utf8))
        try producer.flush(timeoutMilliseconds: 10_000)
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM sess (k INT KEY, id BIGINT) WITH (KAFKA_TOPIC='sessions', VALUE_FORMAT='DELIMITED', WINDOW_TYPE='SESSION');
            CREATE STREAM s2 AS SELECT * FROM sess;
            CREATE STREAM spans AS SELECT k, WINDOWEND - WINDOWSTART AS span FROM sess;
            CREATE STREAM tumb (k INT KEY, id BIGINT) WITH (KAFKA_TOPIC='tumbling', VALUE_FORMAT='JSON', WINDOW_TYPE='Tumbling',
              WINDOW_SIZE='30 seconds');
            CREATE STREAM t2 AS SELECT k, id, WINDOWEND AS we FROM tumb;
            """)
        func records(_ topic: String) throws -> [String] {
            try fx.topic(topic).map { "\($0.key ?? []) \(String(decoding: $0.value ?? [], as: UTF8.self))" }.sorted()
        }
        // The keys come back as they were written, window and all.
        #expect(try records("S2") == ["\(int(0) + long(10_000) + long(0)) 2", "\(int(1) + long(40_000) + long(10_000)) 4"])
        #expect(try records("SPANS") == ["\(int(0) + long(10_000) + long(0)) 10000", "\(int(1) + long(40_000) + long(10_000)) 30000"])
        #expect(try records("T2") == ["\(int(7) + long(30_000)) {\"ID\":5,\"WE\":60000}"])
        // A key too short for its window goes to the dead letters.
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters WHERE reason LIKE '%windowed key%'") == [["1"]])
        let described = try fx.sql(["-e", "DESCRIBE tumb;"])
        #expect(described.stdout.contains("WINDOWSTART"), "\(described.stdout)")
        let rejected = [
            ("CREATE STREAM w (k INT KEY, id INT) WITH (KAFKA_TOPIC='tumbling', VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING');", "needs WINDOW_SIZE"),
            ("CREATE TABLE g AS SELECT k, COUNT(*) AS n FROM tumb GROUP BY k;", "has windowed keys"),
        ]
        for (statement, message) in rejected {
            let result = try fx.sql(["-e", statement])
            #expect(result.status != 0 && result.stderr.contains(message), "\(statement): \(result.stderr)")
        }
    }
}

extension SQLKeyFormatTests {
    /// A lone STRUCT key column is the whole JSON key, even with one field
    /// ({"F1": 1} is the struct, not F1 wrapped); a one-field object named
    /// after a plain key column is still unwrapped.
    @Test func aLoneStructKeyIsTheWholeKey() throws {
        let fx = try SQLCommandTests.Fixture("sql-struct-key")
        try fx.cluster.createTopic("structs", partitions: 1)
        try fx.cluster.createTopic("wrapped", partitions: 1)
        try fx.produce("structs", [#"{"V": 1}"#, #"{"V": 2}"#], keys: [#"{"F1": 1}"#, #"{"F1": 1}"#])
        try fx.produce("wrapped", [#"{"V": 1}"#], keys: [#"{"ID": 7}"#])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM structs (id STRUCT<f1 INT> KEY, v INT) WITH (KAFKA_TOPIC='structs', FORMAT='JSON');
            CREATE TABLE sums AS SELECT id, SUM(id->f1) AS s FROM structs GROUP BY id;
            CREATE STREAM wrapped (id INT KEY, v INT) WITH (KAFKA_TOPIC='wrapped', FORMAT='JSON');
            CREATE STREAM unwrapped AS SELECT id, v FROM wrapped;
            """)
        let last = try fx.topic("SUMS").last.map { "\(String(decoding: $0.key ?? [], as: UTF8.self)) \(String(decoding: $0.value ?? [], as: UTF8.self))" }
        #expect(last == #"{"F1":1} {"S":2}"#)
        #expect(try fx.topic("UNWRAPPED").map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["7"])
    }
}

extension SQLKeyFormatTests {
    /// An AVRO result registers STRUCTs as records and MAPs as maps (they
    /// were strings, which no object fits), and reads back the same.
    @Test func avroResultsHoldStructsAndMaps() throws {
        var fx = try SQLCommandTests.Fixture("sql-avro-struct")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        fx.extraEnvironment["PGK_REGISTRY"] = registry.url
        try fx.cluster.createTopic("src", partitions: 1)
        try fx.produce("src", [#"{"S": {"A": 1, "B": "x", "C": {"D": 2.0}}, "M": {"q": 2}}"#], keys: ["k"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM src (id STRING KEY, s STRUCT<a INT, b STRING, c STRUCT<d DOUBLE>>, m MAP<STRING, INT>)
              WITH (KAFKA_TOPIC='src', VALUE_FORMAT='JSON');
            CREATE STREAM out WITH (VALUE_FORMAT='AVRO') AS SELECT id, s, m FROM src;
            CREATE STREAM back (id STRING KEY, s STRUCT<a INT, b STRING, c STRUCT<d DOUBLE>>, m MAP<STRING, INT>)
              WITH (KAFKA_TOPIC='OUT', VALUE_FORMAT='AVRO');
            CREATE STREAM again WITH (VALUE_FORMAT='JSON') AS SELECT id, s, m FROM back;
            """)
        try fx.catchUp()
        let again = try fx.topic("AGAIN").map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(again == [#"{"S":{"A":1,"B":"x","C":{"D":2.0}},"M":{"q":2}}"#], "\(again)")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters") == [["0"]])
    }
}

extension SQLKeyFormatTests {
    /// FILTER, TRANSFORM and REDUCE results, and a join keyed by a STRUCT,
    /// are written in AVRO with their own types (they were strings, which
    /// no map, array or record fits, and the query stopped).
    @Test func avroResultsTypeLambdasAndStructJoinKeys() throws {
        var fx = try SQLCommandTests.Fixture("sql-avro-lambda")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        fx.extraEnvironment["PGK_REGISTRY"] = registry.url
        for topic in ["nums", "l", "r"] { try fx.cluster.createTopic(topic, partitions: 1) }
        try fx.produce("nums", [#"{"M": {"a": 15, "abc": 7}, "XS": [1, 2, 3]}"#], keys: ["k"])
        try fx.produce("l", [#"{"S": {"F1": 2, "F2": "foo"}, "V": 1}"#], keys: ["a"])
        try fx.produce("r", [#"{"S": {"F1": 2, "F2": "foo"}, "V": 2}"#], keys: ["b"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM nums (id STRING KEY, m MAP<STRING, INT>, xs ARRAY<INT>) WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON');
            CREATE STREAM lambdas WITH (VALUE_FORMAT='AVRO') AS SELECT id, FILTER(m, (k, v) => v > 10) AS big,
              TRANSFORM(xs, x => x * 2) AS doubled, TRANSFORM(m, (k, v) => UCASE(k), (k, v) => v + 1) AS bumped,
              REDUCE(xs, 0, (t, x) => t + x) AS total FROM nums;
            CREATE STREAM lambdas_back (id STRING KEY, big MAP<STRING, INT>, doubled ARRAY<INT>, bumped MAP<STRING, INT>, total INT)
              WITH (KAFKA_TOPIC='LAMBDAS', VALUE_FORMAT='AVRO');
            CREATE STREAM lambdas_json WITH (VALUE_FORMAT='JSON') AS SELECT * FROM lambdas_back;
            CREATE STREAM l (id STRING KEY, s STRUCT<f1 INT, f2 STRING>, v INT) WITH (KAFKA_TOPIC='l', VALUE_FORMAT='JSON');
            CREATE STREAM r (id STRING KEY, s STRUCT<f1 INT, f2 STRING>, v INT) WITH (KAFKA_TOPIC='r', VALUE_FORMAT='JSON');
            CREATE STREAM joined WITH (FORMAT='AVRO') AS SELECT l.s, l.v AS lv, r.v AS rv FROM l JOIN r WITHIN 10 SECONDS ON l.s = r.s;
            """)
        try fx.catchUp()
        let json = try fx.topic("LAMBDAS_JSON").map { String(decoding: $0.value ?? [], as: UTF8.self) }
        #expect(json == [#"{"BIG":{"a":15},"DOUBLED":[2,4,6],"BUMPED":{"A":16,"ABC":8},"TOTAL":6}"#], "\(json)")
        // The key is the record {F1: 2, F2: "foo"}: each field a union's second branch.
        let keys = try fx.topic("JOINED").map { Array(($0.key ?? []).dropFirst(5)) }
        #expect(keys == [[2, 4, 2, 6] + Array("foo".utf8)], "\(keys)")
        #expect(try fx.rows("SELECT count(*)::text FROM pgk_sql.dead_letters") == [["0"]])
        // A value whose type cannot be told is refused when created, not when its first row fails to encode.
        let untyped = try fx.sql(["-e", "CREATE STREAM untyped WITH (VALUE_FORMAT='AVRO') AS SELECT id, CASE WHEN id = 'k' THEN m END AS j FROM nums;"])
        #expect(untyped.status != 0 && untyped.stderr.contains("cannot be told for its AVRO schema"), "\(untyped.stderr)")
    }

    /// BYTES go into AVRO as the bytes themselves (they were PostgreSQL's
    /// `\x…` text), and read back the same.
    @Test func avroBytesRoundTrip() throws {
        var fx = try SQLCommandTests.Fixture("sql-avro-bytes")
        let registry = try SchemaRegistryServer()
        defer { registry.stop() }
        fx.extraEnvironment["PGK_REGISTRY"] = registry.url
        try fx.cluster.createTopic("raw", partitions: 1)
        try fx.produce("raw", [#"{"B": "dmFyaWF0aW9ucw=="}"#], keys: ["k"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM raw (id STRING KEY, b BYTES) WITH (KAFKA_TOPIC='raw', VALUE_FORMAT='JSON');
            CREATE STREAM binary WITH (VALUE_FORMAT='AVRO') AS SELECT * FROM raw;
            CREATE STREAM binary_back (id STRING KEY, b BYTES) WITH (KAFKA_TOPIC='BINARY', VALUE_FORMAT='AVRO');
            CREATE STREAM text_again WITH (VALUE_FORMAT='JSON') AS SELECT * FROM binary_back;
            """)
        // "variations" is 10 bytes: the Avro length 20 (zigzag), after the union branch.
        let avro = try fx.topic("BINARY").map { Array(($0.value ?? []).dropFirst(5)) }
        #expect(avro == [[2, 20] + Array("variations".utf8)], "\(avro)")
        #expect(try fx.topic("TEXT_AGAIN").map { String(decoding: $0.value ?? [], as: UTF8.self) } == [#"{"B":"dmFyaWF0aW9ucw=="}"#])
    }
}
