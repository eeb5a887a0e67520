import Testing
@testable import PGKCore

/// ksqlDB expressions → PostgreSQL: literals become parameters, columns
/// resolve through the planner's scope, ksqlDB's NULL-on-error division.
@Suite struct ExpressionTranslatorTests {
    static func translate(_ text: String, offset: Int = 0) throws -> (sql: String, parameters: [String?], aggregates: Bool) {
        var translator = ExpressionTranslator(parameterOffset: offset) { qualifier, name in
            guard ["ID", "NAME", "SCORE", "TAGS"].contains(name) else { throw PlanError("unknown column \(name)") }
            return "\(qualifier == nil ? "i0" : "i1").\"\(name.lowercased())\""
        }
        let sql = try translator.sql(try SQLParser.parseExpression(text))
        return (sql, translator.parameters, translator.usesAggregates)
    }

    @Test func literalsAreParametersNeverSQLText() throws {
        let result = try Self.translate("name = 'x''; DROP TABLE t; --' AND id > 2147483648 OR score < 1.5", offset: 2)
        #expect(result.sql == #"(((i0."name" = $3::text) AND (i0."id" > $4::bigint)) OR (i0."score" < $5::numeric))"#)
        #expect(result.parameters == ["x'; DROP TABLE t; --", "2147483648", "1.5"])
    }

    @Test func arrayMapAndStructConstructors() throws {
        #expect(try Self.translate("ARRAY[id, 2]").sql == #"ARRAY[i0."id", $1::integer]"#)
        #expect(try Self.translate("MAP('a' := id)").sql == #"jsonb_build_object($1::text, i0."id")"#)
        let made = try Self.translate("STRUCT(town := name, n := 1)")
        #expect(made.sql == #"jsonb_build_object($1::text, i0."name", $2::text, $3::integer)"#)
        #expect(made.parameters == ["TOWN", "N", "1"])
    }

    @Test func filterAndTransformTakeLambdas() throws {
        let filtered = try Self.translate("FILTER(tags, x => x > 5)")
        #expect(filtered.sql == #"CASE WHEN i0."tags" IS NULL THEN NULL ELSE ARRAY(SELECT pgk_l1.e FROM unnest(i0."tags") "#
            + #"WITH ORDINALITY AS pgk_l1(e, o) WHERE (pgk_l1.e > $1::integer) ORDER BY pgk_l1.o) END"#)
        let nested = try Self.translate("TRANSFORM(tags, (t) => ARRAY_LENGTH(FILTER(tags, u => u = t)))").sql
        #expect(nested.contains("pgk_l2.e = pgk_l1.e"), "\(nested)")
        #expect(throws: PlanError.self) { try Self.translate("FILTER(tags, (k, v) => v > 1)") }
        #expect(throws: PlanError.self) { try Self.translate("x => x") }
    }

    /// Declared types reach the translator: map values and struct fields
    /// leave jsonb as their own type, and `+` joins strings.
    static func typed(_ text: String) throws -> String {
        let types: [String: SQLType] = [
            "M": .map(.string, .integer), "S": .struct([("Town", .string), ("N", .bigint), ("Inner", .struct([("X", .double)]))]),
            "NAME": .string, "ID": .integer, "NS": .array(.map(.string, .double)), "B": .bytes,
            "FLAG": .boolean, "D": .double,
        ]
        var translator = ExpressionTranslator { _, name in
            guard types[name] != nil else { throw PlanError("unknown column \(name)") }
            return "i0.\"\(name.lowercased())\""
        }
        translator.columnType = { _, name in types[name] }
        return try translator.sql(try SQLParser.parseExpression(text))
    }

    @Test func typedMapStructAndStringAccess() throws {
        #expect(try Self.typed("M['a'] > 1") == #"(CAST((i0."m" ->> CAST($1::text AS text)) AS integer) > $2::integer)"#)
        #expect(try Self.typed("S->TOWN") == #"CAST((i0."s" ->> $1::text) AS text)"#)
        #expect(try Self.typed("S->N + ID") == #"(CAST((i0."s" ->> $1::text) AS bigint) + i0."id")"#)
        // A nested struct stays jsonb until its scalar field is read.
        #expect(try Self.typed("S->INNER->X") == #"CAST(((i0."s" -> $1::text) ->> $2::text) AS double precision)"#)
        #expect(try Self.typed("NAME + '!' + S->TOWN") == #"((i0."name" || $1::text) || CAST((i0."s" ->> $2::text) AS text))"#)
        #expect(try Self.typed("ID + 1") == #"(i0."id" + $1::integer)"#)
        // BYTES concatenate as bytes, not as their text forms.
        #expect(try Self.typed("CONCAT(B, B)") == "coalesce((SELECT string_agg(u.x, '\\x'::bytea ORDER BY u.o) "
            + #"FROM unnest(ARRAY[CAST(i0."b" AS bytea), CAST(i0."b" AS bytea)]) WITH ORDINALITY AS u(x, o)), '\x'::bytea)"#)
        #expect(try Self.typed("CONCAT(NAME, 'x')") == #"concat(i0."name", $1::text)"#)
        // ksqlDB's type rules, checked when the statement is created.
        #expect(throws: PlanError.self) { try Self.typed("S < S") }
        #expect(throws: PlanError.self) { try Self.typed("CAST(NAME AS ARRAY<INT>)") }
        #expect(throws: PlanError.self) { try Self.typed("CASE WHEN ID > 1 THEN NULL ELSE NULL END") }
        #expect(try Self.typed("CAST(S AS STRING)").contains("'Struct{' || concat_ws(','"))
        #expect(try Self.typed("CAST(NS AS STRING)") == #"('[' || array_to_string(i0."ns", ', ', 'null') || ']')"#)
        #expect(try Self.typed("TRANSFORM(NS, x => x['k'])").contains(#"CAST((pgk_l1.e ->> CAST($1::text AS text)) AS double precision)"#))
    }

    /// IN converts its literals to the operand's type when the statement
    /// is created, drops those no value can equal, and rejects the rest.
    @Test func inListLiteralsTakeTheOperandsType() throws {
        #expect(try Self.typed("ID IN (1, 2.0, '4.000', 5.10, '2147483648')") == #"(i0."id" IN ($1::integer, $2::integer, $3::integer))"#)
        #expect(try Self.typed("NAME IN (true, 10, 10.30)") == #"(i0."name" IN ($1::text, $2::text, $3::text))"#)
        #expect(try Self.typed("FLAG IN ('TrUe', 'n', FLAG)") == #"(i0."flag" IN (TRUE, FALSE, i0."flag"))"#)
        #expect(try Self.typed("D IN ('4.5', ID, NULL)") == #"(i0."d" IN ($1::numeric, i0."id", NULL))"#)
        #expect(try Self.typed("ID NOT IN (1.5)") == #"(CASE WHEN i0."id" IS NULL THEN NULL ELSE TRUE END)"#)
        for bad in ["ID IN (10, 'ten')", "ID IN (10, true)", "ID IN (NAME)", "FLAG IN ('maybe')", "FLAG IN (1)", "NAME IN (D)"] {
            #expect(throws: PlanError.self, "\(bad)") { try Self.typed(bad) }
        }
    }

    @Test func isDistinctFrom() throws {
        #expect(try Self.translate("id IS DISTINCT FROM score").sql == #"(i0."id" IS DISTINCT FROM i0."score")"#)
        #expect(try Self.translate("id IS NOT DISTINCT FROM 1").sql == #"(i0."id" IS NOT DISTINCT FROM $1::integer)"#)
    }

    @Test func divisionByZeroIsNullAsInKsqlDB() throws {
        #expect(try Self.translate("score / id").sql == #"(i0."score" / NULLIF(i0."id", 0))"#)
        #expect(try Self.translate("score % 2").sql == #"(i0."score" % NULLIF($1::integer, 0))"#)
    }

    @Test func predicatesCastAndCase() throws {
        #expect(try Self.translate("name NOT LIKE 'a%'").sql == #"(i0."name" NOT LIKE $1::text ESCAPE '')"#)
        #expect(try Self.translate("id BETWEEN 1 AND 3").sql == #"(i0."id" BETWEEN $1::integer AND $2::integer)"#)
        #expect(try Self.translate("id NOT IN (1, 2)").sql == #"(i0."id" NOT IN ($1::integer, $2::integer))"#)
        #expect(try Self.translate("name IS NOT NULL").sql == #"(i0."name" IS NOT NULL)"#)
        #expect(try Self.translate("CAST(id AS STRING)").sql == #"CAST(i0."id" AS text)"#)
        #expect(try Self.translate("CAST(score AS DECIMAL(10, 2))").sql
                == #"CAST(CASE WHEN abs(round(CAST(i0."score" AS numeric), 2)) < 100000000 THEN round(CAST(i0."score" AS numeric), 2) END AS numeric(10, 2))"#)
        #expect(try Self.translate("CASE WHEN id > 1 THEN 'big' ELSE 'small' END").sql
                == #"CASE WHEN (i0."id" > $1::integer) THEN $2::text ELSE $3::text END"#)
        #expect(try Self.translate("b.id").sql == #"i1."id""#)
    }

    @Test func aggregatesFollowKsqlDBSemantics() throws {
        let average = try Self.translate("AVG(score)")
        // ksqlDB's AVG and SUM of no values are 0, not NULL.
        #expect(average.sql == #"coalesce(CAST(avg(i0."score") AS double precision), 0.0)"# && average.aggregates)
        #expect(try Self.translate("SUM(score)").sql == #"coalesce(pg_temp.ksum(i0."score"), 0)"#)
        #expect(try Self.translate("COUNT(*)").sql == "count(*)")
        #expect(try Self.translate("COUNT_DISTINCT(name)").sql == #"count(DISTINCT i0."name")"#)
        // LATEST_BY_OFFSET ignores NULLs and orders by arrival.
        #expect(try Self.translate("LATEST_BY_OFFSET(name)").sql
                == #"pg_temp.klast(i0."name" ORDER BY _seq) FILTER (WHERE i0."name" IS NOT NULL)"#)
        #expect(try Self.translate("COLLECT_LIST(id)").sql == #"(array_agg(i0."id" ORDER BY _seq))[1:1000]"#)
        #expect(try !Self.translate("UCASE(name)").aggregates)
    }

    @Test func unknownFunctionsAndColumnsAreErrorsWithSuggestions() throws {
        #expect(throws: PlanError("unknown function UCAS (did you mean UCASE?)")) { try Self.translate("UCAS(name)") }
        #expect(throws: PlanError("SUBSTRING takes 2–3 argument(s), not 1")) { try Self.translate("SUBSTRING(name)") }
        #expect(throws: PlanError("unknown column NAM")) { try Self.translate("NAM") }
    }

    @Test func catalogTypeTextRoundTrips() throws {
        for type: SQLType in [.integer, .decimal(precision: 10, scale: 2), .array(.string), .map(.string, .bigint),
                              .struct([("A", .integer), ("B", .array(.double))])] {
            #expect(try SQLTypeText.parse(type.description) == type)
        }
    }

    /// Errors quote expressions as SQL, whatever their kind (they printed Swift's dump of lambdas, CASE, LIKE…).
    @Test func expressionsReadBackAsSQL() throws {
        let text = "CASE WHEN REDUCE(xs, 0, (s, x) => s + x) < 20 THEN FILTER(ys, y => y IS NOT NULL) END"
        let first = try SQLParser.parseExpression(text).sqlText
        #expect(first == "CASE WHEN (REDUCE(XS, 0, (S, X) => (S + X)) < 20) THEN FILTER(YS, Y => Y IS NOT NULL) END", "\(first)")
        let second = try SQLParser.parseExpression("a NOT LIKE 'x%' ESCAPE '!' OR b BETWEEN 1 AND 2 OR c IN (1, 'z')").sqlText
        #expect(second == "((A NOT LIKE 'x%' ESCAPE '!' OR B BETWEEN 1 AND 2) OR C IN (1, 'z'))", "\(second)")
        let error = try #require(throws: PlanError.self) { try Self.translate("REDUCE(ARRAY[1], 0, (s, x) => s + x) = 'a'") }
        #expect(!error.description.contains("PGKCore") && error.description.contains("(S, X) => (S + X)"), "\(error)")
    }
}
