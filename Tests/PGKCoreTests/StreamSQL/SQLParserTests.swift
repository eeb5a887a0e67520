import Testing
@testable import PGKCore

private func col(_ name: String, _ qualifier: String? = nil) -> Expression { .column(qualifier: qualifier, name: name) }
private func int(_ value: Int64) -> Expression { .literal(.integer(value)) }
private func str(_ value: String) -> Expression { .literal(.string(value)) }
private func bin(_ op: BinaryOperator, _ left: Expression, _ right: Expression) -> Expression {
    .binary(op: op, left, right)
}

private struct NotOneStatement: Error {}

private func statement(_ sql: String) throws -> Statement {
    let parsed = try SQLParser.parseScript(sql)
    guard parsed.count == 1, let first = parsed.first else { throw NotOneStatement() }
    return first.statement
}

private func select(_ sql: String) throws -> Select {
    guard case .select(let select) = try statement(sql) else { throw NotOneStatement() }
    return select
}

private func syntaxError(_ sql: String) -> SQLSyntaxError? {
    do {
        _ = try SQLParser.parseScript(sql)
        return nil
    } catch {
        return error as? SQLSyntaxError
    }
}

/// The statements of the seed's README, verbatim with their line continuations.
private let seedScript = #"""
CREATE STREAM admission_src (student_id INTEGER, gre INTEGER, toefl INTEGER, cpga DOUBLE, admit_chance DOUBLE)\
WITH (KAFKA_TOPIC='dbserver1.public.admission', VALUE_FORMAT='AVRO');
CREATE STREAM admission_src_rekey WITH (PARTITIONS=1) AS \
SELECT * FROM admission_src PARTITION BY student_id;
CREATE TABLE admission (student_id INTEGER, gre INTEGER, toefl INTEGER, cpga DOUBLE, admit_chance DOUBLE)\
WITH (KAFKA_TOPIC='ADMISSION_SRC_REKEY', VALUE_FORMAT='AVRO', KEY='student_id');
CREATE TABLE research_boost AS \
  SELECT a.student_id as student_id, \
         a.admit_chance as admit_chance, \
         r.research as research \
  FROM admission a \
  LEFT JOIN research r on a.student_id = r.student_id;
CREATE TABLE research_ave_boost \
     WITH (KAFKA_TOPIC='research_ave_boost', VALUE_FORMAT='AVRO') \
     AS SELECT research, SUM(admit_chance)/COUNT(admit_chance) as ave_chance \
     FROM research_boost \
     GROUP BY research;
set 'auto.offset.reset'='earliest';
SHOW TOPICS;
"""#

@Suite struct SQLParserTests {
    @Test func parsesTheSeedScript() throws {
        let columns = [
            ColumnDefinition(name: "STUDENT_ID", type: .integer), ColumnDefinition(name: "GRE", type: .integer),
            ColumnDefinition(name: "TOEFL", type: .integer), ColumnDefinition(name: "CPGA", type: .double),
            ColumnDefinition(name: "ADMIT_CHANCE", type: .double),
        ]
        let expected: [Statement] = [
            .createSource(CreateSource(kind: .stream, name: "ADMISSION_SRC", columns: columns, properties: [
                SourceProperty(name: "KAFKA_TOPIC", value: .string("dbserver1.public.admission")),
                SourceProperty(name: "VALUE_FORMAT", value: .string("AVRO")),
            ])),
            .createAsSelect(CreateAsSelect(
                kind: .stream, name: "ADMISSION_SRC_REKEY",
                properties: [SourceProperty(name: "PARTITIONS", value: .integer(1))],
                select: Select(items: [.all(qualifier: nil)], from: Relation(name: "ADMISSION_SRC"),
                               partitionBy: [col("STUDENT_ID")]))),
            .createSource(CreateSource(kind: .table, name: "ADMISSION", columns: columns, properties: [
                SourceProperty(name: "KAFKA_TOPIC", value: .string("ADMISSION_SRC_REKEY")),
                SourceProperty(name: "VALUE_FORMAT", value: .string("AVRO")),
                SourceProperty(name: "KEY", value: .string("student_id")),
            ])),
            .createAsSelect(CreateAsSelect(
                kind: .table, name: "RESEARCH_BOOST", properties: [],
                select: Select(
                    items: [
                        .expression(col("STUDENT_ID", "A"), alias: "STUDENT_ID"),
                        .expression(col("ADMIT_CHANCE", "A"), alias: "ADMIT_CHANCE"),
                        .expression(col("RESEARCH", "R"), alias: "RESEARCH"),
                    ],
                    from: Relation(name: "ADMISSION", alias: "A"),
                    joins: [Join(kind: .left, relation: Relation(name: "RESEARCH", alias: "R"),
                                 condition: bin(.equal, col("STUDENT_ID", "A"), col("STUDENT_ID", "R")))]))),
            .createAsSelect(CreateAsSelect(
                kind: .table, name: "RESEARCH_AVE_BOOST",
                properties: [
                    SourceProperty(name: "KAFKA_TOPIC", value: .string("research_ave_boost")),
                    SourceProperty(name: "VALUE_FORMAT", value: .string("AVRO")),
                ],
                select: Select(
                    items: [
                        .expression(col("RESEARCH"), alias: nil),
                        .expression(bin(.divide, .call(name: "SUM", arguments: [col("ADMIT_CHANCE")]),
                                        .call(name: "COUNT", arguments: [col("ADMIT_CHANCE")])),
                                    alias: "AVE_CHANCE"),
                    ],
                    from: Relation(name: "RESEARCH_BOOST"), groupBy: [col("RESEARCH")]))),
            .set(name: "auto.offset.reset", value: "earliest"),
            .show(.topics),
        ]
        let parsed = try SQLParser.parseScript(seedScript)
        #expect(parsed.map(\.statement) == expected)
    }

    @Test func seedStatementsKeepTextAndPosition() throws {
        let parsed = try SQLParser.parseScript(seedScript)
        #expect(parsed.map(\.position.line) == [1, 3, 5, 7, 13, 18, 19])
        #expect(parsed.allSatisfy { $0.position.column == 1 })
        #expect(parsed.allSatisfy { !$0.text.contains("\\") && !$0.text.hasSuffix(";") })
        #expect(parsed.first?.text == """
            CREATE STREAM admission_src (student_id INTEGER, gre INTEGER, toefl INTEGER, cpga DOUBLE, admit_chance DOUBLE)
            WITH (KAFKA_TOPIC='dbserver1.public.admission', VALUE_FORMAT='AVRO')
            """)
        #expect(parsed.last?.text == "SHOW TOPICS")
    }

    @Test(arguments: [
        ("a OR b AND c", bin(.or, col("A"), bin(.and, col("B"), col("C")))),
        ("a AND b OR c", bin(.or, bin(.and, col("A"), col("B")), col("C"))),
        ("NOT a = 1 AND b", bin(.and, .unary(op: .not, bin(.equal, col("A"), int(1))), col("B"))),
        ("1 + 2 * 3", bin(.add, int(1), bin(.multiply, int(2), int(3)))),
        ("(1 + 2) * 3", bin(.multiply, bin(.add, int(1), int(2)), int(3))),
        ("a - b - c", bin(.subtract, bin(.subtract, col("A"), col("B")), col("C"))),
        ("a / b % c", bin(.modulo, bin(.divide, col("A"), col("B")), col("C"))),
        ("-a * b", bin(.multiply, .unary(op: .minus, col("A")), col("B"))),
        ("a + b || c = d", bin(.equal, bin(.concat, bin(.add, col("A"), col("B")), col("C")), col("D"))),
        ("x->f[1] + 1", bin(.add, .element(.field(col("X"), "F"), int(1)), int(1))),
        ("a.b->c", .field(col("B", "A"), "C")),
        ("a BETWEEN 1 AND 2 AND b", bin(.and, .between(col("A"), low: int(1), high: int(2), negated: false), col("B"))),
        ("a != 1 OR a <> 2", bin(.or, bin(.notEqual, col("A"), int(1)), bin(.notEqual, col("A"), int(2)))),
    ])
    func precedence(text: String, expected: Expression) throws {
        #expect(try SQLParser.parseExpression(text) == expected)
    }

    @Test(arguments: [
        ("a < 1", bin(.less, col("A"), int(1))),
        ("a <= 1", bin(.lessOrEqual, col("A"), int(1))),
        ("a > 1", bin(.greater, col("A"), int(1))),
        ("a >= 1", bin(.greaterOrEqual, col("A"), int(1))),
        ("a IS NULL", .isNull(col("A"), negated: false)),
        ("a is not null", .isNull(col("A"), negated: true)),
        ("a LIKE 'x%'", .like(col("A"), pattern: str("x%"), escape: nil, negated: false)),
        ("a NOT LIKE 'x%'", .like(col("A"), pattern: str("x%"), escape: nil, negated: true)),
        ("a LIKE 'x!%' ESCAPE '!'", .like(col("A"), pattern: str("x!%"), escape: "!", negated: false)),
        ("a BETWEEN 1 AND 5", .between(col("A"), low: int(1), high: int(5), negated: false)),
        ("a NOT BETWEEN 1 AND 5", .between(col("A"), low: int(1), high: int(5), negated: true)),
        ("a IN (1, 2)", .inList(col("A"), [int(1), int(2)], negated: false)),
        ("a NOT IN ('x')", .inList(col("A"), [str("x")], negated: true)),
    ])
    func predicates(text: String, expected: Expression) throws {
        #expect(try SQLParser.parseExpression(text) == expected)
    }

    @Test(arguments: [
        ("count(*)", Expression.call(name: "COUNT", arguments: [], star: true)),
        ("COUNT(DISTINCT x)", .call(name: "COUNT", arguments: [col("X")], distinct: true)),
        ("ucase(name, 'a')", .call(name: "UCASE", arguments: [col("NAME"), str("a")])),
        ("NOW()", .call(name: "NOW", arguments: [])),
        ("CAST(x AS DECIMAL(10, 2))", .cast(col("X"), .decimal(precision: 10, scale: 2))),
        ("CASE WHEN a > 1 THEN 'big' ELSE 'small' END",
         .caseWhen(operand: nil, branches: [(bin(.greater, col("A"), int(1)), str("big"))], otherwise: str("small"))),
        ("CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END",
         .caseWhen(operand: col("A"), branches: [(int(1), str("one")), (int(2), str("two"))], otherwise: nil)),
        ("NULL", .literal(.null)),
        ("true", .literal(.boolean(true))),
        ("FALSE", .literal(.boolean(false))),
        ("1.50", .literal(.decimal("1.50"))),
        ("2E3", .literal(.decimal("2E3"))),
        (".5", .literal(.decimal(".5"))),
        ("'it''s'", str("it's")),
    ])
    func primaries(text: String, expected: Expression) throws {
        #expect(try SQLParser.parseExpression(text) == expected)
    }

    @Test(arguments: [
        ("TUMBLING (SIZE 5 SECONDS)", WindowSpec(kind: .tumbling, sizeMilliseconds: 5_000)),
        ("TUMBLING (SIZE 1 MILLISECOND, GRACE PERIOD 2 DAYS)",
         WindowSpec(kind: .tumbling, sizeMilliseconds: 1, graceMilliseconds: 172_800_000)),
        ("HOPPING (SIZE 1 HOUR, ADVANCE BY 10 MINUTES)",
         WindowSpec(kind: .hopping, sizeMilliseconds: 3_600_000, advanceMilliseconds: 600_000)),
        ("session (30 minute, grace period 1 second)",
         WindowSpec(kind: .session, sizeMilliseconds: 1_800_000, graceMilliseconds: 1_000)),
        ("TUMBLING (SIZE 1 DAY)", WindowSpec(kind: .tumbling, sizeMilliseconds: 86_400_000)),
        ("TUMBLING (SIZE 250 MILLISECONDS)", WindowSpec(kind: .tumbling, sizeMilliseconds: 250)),
    ])
    func windows(text: String, expected: WindowSpec) throws {
        let parsed = try select("SELECT k, COUNT(*) FROM s WINDOW \(text) GROUP BY k EMIT CHANGES")
        #expect(parsed.window == expected)
    }

    @Test func allClausesInKsqlOrder() throws {
        let parsed = try select("""
            SELECT o.id, SUM(o.amount) AS total FROM orders o
            JOIN customers c WITHIN 2 HOURS ON o.cid = c.id
            WINDOW TUMBLING (SIZE 1 MINUTE)
            WHERE o.amount > 0
            GROUP BY o.id
            HAVING SUM(o.amount) > 100
            EMIT CHANGES
            LIMIT 10
            """)
        var expected = Select(
            items: [.expression(col("ID", "O"), alias: nil),
                    .expression(.call(name: "SUM", arguments: [col("AMOUNT", "O")]), alias: "TOTAL")],
            from: Relation(name: "ORDERS", alias: "O"),
            joins: [Join(kind: .inner, relation: Relation(name: "CUSTOMERS", alias: "C"), withinMilliseconds: 7_200_000,
                         condition: bin(.equal, col("CID", "O"), col("ID", "C")))],
            window: WindowSpec(kind: .tumbling, sizeMilliseconds: 60_000),
            filter: bin(.greater, col("AMOUNT", "O"), int(0)),
            groupBy: [col("ID", "O")],
            having: bin(.greater, .call(name: "SUM", arguments: [col("AMOUNT", "O")]), int(100)))
        expected.emitChanges = true
        expected.limit = 10
        #expect(parsed == expected)
    }

    @Test func emitFinalAndSessionWindowsParse() throws {
        let parsed = try select("SELECT k, COUNT(*) FROM s WINDOW SESSION (30 SECONDS, GRACE PERIOD 1 MINUTE) GROUP BY k EMIT FINAL")
        #expect(parsed.emitFinal && !parsed.emitChanges)
        #expect(parsed.window == WindowSpec(kind: .session, sizeMilliseconds: 30_000, graceMilliseconds: 60_000))
    }

    @Test func aWindowMayBeNamed() throws {
        #expect(try select("SELECT k, COUNT(*) FROM s WINDOW w1 SESSION (30 SECONDS) GROUP BY k").window?.kind == .session)
    }

    /// `GROUP BY (a, b)` is one grouping set; `GROUP BY (a + b) * 2` an expression.
    @Test func groupByTakesOneGroupingSet() throws {
        #expect(try select("SELECT a FROM s GROUP BY (a, b) HAVING COUNT(*) > 1").groupBy == [col("A"), col("B")])
        #expect(try select("SELECT a FROM s GROUP BY (a, b)").groupBy == [col("A"), col("B")])
        #expect(try select("SELECT a FROM s GROUP BY (a)").groupBy.count == 1)
        #expect(try select("SELECT a FROM s GROUP BY (a + b) * 2, b").groupBy.count == 2)
    }

    @Test func partitionByMayComeBeforeOrAfterGroupBy() throws {
        let before = try select("SELECT a FROM s PARTITION BY a, b GROUP BY a")
        let after = try select("SELECT a FROM s GROUP BY a PARTITION BY a, b")
        #expect(before.partitionBy == [col("A"), col("B")])
        #expect(before.groupBy == [col("A")])
        #expect(before == after)
    }

    @Test(arguments: [
        ("JOIN", Join.Kind.inner), ("INNER JOIN", .inner), ("LEFT JOIN", .left), ("left outer join", .left),
        ("RIGHT JOIN", .right), ("RIGHT OUTER JOIN", .right), ("FULL JOIN", .full), ("FULL OUTER JOIN", .full),
    ])
    func joinKinds(text: String, kind: Join.Kind) throws {
        let parsed = try select("SELECT * FROM a \(text) b AS bb ON a.k = bb.k")
        #expect(parsed.joins == [Join(kind: kind, relation: Relation(name: "B", alias: "BB"),
                                      condition: bin(.equal, col("K", "A"), col("K", "BB")))])
    }

    @Test func joinWindowsTakeBeforeAfterAndGrace() throws {
        let asymmetric = try select("SELECT * FROM a JOIN b WITHIN (11 SECONDS, 10 SECONDS) GRACE PERIOD 1 MINUTE ON a.k = b.k")
        let join = try #require(asymmetric.joins.first)
        #expect(join.window?.before == 11_000 && join.window?.after == 10_000 && join.graceMilliseconds == 60_000)
        let symmetric = try select("SELECT * FROM a JOIN b WITHIN 2 MILLISECONDS ON a.k = b.k")
        #expect(symmetric.joins.first?.window?.before == 2 && symmetric.joins.first?.window?.after == 2
                && symmetric.joins.first?.graceMilliseconds == nil)
        #expect(throws: SQLSyntaxError.self) { try select("SELECT * FROM a JOIN b WITHIN (1 SECOND) ON a.k = b.k") }
    }

    @Test func insertValuesTakesOptionalColumns() throws {
        #expect(try SQLParser.parseScript("INSERT INTO s (a, b) VALUES (1, 'x');").map { $0.statement }
                == [.insertValues(into: "S", columns: ["A", "B"], values: [int(1), .literal(.string("x"))])])
        #expect(try SQLParser.parseScript("insert into s values (NULL);").map { $0.statement }
                == [.insertValues(into: "S", columns: nil, values: [.literal(.null)])])
    }

    @Test func selectItems() throws {
        let parsed = try select(#"SELECT *, s.*, a AS x, b y, c "Mixed", 1 + 2 FROM src s"#)
        #expect(parsed.items == [
            .all(qualifier: nil), .all(qualifier: "S"), .expression(col("A"), alias: "X"),
            .expression(col("B"), alias: "Y"), .expression(col("C"), alias: "Mixed"),
            .expression(bin(.add, int(1), int(2)), alias: nil),
        ])
        #expect(parsed.from == Relation(name: "SRC", alias: "S"))
    }

    /// Digits followed by letters are an identifier, as in ksqlDB's grammar;
    /// an exponent still makes a number.
    @Test func identifiersMayStartWithDigits() throws {
        let parsed = try select("SELECT v 1r, 2e3 AS x, 3 FROM src")
        #expect(parsed.items == [
            .expression(col("V"), alias: "1R"), .expression(.literal(.decimal("2e3")), alias: "X"), .expression(int(3), alias: nil),
        ])
    }

    @Test func quotedIdentifiersKeepTheirCase() throws {
        let parsed = try select(#"SELECT "camelCase", `tick`, "a""b", s."Col" FROM "MySource" s"#)
        #expect(parsed.items == [
            .expression(col("camelCase"), alias: nil), .expression(col("tick"), alias: nil),
            .expression(col("a\"b"), alias: nil), .expression(col("Col", "S"), alias: nil),
        ])
        #expect(parsed.from.name == "MySource")
    }

    @Test func commentsAreSkipped() throws {
        let parsed = try SQLParser.parseScript("""
            -- the streams
            SHOW STREAMS; /* and the
            tables; */ SHOW /* inline */ TABLES -- trailing
            ;
            """)
        #expect(parsed.map(\.statement) == [.show(.streams), .show(.tables)])
        #expect(parsed.map(\.position) == [SourcePosition(line: 2, column: 1), SourcePosition(line: 3, column: 12)])
        #expect(parsed.last?.text == "SHOW /* inline */ TABLES")
    }

    @Test func lastStatementMayOmitTheSemicolon() throws {
        let parsed = try SQLParser.parseScript("SHOW STREAMS;;\n  LIST tables  ")
        #expect(parsed.map(\.statement) == [.show(.streams), .show(.tables)])
        #expect(parsed.last?.text == "LIST tables")
        #expect(parsed.last?.position == SourcePosition(line: 2, column: 3))
        #expect(try SQLParser.parseScript("  -- nothing\n").isEmpty)
    }

    @Test func createSourceWithEveryTypeAndRole() throws {
        let parsed = try statement("""
            CREATE OR REPLACE TABLE IF NOT EXISTS t (
              id BIGINT PRIMARY KEY, b BOOLEAN, i INT, d DATE, t TIME, ts TIMESTAMP, v VARCHAR, bs BYTES,
              amount DECIMAL(12, 3), tags ARRAY<STRING>, attrs MAP<STRING, ARRAY<INTEGER>>,
              addr STRUCT<street STRING, zip INT>, h ARRAY<BYTES> HEADERS, k STRING KEY
            ) WITH (kafka_topic='t', partitions=3, "Replicas"=1.5, wrap_single_value=false, offset=-2)
            """)
        let expected = CreateSource(
            kind: .table, name: "T",
            columns: [
                ColumnDefinition(name: "ID", type: .bigint, role: .primaryKey),
                ColumnDefinition(name: "B", type: .boolean), ColumnDefinition(name: "I", type: .integer),
                ColumnDefinition(name: "D", type: .date), ColumnDefinition(name: "T", type: .time),
                ColumnDefinition(name: "TS", type: .timestamp), ColumnDefinition(name: "V", type: .string),
                ColumnDefinition(name: "BS", type: .bytes),
                ColumnDefinition(name: "AMOUNT", type: .decimal(precision: 12, scale: 3)),
                ColumnDefinition(name: "TAGS", type: .array(.string)),
                ColumnDefinition(name: "ATTRS", type: .map(.string, .array(.integer))),
                ColumnDefinition(name: "ADDR", type: .struct([("STREET", .string), ("ZIP", .integer)])),
                ColumnDefinition(name: "H", type: .array(.bytes), role: .headers),
                ColumnDefinition(name: "K", type: .string, role: .key),
            ],
            properties: [
                SourceProperty(name: "KAFKA_TOPIC", value: .string("t")),
                SourceProperty(name: "PARTITIONS", value: .integer(3)),
                SourceProperty(name: "REPLICAS", value: .decimal("1.5")),
                SourceProperty(name: "WRAP_SINGLE_VALUE", value: .boolean(false)),
                SourceProperty(name: "OFFSET", value: .integer(-2)),
            ],
            orReplace: true, ifNotExists: true)
        #expect(parsed == .createSource(expected))
    }

    @Test(arguments: [
        ("SHOW STREAMS", Statement.show(.streams)), ("list Tables", .show(.tables)),
        ("SHOW QUERIES EXTENDED", .show(.queries)), ("LIST TOPICS", .show(.topics)),
        ("LIST PROPERTIES", .listProperties), ("SHOW PROPERTIES", .listProperties),
        ("DESCRIBE orders", .describe(name: "ORDERS", extended: false)),
        ("DESCRIBE EXTENDED orders", .describe(name: "ORDERS", extended: true)),
        ("DESCRIBE extended", .describe(name: "EXTENDED", extended: false)),
        ("DROP STREAM IF EXISTS s DELETE TOPIC", .drop(kind: .stream, name: "S", ifExists: true, deleteTopic: true)),
        ("drop table t", .drop(kind: .table, name: "T", ifExists: false, deleteTopic: false)),
        ("TERMINATE CTAS_RESEARCH_BOOST_5", .terminate(queryID: "CTAS_RESEARCH_BOOST_5")),
        ("TERMINATE ALL", .terminate(queryID: nil)),
        ("SET 'it''s'='x y'", .set(name: "it's", value: "x y")),
        ("UNSET 'auto.offset.reset'", .unset(name: "auto.offset.reset")),
    ])
    func otherStatements(text: String, expected: Statement) throws {
        #expect(try statement(text) == expected)
    }

    @Test func createAsSelectWithoutProperties() throws {
        let parsed = try statement("CREATE STREAM IF NOT EXISTS big AS SELECT * FROM s WHERE x > 1 EMIT CHANGES;")
        var select = Select(items: [.all(qualifier: nil)], from: Relation(name: "S"),
                            filter: bin(.greater, col("X"), int(1)))
        select.emitChanges = true
        #expect(parsed == .createAsSelect(CreateAsSelect(kind: .stream, name: "BIG", properties: [], select: select,
                                                         ifNotExists: true)))
    }

    @Test(arguments: [
        ("SELEC * FROM x;", 1, 1, "SELEC", "SELECT"),
        ("SHOW TOPICS;\nCRATE STREAM s (a INT);", 2, 1, "CRATE", "CREATE"),
        ("SELECT *\n  FORM x", 2, 3, "FORM", "FROM"),
        ("SELECT a FORM x", 1, 10, "FORM", "FROM"),
        ("SELECT a FROM x GROUP BYY a", 1, 23, "BYY", "BY"),
        ("SELECT a FROM x WHER a = 1", 1, 17, "WHER", "WHERE"),
        ("SELECT a FROM x GRUOP BY a", 1, 17, "GRUOP", "GROUP"),
        ("SELECT a FROM x LEFT JION y ON a = b", 1, 22, "JION", "JOIN"),
        ("SELECT a FROM x WHERE a = 1 LIMT 5", 1, 29, "LIMT", "LIMIT"),
        ("SELECT a FROM x WINDOW TUMBLING (SIZE 5 SECONS)", 1, 41, "SECONS", "SECONDS"),
        ("CREATE STREM s (a INT)", 1, 8, "STREM", "STREAM"),
        ("CREATE STREAM s (a INTEGR)", 1, 20, "INTEGR", "INTEGER"),
    ])
    func misspelledKeywordsGetASuggestion(sql: String, line: Int, column: Int, token: String, keyword: String) {
        let error = syntaxError(sql)
        #expect(error?.position == SourcePosition(line: line, column: column), "\(sql)")
        #expect(error?.token == token, "\(sql)")
        #expect(error?.suggestion == "did you mean '\(keyword)'?", "\(sql)")
    }

    @Test func errorMessagesSayWhatWasExpectedAndFound() {
        let misspelled = syntaxError("SELEC * FROM x")
        #expect(misspelled?.description == "line 1, column 1: expected SELECT, CREATE, SHOW, LIST, DESCRIBE, ALTER, DROP, "
            + "TERMINATE, SET or UNSET but found 'SELEC' (did you mean 'SELECT'?)")

        let paren = syntaxError("SELECT count(a FROM x")
        #expect(paren == SQLSyntaxError(message: "expected ')' but found 'FROM'",
                                        position: SourcePosition(line: 1, column: 16), token: "FROM"))

        let multiline = syntaxError("SHOW TOPICS;\nSELECT a,\n  FROM x;")
        #expect(multiline?.message == "expected an expression but found 'FROM'")
        #expect(multiline?.position == SourcePosition(line: 3, column: 3))

        let atEnd = syntaxError("SELECT a FROM")
        #expect(atEnd?.message == "expected a stream or table name but found end of input")
        #expect(atEnd?.token == nil)
        #expect(atEnd?.position == SourcePosition(line: 1, column: 14))

        let atSemicolon = syntaxError("CREATE STREAM s (a INT;")
        #expect(atSemicolon?.message == "expected ')' but found ';'")

        let farOff = syntaxError("FOO BAR")
        #expect(farOff?.suggestion == nil)
        #expect(farOff?.token == "FOO")
    }

    @Test(arguments: [
        ("INSERT INTO s VALUES 1;", "expected '(' but found '1'"),
        ("insert into s (a) select a from t", "expected 'VALUES' but found 'select'"),
        ("PRINT 'topic' FROM BEGINNING;", "unsupported statement 'PRINT'"),
        ("SELECT a FROM s EMIT LATER", "expected 'CHANGES' but found 'LATER'"),
        ("SELECT a = b = c FROM s", "expected 'FROM' but found '='"),
        ("SELECT 99999999999999999999 FROM s", "integer 99999999999999999999 is out of range"),
        ("CREATE STREAM s;", "expected '(', 'WITH' or 'AS' but found ';'"),
        ("SELECT * FROM s WINDOW TUMBLING (SIZE 9223372036854775807 DAYS)",
         "duration 9223372036854775807 is too long"),
        ("CREATE STREAM s (a INT) WITH (KAFKA_TOPIC=x)", "expected a string, number or boolean but found 'x'"),
        ("SHOW STREAMS TABLES", "expected end of statement but found 'TABLES'"),
    ])
    func rejects(sql: String, message: String) {
        #expect(syntaxError(sql)?.message == message, "\(sql)")
    }

    @Test func unterminatedStringPointsAtItsQuote() {
        let error = syntaxError("SHOW TOPICS;\nSELECT 'abc FROM x;\nSHOW STREAMS;")
        #expect(error?.message == "unterminated string literal, expected a closing '")
        #expect(error?.position == SourcePosition(line: 2, column: 8))
        #expect(error?.token == "'abc FROM x;")
    }

    @Test func lexicalErrors() {
        #expect(syntaxError("SHOW /* never closed")?.message == "unterminated comment, expected '*/'")
        #expect(syntaxError(#"SELECT "abc FROM x"#)?.message == #"unterminated quoted identifier, expected a closing ""#)
        let backslash = syntaxError(#"SELECT \ a FROM x"#)
        #expect(backslash?.position == SourcePosition(line: 1, column: 8))
        #expect(syntaxError("SELECT a # b FROM x")?.message == "unexpected character '#'")
    }

    @Test func continuationsAllowTrailingBlanks() throws {
        let parsed = try SQLParser.parseScript("SHOW \\  \n  TOPICS")
        #expect(parsed.first?.statement == .show(.topics))
        #expect(parsed.first?.text == "SHOW \n  TOPICS")
    }

    @Test func parseExpressionRejectsTrailingInput() {
        #expect(throws: SQLSyntaxError.self) { try SQLParser.parseExpression("a;") }
        #expect(throws: SQLSyntaxError.self) { try SQLParser.parseExpression("a b") }
        #expect(throws: SQLSyntaxError.self) { try SQLParser.parseExpression("") }
        #expect(throws: SQLSyntaxError.self) { try SQLParser.parseExpression("CASE END") }
    }
}

extension SQLParserTests {
    /// The catalog keeps types as text: a STRUCT field named with spaces
    /// or back quotes reads back as it was declared.
    @Test func typeTextRoundTripsQuotedFieldNames() throws {
        let type = SQLType.struct([("f 1", .integer), ("a`b", .array(.string)), ("PLAIN", .struct([("x y", .double)]))])
        #expect(type.description == "STRUCT<`f 1` INTEGER, `a``b` ARRAY<STRING>, PLAIN STRUCT<`x y` DOUBLE>>")
        #expect(try SQLTypeText.parse(type.description) == type)
    }
}
