/// ksqlDB's numeric functions. They follow Java's Math: where PostgreSQL
/// would raise an error (the log of 0, the root of a negative number, an
/// arc sine outside [-1, 1]) ksqlDB returns NaN or ±Infinity, and one bad
/// record must not fail its batch. Results are DOUBLE unless ksqlDB keeps
/// the argument's type (ABS, CEIL, FLOOR, ROUND over integers and decimals).
enum MathFunctions {
    private static let nan = "CAST('NaN' AS double precision)"
    private static func double(_ sql: String) -> String { "CAST(\(sql) AS double precision)" }

    /// `f(x)` over DOUBLE, NaN where x leaves the function's domain.
    private static func guarded(_ name: String, nanWhen condition: @escaping @Sendable (String) -> String) -> ScalarFunction {
        ScalarFunction(arity: 1...1) { a in
            "(CASE WHEN \(condition(a[0])) THEN \(nan) ELSE \(name)(\(double(a[0]))) END)"
        }
    }

    private static func onDouble(_ name: String) -> ScalarFunction {
        ScalarFunction(arity: 1...1) { a in "\(name)(\(double(a[0])))" }
    }

    /// ln as Java's Math.log: NaN below 0, -Infinity at 0.
    private static func naturalLog(_ x: String) -> String {
        "(CASE WHEN \(x) < 0 THEN \(nan) WHEN \(x) = 0 THEN CAST('-Infinity' AS double precision) ELSE ln(\(double(x))) END)"
    }

    /// Integers are already whole: CEIL, FLOOR and ROUND keep them as they are.
    private static func isWhole(_ type: SQLType?) -> Bool { type == .integer || type == .bigint }

    static let functions: [String: ScalarFunction] = [
        "ABS": .plain("abs", 1...1),
        "CEIL": ScalarFunction(arity: 1...1, typed: { a, types in
            isWhole(types[0]) ? a[0] : "ceil(\(a[0]))"
        }),
        "FLOOR": ScalarFunction(arity: 1...1, typed: { a, types in
            isWhole(types[0]) ? a[0] : "floor(\(a[0]))"
        }),
        // As ksqlDB rounds: a tie goes towards +∞, for DOUBLE (Math.round)
        // and for DECIMAL alike (HALF_UP above zero, HALF_DOWN below), so
        // -2.5 is -2 (PostgreSQL's round would say -3). ROUND of a whole
        // number or a DOUBLE is a BIGINT; with a scale a DOUBLE stays one,
        // computed on the shortest decimal text of the double so no binary
        // digits creep in.
        "ROUND": ScalarFunction(arity: 1...2, typed: { a, types in
            if isWhole(types[0]) { return "CAST(\(a[0]) AS bigint)" }
            if case .decimal? = types[0] {
                guard a.count == 2 else { return "floor(\(a[0]) + 0.5)" }
                let scale = "power(CAST(10 AS numeric), \(a[1]))"
                return "round(floor(\(a[0]) * \(scale) + 0.5) / \(scale), \(a[1]))"
            }
            guard a.count == 2 else { return "CAST(floor(\(a[0]) + 0.5) AS bigint)" }
            let exact = "CAST(CAST(\(a[0]) AS text) AS numeric)", scale = "power(CAST(10 AS numeric), \(a[1]))"
            return "CAST(floor(\(exact) * \(scale) + 0.5) / \(scale) AS double precision)"
        }),
        "SIGN": ScalarFunction(arity: 1...1) { a in "CAST(sign(\(a[0])) AS integer)" },
        "SQRT": guarded("sqrt") { "\($0) < 0" },
        "CBRT": onDouble("cbrt"),
        "EXP": ScalarFunction(arity: 1...1) { a in
            // exp overflows past about 709.78; Java says Infinity.
            "(CASE WHEN \(a[0]) > 709.78 THEN CAST('Infinity' AS double precision) ELSE exp(\(double(a[0]))) END)"
        },
        "LN": ScalarFunction(arity: 1...1) { a in naturalLog(a[0]) },
        // LOG(x) is the natural log; LOG(base, x) is NaN for a base ≤ 0 or 1.
        "LOG": ScalarFunction(arity: 1...2) { a in
            guard a.count == 2 else { return naturalLog(a[0]) }
            return "(CASE WHEN \(a[0]) IS NULL OR \(a[1]) IS NULL THEN NULL WHEN \(a[0]) <= 0 OR \(a[0]) = 1 THEN \(nan) "
                + "ELSE \(naturalLog(a[1])) / ln(\(double(a[0]))) END)"
        },
        "POWER": ScalarFunction(arity: 2...2) { a in
            let base = double(a[0]), exponent = double(a[1])
            // PostgreSQL fails where the result leaves the double's range; Java
            // says ±Infinity or 0.
            let magnitude = "ln(abs(\(base))) * \(exponent)"
            let oddNegative = "\(base) < 0 AND \(exponent) - 2 * floor(\(exponent) / 2) = 1"
            return "(CASE WHEN \(base) = 0 AND \(exponent) < 0 THEN CAST('Infinity' AS double precision) "
                + "WHEN \(base) < 0 AND \(exponent) <> floor(\(exponent)) THEN \(nan) "
                + "WHEN \(base) <> 0 AND \(magnitude) > 709 THEN CASE WHEN \(oddNegative) "
                + "THEN CAST('-Infinity' AS double precision) ELSE CAST('Infinity' AS double precision) END "
                + "WHEN \(base) <> 0 AND \(magnitude) < -744 THEN 0 ELSE power(\(base), \(exponent)) END)"
        },
        "PI": ScalarFunction(arity: 0...0) { _ in "pi()" },
        "DEGREES": onDouble("degrees"), "RADIANS": onDouble("radians"),
        "SIN": onDouble("sin"), "COS": onDouble("cos"), "TAN": onDouble("tan"), "COT": onDouble("cot"),
        "SINH": onDouble("sinh"), "COSH": onDouble("cosh"), "TANH": onDouble("tanh"),
        "ASIN": guarded("asin") { "\($0) < -1 OR \($0) > 1" },
        "ACOS": guarded("acos") { "\($0) < -1 OR \($0) > 1" },
        "ATAN": onDouble("atan"),
        "ATAN2": ScalarFunction(arity: 2...2) { a in "atan2(\(double(a[0])), \(double(a[1])))" },
        "RANDOM": ScalarFunction(arity: 0...0) { _ in "random()" },
        // The great-circle (haversine) distance on a sphere of 6371 km or 3959
        // miles ('MI', 'MILE', 'MILES'), as ksqlDB computes it; NULL for a
        // latitude or longitude out of range, or another unit.
        "GEO_DISTANCE": ScalarFunction(arity: 4...5) { a in
            let (lat1, lon1, lat2, lon2) = (double(a[0]), double(a[1]), double(a[2]), double(a[3]))
            let unit = a.count == 5 ? "upper(trim(\(a[4])))" : "'KM'"
            let radius = "(CASE WHEN \(unit) IN ('KM', 'KILOMETER', 'KILOMETERS', 'KILOMETRE', 'KILOMETRES') THEN 6371.0 "
                + "WHEN \(unit) IN ('MI', 'MILE', 'MILES') THEN 3959.0 END)"
            let haversine = "power(sin(radians(\(lat2) - \(lat1)) / 2), 2) + cos(radians(\(lat1))) * cos(radians(\(lat2))) "
                + "* power(sin(radians(\(lon2) - \(lon1)) / 2), 2)"
            return "(CASE WHEN abs(\(lat1)) <= 90 AND abs(\(lat2)) <= 90 AND abs(\(lon1)) <= 180 AND abs(\(lon2)) <= 180 "
                + "THEN \(radius) * 2 * asin(sqrt(\(haversine))) END)"
        },
        "GREATEST": extreme("greatest"), "LEAST": extreme("least"),
    ]

    /// GREATEST and LEAST as ksqlDB resolves them: one type for all
    /// arguments (numbers widen to DOUBLE only when one is a DOUBLE), and
    /// text compared with a DATE, TIME or TIMESTAMP read as one.
    private static func extreme(_ pgName: String) -> ScalarFunction {
        var function = ScalarFunction(arity: 1...64, typed: { a, types in
            let temporal = types.first { [.date, .time, .timestamp].contains($0) } ?? nil
            let args = zip(a, types).map { sql, type in
                temporal != nil && type == .string ? "CAST(\(sql) AS \((try? PostgresType.of(temporal!)) ?? "text"))" : sql
            }
            return "\(pgName)(\(args.joined(separator: ", ")))"
        })
        function.prepare = { arguments, types in
            let nulls = arguments.map { $0 == .literal(.null) }
            let known = zip(types, nulls).filter { !$1 }.compactMap { $0.0 }
            let name = pgName.uppercased()
            guard nulls.contains(false) else { throw PlanError("\(name) of only NULLs has no type") }
            let numbers = known.filter { ComparisonFamily($0) == .number }
            if !numbers.isEmpty && numbers.count < known.count {
                throw PlanError("\(name) cannot compare numbers with \(known.first { !numbers.contains($0) }!)")
            }
            // DECIMALs of any precision are one kind; INT, BIGINT and DECIMAL mixed are ambiguous.
            let kinds = Set(numbers.map { type -> String in if case .decimal = type { return "DECIMAL" } else { return "\(type)" } })
            if kinds.count > 1 && !numbers.contains(.double) {
                throw PlanError("\(name) of \(numbers.map { "\($0)" }.joined(separator: ", ")) is ambiguous: CAST the arguments to one type")
            }
            return arguments
        }
        return function
    }
}
