/// ksqlDB scalar functions with a PostgreSQL equivalent.
struct ScalarFunction: Sendable {
    var arity: ClosedRange<Int>
    var render: @Sendable ([String]) -> String
    /// Used instead of `render` where the result depends on the
    /// arguments' ksqlDB types (nil where the translator cannot tell).
    var typed: (@Sendable ([String], [SQLType?]) -> String)?
    /// Run on the arguments and their types (nil where unknown) when the
    /// statement is created: rejects what ksqlDB refuses, and may rewrite
    /// literals to the type they stand beside.
    var prepare: (@Sendable ([Expression], [SQLType?]) throws -> [Expression])?

    init(arity: ClosedRange<Int>, render: @escaping @Sendable ([String]) -> String,
         typed: (@Sendable ([String], [SQLType?]) -> String)? = nil) {
        self.arity = arity
        self.render = render
        self.typed = typed
    }

    /// A function whose SQL always depends on its arguments' types.
    init(arity: ClosedRange<Int>, typed: @escaping @Sendable ([String], [SQLType?]) -> String) {
        self.init(arity: arity, render: { typed($0, Array(repeating: nil, count: $0.count)) }, typed: typed)
    }

    var arityText: String { arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound)–\(arity.upperBound)" }

    static func plain(_ pgName: String, _ arity: ClosedRange<Int>) -> ScalarFunction {
        ScalarFunction(arity: arity) { "\(pgName)(\($0.joined(separator: ", ")))" }
    }

    /// The function called `name`, among all `pgk sql` knows.
    static func named(_ name: String) -> ScalarFunction? {
        general[name] ?? StringFunctions.functions[name] ?? MathFunctions.functions[name]
            ?? CollectionFunctions.functions[name] ?? TemporalFunctions.functions[name] ?? BytesFunctions.functions[name]
            ?? JSONFunctions.functions[name] ?? URLFunctions.functions[name]
    }

    static var allNames: [String] {
        Array(general.keys) + Array(StringFunctions.functions.keys) + Array(MathFunctions.functions.keys)
            + Array(CollectionFunctions.functions.keys) + Array(TemporalFunctions.functions.keys)
            + Array(BytesFunctions.functions.keys) + Array(JSONFunctions.functions.keys) + Array(URLFunctions.functions.keys)
    }

    /// Nulls, constructors, arrays and conversions.
    static let general: [String: ScalarFunction] = [
        "COALESCE": .plain("coalesce", 1...64),
        // A key column's value, as a value column (the key keeps it too).
        "AS_VALUE": ScalarFunction(arity: 1...1) { $0[0] },
        // Constructors: ARRAY[…], and MAP(k := v, …) / STRUCT(f := v, …) as jsonb.
        "ARRAY": {
            var function = ScalarFunction(arity: 0...1_000) { "ARRAY[\($0.joined(separator: ", "))]" }
            function.prepare = { arguments, types in
                // As in ksqlDB: an array needs an element type.
                if arguments.isEmpty { throw PlanError("an ARRAY constructor cannot be empty") }
                if arguments.allSatisfy({ $0 == .literal(.null) }) {
                    throw PlanError("an ARRAY cannot be constructed with only NULL elements: CAST one, e.g. CAST(NULL AS INT)")
                }
                return try ExpressionTranslator.constructorArguments(map: false, arguments, types)
            }
            return function
        }(),
        "MAP": constructor { arguments, types in
            let (keys, values) = (stride(from: 0, to: arguments.count, by: 2).map { arguments[$0] },
                                  stride(from: 1, to: arguments.count, by: 2).map { arguments[$0] })
            if keys.isEmpty { throw PlanError("a MAP constructor cannot be empty") }
            if keys.allSatisfy({ $0 == .literal(.null) }) { throw PlanError("a MAP cannot be constructed with only NULL keys") }
            if values.allSatisfy({ $0 == .literal(.null) }) { throw PlanError("a MAP cannot be constructed with only NULL values") }
            return try ExpressionTranslator.constructorArguments(map: true, arguments, types)
        },
        "STRUCT": constructor { arguments, _ in
            var seen: Set<String> = []
            for case .literal(.string(let name)) in stride(from: 0, to: arguments.count, by: 2).map({ arguments[$0] })
            where !seen.insert(name).inserted {
                throw PlanError("STRUCT names field \(name) twice")
            }
            return arguments
        },
        "IFNULL": .plain("coalesce", 2...2),
        "NULLIF": .plain("nullif", 2...2),
        "ARRAY_LENGTH": ScalarFunction(arity: 1...1) { "cardinality(\($0[0]))" },
        "UNIX_TIMESTAMP": ScalarFunction(arity: 0...1) { args in
            args.isEmpty ? "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS bigint)"
                         : "CAST(extract(epoch FROM \(args[0])) * 1000 AS bigint)"
        },
        "FROM_UNIXTIME": ScalarFunction(arity: 1...1) { "CAST(to_timestamp(\($0[0]) / 1000.0) AS timestamp)" },
        "ARRAY_CONTAINS": ScalarFunction(arity: 2...2) { a in "coalesce(\(a[1]) = ANY(\(a[0])), false)" },
    ]

    /// MAP(k := v, …) and STRUCT(f := v, …), built as jsonb.
    private static func constructor(_ prepare: @escaping @Sendable ([Expression], [SQLType?]) throws -> [Expression]) -> ScalarFunction {
        var function = ScalarFunction(arity: 0...1_000) { "jsonb_build_object(\($0.joined(separator: ", ")))" }
        function.prepare = prepare
        return function
    }
}
