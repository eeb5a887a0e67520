import Testing
@testable import PGKCore

/// ksqlDB's date, time and string functions, evaluated by PostgreSQL.
@Suite struct TemporalFunctionsTests {
    @Test func javaPatternsBecomePostgresTemplates() throws {
        #expect(try TemporalFunctions.postgresPattern("yyyy-MM-dd HH:mm:ss.SSS") == "YYYY-MM-DD HH24:MI:SS.MS")
        #expect(try TemporalFunctions.postgresPattern("dd/M/yy h:mm a 'at' EEE") == #"DD/FMMM/YY FMHH12:MI AM "at" Dy"#)
        #expect(try TemporalFunctions.postgresPattern("yyyy-MM-dd'T'HH:mm:ssX") == #"YYYY-MM-DD"T"HH24:MI:SS"Z""#)
        #expect(throws: PlanError("the pattern letter 'QQ' in 'yyyy-QQ' is not supported")) {
            try TemporalFunctions.postgresPattern("yyyy-QQ")
        }
        #expect(try TemporalFunctions.postgresPattern("HH:mm zzz") == "HH24:MI TZ")
        #expect(throws: PlanError("the pattern letter 'zzz' in 'HH:mm zzz' is not supported for reading text")) {
            try TemporalFunctions.postgresPattern("HH:mm zzz", parsing: true)
        }
        // A zone name at the end is split off the text instead (pg_temp.kparsez); not one inside quotes.
        #expect(TemporalFunctions.zoneNameStripped("HH:mm zzz") == "HH:mm ")
        #expect(TemporalFunctions.zoneNameStripped("HH:mm 'zz'") == nil)
        #expect(TemporalFunctions.zoneNameStripped("zzzzz HH:mm") == nil)
    }

    @Test func functionsGiveKsqlDBsResults() throws {
        let connection = try PostgresConnection(conninfo: try TestPostgres.freshDatabase("sql-functions"))
        // The session's helper functions (pg_temp.kparse, …), as a query's planning makes them.
        try CatalogStore(connection: connection, schema: "pgk_sql").prepareAggregates()
        let cases: [(String, String)] = [
            ("TIMESTAMPTOSTRING(1577934245123, 'yyyy-MM-dd HH:mm:ss.SSS')", "2020-01-02 03:04:05.123"),
            ("TIMESTAMPTOSTRING(1577934245123, 'yyyy-MM-dd''T''HH:mm', 'America/New_York')", "2020-01-01T22:04"),
            ("STRINGTOTIMESTAMP('2020-01-02 03:04:05', 'yyyy-MM-dd HH:mm:ss')", "1577934245000"),
            ("STRINGTOTIMESTAMP('2020-01-01 22:04:05', 'yyyy-MM-dd HH:mm:ss', 'America/New_York')", "1577934245000"),
            ("DATETOSTRING(18263, 'yyyy-MM-dd')", "2020-01-02"),
            ("STRINGTODATE('2020-01-02', 'yyyy-MM-dd')", "18263"),
            ("FORMAT_TIMESTAMP(PARSE_TIMESTAMP('02/01/2020 03:04', 'dd/MM/yyyy HH:mm'), 'yyyy-MM-dd HH:mm')", "2020-01-02 03:04"),
            ("ARRAY_CONTAINS(SPLIT('a,b', ','), 'b')", "true"),
            ("ARRAY_LENGTH(SPLIT('abc', ''))", "3"),
            ("SPLIT('', '.')", "{\"\"}"),
            (#"CHR('\u597d')"#, "好"),
            (#"CHR('\ud820\udeb8')"#, "\u{182B8}"),
            (#"CHR('\udeb8') IS NULL"#, "true"),
            ("SPLIT('a..b', '.')", "{a,\"\",b}"),
            // No escape character unless ESCAPE names one (PostgreSQL's default is a backslash).
            (#"'a\b' LIKE 'a\_'"#, "true"),
            ("'a%' LIKE 'a!%' ESCAPE '!'", "true"),
            ("'ab' LIKE 'a!%' ESCAPE '!'", "false"),
            ("REGEXP_EXTRACT('[0-9]+', 'ab123cd')", "123"),
            ("REGEXP_EXTRACT('(a)(b)', 'xab', 2)", "b"),
            ("REGEXP_EXTRACT('(a)(b)', 'xab', 0)", "ab"),
            (#"TIMESTAMPTOSTRING(0, '''say "hi"'' yyyy')"#, #"say "hi" 1970"#),
            ("REGEXP_REPLACE('a-b-c', '-', '+')", "a+b+c"),
            ("INITCAP('hello world')", "Hello World"),
            ("CAST(PARSE_DATE('abcd', 'yyyy-MM-dd') AS STRING) IS NULL", "true"),
            ("CAST(PARSE_DATE('2004', 'yyyy-MM-dd') AS STRING) IS NULL", "true"),
            ("ARRAY_CONCAT(ARRAY[1, 2], ARRAY[3])", "{1,2,3}"),
            (#"EXTRACTJSONFIELD('{"@type": "UDF", "a b": [1, {"c": 2}]}', '$.@type')"#, "UDF"),
            (#"EXTRACTJSONFIELD('{"@type": "UDF", "a b": [1, {"c": 2}]}', '$[''a b''][1].c')"#, "2"),
            (#"EXTRACTJSONFIELD('{"a": "}\"]", "b": [1]}} trailing', '$.b[0]')"#, "1"),
            (#"EXTRACTJSONFIELD('{"a": 1', '$.a') IS NULL"#, "true"),
            (#"EXTRACTJSONFIELD('nope {"a": 1}', '$.a') IS NULL"#, "true"),
            (#"IS_JSON_STRING('"abc"')"#, "true"),
            ("IS_JSON_STRING('abc')", "false"),
            ("IS_JSON_STRING('')", "false"),
            ("IS_JSON_STRING(CAST(NULL AS STRING))", "false"),
            ("JSON_ARRAY_LENGTH('[1, [2, 3], {}]')", "3"),
            ("JSON_ARRAY_LENGTH('{}') IS NULL", "true"),
            (#"JSON_KEYS('{"White": 7, "Pink": {"x": 1}}')"#, "{White,Pink}"),
            ("JSON_KEYS('{}')", "{}"),
            ("JSON_KEYS('[1]') IS NULL", "true"),
            (#"JSON_RECORDS('{"White": "Seven", "N": 3, "O": {"a": [1]}}')"#, #"{"N": "3", "O": "{\"a\": [1]}", "White": "Seven"}"#),
            (#"JSON_ARRAY_CONTAINS('["Pink", null]', 'Pink')"#, "true"),
            ("JSON_ARRAY_CONTAINS('[1, 2]', 3)", "false"),
            ("JSON_ARRAY_CONTAINS(CAST(NULL AS STRING), 3)", "false"),
            ("URL_ENCODE_PARAM('?foo $bar é')", "%3Ffoo+%24bar+%C3%A9"),
            ("URL_ENCODE_PARAM('')", ""),
            // Ties go towards +∞ for DECIMAL too, as ksqlDB's ROUND does.
            ("ROUND(CAST(-2.5 AS DECIMAL(3, 1)))", "-2"),
            ("ROUND(CAST(2.5 AS DECIMAL(3, 1)))", "3"),
            ("ROUND(CAST(-2.6 AS DECIMAL(3, 1)))", "-3"),
            ("ROUND(CAST(-2.55 AS DECIMAL(4, 2)), 1)", "-2.5"),
            ("ROUND(CAST(2.55 AS DECIMAL(4, 2)), 1)", "2.6"),
            ("ROUND(CAST(125 AS DECIMAL(5, 0)), -1)", "130"),
            ("ROUND(-2.5)", "-2"),
            ("ROUND(GEO_DISTANCE(37.4439, -122.1663, 51.5257, -0.1122), 3)", "8634.66"),
            ("ROUND(GEO_DISTANCE(37.4439, -122.1663, 51.5257, -0.1122, 'MI'), 3)", "5365.66"),
            ("GEO_DISTANCE(91, 0, 0, 0) IS NULL", "true"),
            ("MAP_UNION(MAP('a' := 1, 'b' := 2), MAP('b' := 3))", #"{"a": 1, "b": 3}"#),
            ("MAP_UNION(CAST(NULL AS MAP<STRING, INT>), MAP('b' := 3))", #"{"b": 3}"#),
            ("URL_DECODE_PARAM('%3Ffoo+%24bar+%C3%A9')", "?foo $bar é"),
            ("URL_EXTRACT_PROTOCOL('https://test@confluent.io:8080/nested/path?query&jobs')", "https"),
            ("URL_EXTRACT_PROTOCOL('www.confluent.io') IS NULL", "true"),
            ("URL_EXTRACT_HOST('http://test@confluent.io:8080')", "confluent.io"),
            ("URL_EXTRACT_PORT('http://test@confluent.io:8080/nested/path?query&jobs')", "8080"),
            ("URL_EXTRACT_PORT('http://test@confluent.io') IS NULL", "true"),
            ("URL_EXTRACT_PATH('http://www.test.com?query#fragment')", ""),
            ("URL_EXTRACT_PATH('http://test@confluent.io:8080/nested/path?query&jobs')", "/nested/path"),
            ("URL_EXTRACT_QUERY('http://www.test.com/path?q1&q2')", "q1&q2"),
            ("URL_EXTRACT_QUERY('http://test@confluent.io:8080/path') IS NULL", "true"),
            ("URL_EXTRACT_FRAGMENT('http://www.test.com/?query#fragment')", "fragment"),
            ("URL_EXTRACT_FRAGMENT('http://www.nofragment.com') IS NULL", "true"),
            ("URL_EXTRACT_PARAMETER('http://www.test.com/?one=a&two=url%20encoded&three', 'two')", "url%20encoded"),
            ("URL_EXTRACT_PARAMETER('http://www.test.com/?one=a&two=b&three', 'three')", ""),
            ("URL_EXTRACT_PARAMETER('http://www.test.com/?one=a', 'four') IS NULL", "true"),
            // Java ZoneIds: an offset's sign is ISO's, not POSIX's; a TIME stays a TIME.
            ("CONVERT_TZ(FROM_UNIXTIME(100), '+0200', '+0500')", "1970-01-01 03:00:00.1"),
            ("CONVERT_TZ(FROM_UNIXTIME(100), 'UTC-01:30', 'Z')", "1970-01-01 01:30:00.1"),
            ("CONVERT_TZ(CAST('23:59:59' AS TIME), 'America/Los_Angeles', 'America/New_York')", "02:59:59"),
            ("TIMESTAMPTOSTRING(0, 'HH:mm', '+02')", "02:00"),
            ("TIMESTAMPTOSTRING(0, 'HH:mm', 'America/New_York')", "19:00"),
            ("TIMESTAMPTOSTRING(1526075913000, 'yyyy-MM-dd HH:mm:ss zzz', 'America/Los_Angeles')", "2018-05-11 14:58:33 PDT"),
            ("FORMAT_TIMESTAMP(FROM_UNIXTIME(1526075913000), 'HH:mm z', 'Europe/London')", "22:58 BST"),
            ("TIMESTAMPTOSTRING(0, 'HH:mm z')", "00:00 UTC"),
            // A zone name ending the text is read as its region, summer time included (PST in May is -7, as Java reads it).
            ("STRINGTOTIMESTAMP('2018-05-11T21:58:33 PST', 'yyyy-MM-dd''T''HH:mm:ss zzz')", "1526101113000"),
            ("STRINGTOTIMESTAMP('2018-01-11 21:58 EST', 'yyyy-MM-dd HH:mm z', 'Asia/Tokyo')", "1515725880000"),
            ("FORMAT_TIMESTAMP(PARSE_TIMESTAMP('2018-05-11 21:58 GMT', 'yyyy-MM-dd HH:mm z'), 'HH:mm')", "21:58"),
            ("PARSE_TIMESTAMP('2018-05-11 21:58 +0200', 'yyyy-MM-dd HH:mm z') = FROM_UNIXTIME(1526068680000)", "true"),
            ("PARSE_TIMESTAMP('2018-05-11 21:58 Nowhere/Else', 'yyyy-MM-dd HH:mm z') IS NULL", "true"),
            ("STRINGTOTIMESTAMP('2018-05-11 21:58', 'yyyy-MM-dd HH:mm z') IS NULL", "true"),
            // A pattern from an expression (a column, say) is converted row by row.
            ("FORMAT_DATE(FROM_DAYS(18263), CONCAT('yyyy-', 'MM-dd'))", "2020-01-02"),
            ("CAST(PARSE_DATE('2020-01-02', CONCAT('yyyy', '-MM-dd')) AS STRING)", "2020-01-02"),
            ("TIMESTAMPTOSTRING(1526075913000, CONCAT('HH:mm ', 'zzz'), 'America/Los_Angeles')", "14:58 PDT"),
            // A DOUBLE as a STRING is Java's Double.toString.
            ("CAST(CAST(0 AS DOUBLE) AS STRING)", "0.0"),
            ("CAST(CAST(-23.42 AS DOUBLE) AS STRING)", "-23.42"),
            ("CAST(CAST(1200 AS DOUBLE) AS STRING)", "1200.0"),
            ("CAST(CAST(0.001 AS DOUBLE) AS STRING)", "0.001"),
            ("CAST(CAST(0.0001234 AS DOUBLE) AS STRING)", "1.234E-4"),
            ("CAST(CAST(12345678.9 AS DOUBLE) AS STRING)", "1.23456789E7"),
            ("CAST(CAST(-10000000 AS DOUBLE) AS STRING)", "-1.0E7"),
            // ARRAY_JOIN writes elements as Java does; a NULL delimiter is none. Booleans order false first.
            ("ARRAY_JOIN(ARRAY[true, CAST(NULL AS BOOLEAN), false])", "true,null,false"),
            ("ARRAY_JOIN(ARRAY[CAST(1.5 AS DOUBLE), CAST(0 AS DOUBLE)], '|')", "1.5|0.0"),
            ("ARRAY_JOIN(ARRAY[1, 23], CAST(NULL AS STRING))", "123"),
            ("ARRAY_MAX(ARRAY[false, true, false])", "true"),
            // ENCODE reads hex as ksqlDB does (0x, odd digits, X'…') and writes it in lower case; ASCII as Java's codec.
            ("ENCODE('0x578616d706C6521', 'hex', 'base64')", "BXhhbXBsZSE="),
            ("ENCODE('X''4578616d706C6521''', 'hex', 'ascii')", "Example!"),
            ("ENCODE('x''578616d706C6521''', 'hex', 'utf8') IS NULL", "true"),
            ("ENCODE('Ελλάδα', 'ascii', 'hex')", "3f3f3f3f3f3f"),
            ("ENCODE('zpXOu867zqzOtM6x', 'base64', 'ascii')", String(repeating: "\u{FFFD}", count: 12)),
            ("ENCODE(CAST(NULL AS STRING), 'base64', 'ascii') IS NULL", "true"),
            ("ARRAY_MIN(ARRAY[false, true, false])", "false"),
            // Jackson's compact text: declared STRUCT order, ISO times, base64, Java doubles.
            ("TO_JSON_STRING(1)", "1"),
            ("TO_JSON_STRING(CAST(NULL AS INT))", "null"),
            (#"TO_JSON_STRING('a"b')"#, #""a\"b""#),
            ("TO_JSON_STRING(CAST(2 AS DOUBLE))", "2.0"),
            ("TO_JSON_STRING(123.456e0)", "123.456"),
            ("TO_JSON_STRING(CAST(123.456 AS DECIMAL(6, 3)))", "123.456"),
            ("TO_JSON_STRING(TO_BYTES('IQ==', 'base64'))", #""IQ==""#),
            ("TO_JSON_STRING(FROM_DAYS(1000))", #""1972-09-27""#),
            ("TO_JSON_STRING(CAST('16:43:40' AS TIME))", #""16:43:40""#),
            ("TO_JSON_STRING(FROM_UNIXTIME(60220000000))", #""1971-11-28T23:46:40.000""#),
            ("TO_JSON_STRING(ARRAY[1, 2, 3])", "[1,2,3]"),
            ("TO_JSON_STRING(STRUCT(NAME := 'Alice', ID := 1))", #"{"NAME":"Alice","ID":1}"#),
            ("TO_JSON_STRING(MAP('id' := ARRAY[1, 2]))", #"{"id":[1,2]}"#),
            ("TO_JSON_STRING(ARRAY[STRUCT(A := CAST(NULL AS STRING)), STRUCT(A := 'x')])", #"[{"A":null},{"A":"x"}]"#),
        ]
        // pg_temp.kpattern, for patterns known only per row, converts as postgresPattern does.
        for java in ["yyyy-MM-dd HH:mm:ss.SSS", "dd/M/yy h:mm a 'at' EEE", "yyyy-MM-dd'T'HH:mm:ssX", "''d'' MMM \\ \"-\"", "HH:mm zzz"] {
            let converted = try connection.query("SELECT pg_temp.kpattern($1, false)", [java]).scalar
            #expect(converted == (try TemporalFunctions.postgresPattern(java)), "\(java)")
        }
        for (expression, expected) in cases {
            var translator = ExpressionTranslator(parameterOffset: 0) { _, name in throw PlanError("unknown column \(name)") }
            let sql = try translator.sql(try SQLParser.parseExpression(expression))
            do {
                let got = try connection.query("SELECT (\(sql))::text", translator.parameters).scalar
                #expect(got == expected, "\(expression) → \(sql)")
            } catch {
                Issue.record("\(expression) → \(sql): \(error)")
            }
        }
    }
}
