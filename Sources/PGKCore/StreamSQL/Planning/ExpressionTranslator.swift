/// Translates ksqlDB expressions into PostgreSQL expressions, which is how
/// `pgk sql` evaluates them: filters, projections, joins and aggregates
/// run inside PostgreSQL against the query's state tables.
///
/// Literals never become SQL text: each one is a numbered parameter, so
/// the statement PostgreSQL sees holds only identifiers quoted by libpq
/// and operators chosen here.
struct ExpressionTranslator {
    /// Resolves a column reference to quoted SQL (e.g. `a."student_id"`),
    /// throwing a PlanError for an unknown or ambiguous column.
    var resolve: (String?, String) throws -> String
    /// The column that orders a state table's rows by arrival, for
    /// LATEST_BY_OFFSET, EARLIEST_BY_OFFSET and COLLECT_LIST.
    var arrivalOrder: String = "_seq"
    /// A column's declared type, where the planner knows it (see
    /// ExpressionTranslator+Types); nil leaves every expression untyped.
    var columnType: ((String?, String) -> SQLType?)?
    private(set) var parameters: [String?] = []
    private(set) var usesAggregates = false
    /// Nesting of lambdas being translated, for their element aliases.
    var lambdaDepth = 0
    /// Consulted before each node: SQL that stands for a whole
    /// subexpression (e.g. an aggregate read from an accumulator table).
    var override: ((Expression) throws -> String?)?
    /// Set for projections: a comparison with a NULL side is FALSE there,
    /// as in ksqlDB. Conditions (WHERE, HAVING, ON) keep PostgreSQL's NULL,
    /// which filters alike and leaves indexes and hash joins usable.
    var comparisonsAsValues = false
    /// Where set, literals become this SQL instead of numbered parameters:
    /// for fragments (join conditions) that several statements embed, each
    /// numbering its own parameters.
    var constant: ((_ value: String, _ type: String) -> String)?
    /// How many values COLLECT_LIST and COLLECT_SET keep.
    var limits = FunctionLimits()
    /// Set for a stream query's projection, where EXPLODE may be used.
    var allowsTableFunctions = false
    /// How many rows each table function gives a record (SQL), in order:
    /// a record gives as many rows as the largest count.
    private(set) var tableFunctionRows: [String] = []

    /// `parameterOffset`: how many parameters the surrounding statement
    /// already uses, so numbering continues after them.
    init(parameterOffset: Int = 0, resolve: @escaping (String?, String) throws -> String) {
        self.resolve = resolve
        firstParameter = parameterOffset + 1
    }

    private let firstParameter: Int

    mutating func sql(_ expression: Expression) throws -> String {
        if let override, let replaced = try override(expression) { return replaced }
        switch expression {
        case .literal(let literal):
            return literalSQL(literal)
        case .column(let qualifier, let name):
            return try resolve(qualifier, name)
        case .unary(let op, let operand):
            let inner = try sql(operand)
            return op == .not ? "(NOT \(inner))" : "(\(op.rawValue)\(inner))"
        case .binary(let op, let left, let right):
            try checkComparison(op, left, right)
            let l = try sql(left), r = try sql(right)
            switch op {
            // ksqlDB yields NULL for a division by zero; PostgreSQL would
            // fail the whole batch.
            case .divide: return "(\(l) / NULLIF(\(r), 0))"
            case .modulo: return "(\(l) % NULLIF(\(r), 0))"
            // ksqlDB's `+` also joins strings.
            case .add where staticType(expression) == .string: return "(\(l) || \(r))"
            case _ where op.isComparison && comparisonsAsValues: return "coalesce(\(l) \(op.rawValue) \(r), false)"
            default: return "(\(l) \(op.rawValue) \(r))"
            }
        case .call(let name, let arguments, let distinct, let star):
            return try call(name, arguments, distinct: distinct, star: star)
        case .cast(let operand, let type):
            try checkCast(operand, to: type)
            if type == .string, let from = staticType(operand), from.isComplex {
                return Self.javaText(try sql(operand), of: from, key: { literalSQL(.string($0)) })
            }
            if type.isComplex, let from = staticType(operand), from.isComplex, from != type {
                return try Self.complexCast(try sql(operand), from: from, to: type, key: { literalSQL(.string($0)) })
            }
            return try Self.castSQL(try sql(operand), from: staticType(operand), to: type)
        case .isNull(let operand, let negated):
            return "(\(try sql(operand)) IS \(negated ? "NOT " : "")NULL)"
        case .like(let operand, let pattern, let escape, let negated):
            // ksqlDB's LIKE has no escape character unless ESCAPE names one;
            // PostgreSQL's would be a backslash.
            let escapeSQL = escape.map { literalSQL(.string($0)) } ?? "''"
            return "(\(try sql(operand)) \(negated ? "NOT " : "")LIKE \(try sql(pattern)) ESCAPE \(escapeSQL))"
        case .between(let operand, let low, let high, let negated):
            return "(\(try sql(operand)) \(negated ? "NOT " : "")BETWEEN \(try sql(low)) AND \(try sql(high)))"
        case .inList(let operand, let items, let negated):
            return try inListSQL(operand, items, negated: negated)
        case .caseWhen(let operand, let branches, let otherwise):
            if (branches.map(\.1) + [otherwise ?? .literal(.null)]).allSatisfy({ $0 == .literal(.null) }) {
                throw PlanError("every branch of this CASE is NULL, so it has no type")
            }
            var text = "CASE"
            if let operand { text += " " + (try sql(operand)) }
            for (condition, result) in branches {
                text += " WHEN \(try sql(condition)) THEN \(try sql(result))"
            }
            if let otherwise { text += " ELSE \(try sql(otherwise))" }
            return text + " END"
        case .lambda:
            throw PlanError("a lambda (x => …) is an argument of FILTER or TRANSFORM")
        case .field(_, "*"):
            throw PlanError("->* selects every field of a STRUCT, and only as an item of a SELECT list")
        case .field(let base, let name):
            // STRUCT columns are stored as jsonb.
            let field = structField(of: base, named: name)
            let container = try sql(base)
            return Self.jsonbValue(container, literalSQL(.string(field?.name ?? name)), as: field?.type)
        case .element(let base, let index):
            if case .map(_, let valueType)? = staticType(base) {
                // MAPs are jsonb objects: their keys are text.
                let container = try sql(base)
                return Self.jsonbValue(container, "CAST(\(try sql(index)) AS text)", as: valueType)
            }
            // ksqlDB arrays are 1-based like PostgreSQL's; negative counts from the end.
            let b = try sql(base), i = try sql(index)
            let element = "(\(b))[CASE WHEN \(i) < 0 THEN cardinality(\(b)) + 1 + \(i) ELSE \(i) END]"
            // An array of arrays holds its arrays as jsonb: read one back as an array.
            if case .array(let inner)? = staticType(base), case .array = inner {
                return Self.typedJSON(text: "(\(element) #>> '{}')", json: element, as: inner)
            }
            return element
        }
    }

    private mutating func literalSQL(_ literal: Literal) -> String {
        switch literal {
        case .null: return "NULL"
        case .boolean(let value): return value ? "TRUE" : "FALSE"
        case .integer(let value):
            return parameter(String(value), type: Int32(exactly: value) == nil ? "bigint" : "integer")
        case .decimal(let text): return parameter(text, type: "numeric")
        case .string(let text): return parameter(text, type: "text")
        }
    }

    private mutating func parameter(_ value: String, type: String) -> String {
        if let constant { return constant(value, type) }
        parameters.append(value)
        return "$\(firstParameter + parameters.count - 1)::\(type)"
    }

    /// The table functions: EXPLODE gives a row per element, CUBE_EXPLODE
    /// a row per combination of the elements with some set to NULL (in
    /// binary counting order, NULL elements not doubling them). PostgreSQL
    /// runs several set-returning functions of a SELECT list in lockstep,
    /// padding the shorter with NULLs, as ksqlDB zips table functions.
    private mutating func tableFunction(_ name: String, _ arguments: [Expression]) throws -> String {
        guard allowsTableFunctions else {
            throw PlanError("\(name) is a table function: it may be used only in the SELECT list of a stream query")
        }
        guard arguments.count == 1 else { throw PlanError("\(name) takes one ARRAY") }
        if let type = staticType(arguments[0]) {
            guard case .array = type else { throw PlanError("\(name) takes an ARRAY, not \(type)") }
        }
        let array = try sql(arguments[0])
        if name == "EXPLODE" {
            tableFunctionRows.append("coalesce(cardinality(\(array)), 0)")
            return "unnest(\(array))"
        }
        tableFunctionRows.append("coalesce(1 << cardinality(array_remove(\(array), NULL)), 0)")
        return "pg_temp.kcube(\(array))"
    }

    private mutating func call(_ name: String, _ arguments: [Expression], distinct: Bool, star: Bool) throws -> String {
        if ["EXPLODE", "CUBE_EXPLODE"].contains(name) { return try tableFunction(name, arguments) }
        if ["FILTER", "TRANSFORM", "REDUCE"].contains(name) { return try lambdaCall(name, arguments) }
        if name == "TO_JSON_STRING" {
            guard arguments.count == 1 else { throw PlanError("TO_JSON_STRING takes 1 argument(s), not \(arguments.count)") }
            return Self.jsonText(try sql(arguments[0]), of: staticType(arguments[0]), key: { literalSQL(.string($0)) })
        }
        if let aggregate = AggregateFunction(rawValue: name) {
            usesAggregates = true
            return try aggregateSQL(aggregate, arguments, distinct: distinct, star: star)
        }
        guard let function = ScalarFunction.named(name) else {
            throw PlanError("unknown function \(name)" + didYouMean(name, among: ScalarFunction.allNames + AggregateFunction.allCases.map(\.rawValue)))
        }
        guard function.arity.contains(arguments.count) else {
            throw PlanError("\(name) takes \(function.arityText) argument(s), not \(arguments.count)")
        }
        var arguments = arguments
        if TemporalFunctions.unitArgument.contains(name) {
            guard case .column(nil, let unit) = arguments[0], let interval = TemporalFunctions.interval(unit) else {
                throw PlanError("\(name) takes a time unit first: DAYS, HOURS, MINUTES, SECONDS or MILLISECONDS")
            }
            arguments[0] = .literal(.string(interval))
        }
        var patternColumn: Int?
        var zoneInText = false
        if let position = TemporalFunctions.patternArgument[name] {
            // Java patterns become PostgreSQL's when the statement is created;
            // one taken from a column, row by row (pg_temp.kpattern).
            if case .literal(.string(var pattern)) = arguments[position] {
                if let local = TemporalFunctions.zoneNameStripped(pattern), TemporalFunctions.readsZoneNames.contains(name) {
                    (pattern, zoneInText) = (local, true)
                }
                arguments[position] = .literal(.string(try TemporalFunctions.postgresPattern(pattern, parsing: TemporalFunctions.parsing.contains(name))))
            } else {
                patternColumn = position
            }
        }
        if let prepare = function.prepare { arguments = try prepare(arguments, arguments.map(staticType)) }
        var args = try arguments.map { try sql($0) }
        if let position = patternColumn {
            args[position] = "pg_temp.kpattern(\(args[position]), \(TemporalFunctions.parsing.contains(name)))"
        }
        if zoneInText { return TemporalFunctions.parsedWithZoneName(name, args) }
        if let typed = function.typed { return typed(args, arguments.map(staticType)) }
        return function.render(args)
    }

    private mutating func aggregateSQL(_ aggregate: AggregateFunction, _ arguments: [Expression],
                                       distinct: Bool, star: Bool) throws -> String {
        if aggregate == .count && (star || arguments.isEmpty) { return "count(*)" }
        guard !arguments.isEmpty else { throw PlanError("\(aggregate.rawValue) takes a column") }
        let options = try AggregateOptions(aggregate, arguments)
        let x = try sql(arguments[0])
        let nonNull = options.ignoreNulls ? " FILTER (WHERE \(x) IS NOT NULL)" : ""
        switch (aggregate, options.count) {
        case (.latestByOffset, let n?):
            return "coalesce(\(AggregateOptions.last(n, of: "array_agg(\(x) ORDER BY \(arrivalOrder))\(nonNull)")), '{}')"
        case (.earliestByOffset, let n?):
            return "coalesce((array_agg(\(x) ORDER BY \(arrivalOrder))\(nonNull))[1:\(n)], '{}')"
        case (.latestByOffset, nil) where !options.ignoreNulls:
            return "pg_temp.klast(\(x) ORDER BY \(arrivalOrder))"
        case (.earliestByOffset, nil) where !options.ignoreNulls:
            return "pg_temp.klast(\(x) ORDER BY \(arrivalOrder) DESC)"
        case (.topK, let k?), (.topKDistinct, let k?):
            return AggregateOptions.top(k, of: "array_agg(\(x))", distinct: aggregate == .topKDistinct)
        default:
            break
        }
        switch aggregate {
        case .count: return distinct ? "count(DISTINCT \(x))" : "count(\(x))"
        case .countDistinct: return "count(DISTINCT \(x))"
        // ksqlDB's SUM and AVG start at 0 and skip NULLs: no values give 0, not NULL.
        case .sum: return "coalesce(pg_temp.ksum(\(x)), 0)"
        case .sumList: return "pg_temp.ksum(\(AggregateFunction.listSum(x)))"
        case .avg: return "coalesce(CAST(avg(\(x)) AS double precision), 0.0)"
        case .stddevSamp: return "coalesce(var_samp(CAST(\(x) AS double precision)), 0.0)"
        case .stddevSample: return "coalesce(stddev_samp(CAST(\(x) AS double precision)), 0.0)"
        case .correlation:
            let y = try sql(arguments[1])
            let both = " FILTER (WHERE \(x) IS NOT NULL AND \(y) IS NOT NULL)"
            func sum(_ term: String) -> String { "coalesce(sum(\(term))\(both), 0)" }
            let (fx, fy) = ("CAST(\(x) AS double precision)", "CAST(\(y) AS double precision)")
            return AggregateFunction.correlation(n: "count(*)\(both)", sx: sum(fx), sy: sum(fy),
                                                 sxx: sum("\(fx) * \(fx)"), syy: sum("\(fy) * \(fy)"), sxy: sum("\(fx) * \(fy)"))
        case .histogram: return "pg_temp.khist(CAST(\(x) AS text))"
        case .min: return "min(\(x))"
        case .max: return "max(\(x))"
        // ksqlDB ignores NULLs in these by default.
        case .latestByOffset: return "pg_temp.klast(\(x) ORDER BY \(arrivalOrder)) FILTER (WHERE \(x) IS NOT NULL)"
        case .earliestByOffset: return "pg_temp.klast(\(x) ORDER BY \(arrivalOrder) DESC) FILTER (WHERE \(x) IS NOT NULL)"
        case .collectList: return "(array_agg(\(x) ORDER BY \(arrivalOrder)))[1:\(limits.collectList)]"
        case .collectSet: return "(\(Self.firstOccurrences("array_agg(\(x) ORDER BY \(arrivalOrder))")))[1:\(limits.collectSet)]"
        case .topK, .topKDistinct: throw PlanError("\(aggregate.rawValue) takes a column and how many values to keep")
        }
    }

    /// An array's distinct elements in order of first occurrence.
    static func firstOccurrences(_ array: String) -> String {
        "ARRAY(SELECT e FROM unnest(\(array)) WITH ORDINALITY AS u(e, o) GROUP BY e ORDER BY min(o))"
    }
}

enum AggregateFunction: String, CaseIterable {
    case count = "COUNT", sum = "SUM", avg = "AVG", min = "MIN", max = "MAX"
    case countDistinct = "COUNT_DISTINCT", latestByOffset = "LATEST_BY_OFFSET"
    case earliestByOffset = "EARLIEST_BY_OFFSET", collectList = "COLLECT_LIST", collectSet = "COLLECT_SET"
    case topK = "TOPK", topKDistinct = "TOPKDISTINCT", sumList = "SUM_LIST"
    /// STDDEV_SAMPLE is the sample standard deviation; STDDEV_SAMP, as in
    /// ksqlDB, gives its square (the sample variance). Both are 0.0 below two values.
    case stddevSamp = "STDDEV_SAMP", stddevSample = "STDDEV_SAMPLE"
    /// Pearson's correlation of two columns, over the rows where both are
    /// set; NaN below two such rows or where either column is constant.
    case correlation = "CORRELATION"
    /// A MAP of each distinct string to how often it came (at most 1000 strings).
    case histogram = "HISTOGRAM"

    /// SUM_LIST's per-row argument: the sum of the row's array.
    static func listSum(_ array: String) -> String { "(SELECT pg_temp.ksum(e) FROM unnest(\(array)) AS e)" }

    /// CORRELATION from its count and sums, by ksqlDB's formula. Java's
    /// 0/0 is NaN where PostgreSQL's would fail, and a square root of a
    /// rounding error below zero counts as zero.
    static func correlation(n: String, sx: String, sy: String, sxx: String, syy: String, sxy: String) -> String {
        let count = "CAST(\(n) AS double precision)"
        let spread = "(sqrt(greatest(\(count) * \(sxx) - \(sx) * \(sx), 0)) * sqrt(greatest(\(count) * \(syy) - \(sy) * \(sy), 0)))"
        return "(CASE WHEN \(spread) = 0 THEN CAST('NaN' AS double precision) ELSE (\(count) * \(sxy) - \(sx) * \(sy)) / \(spread) END)"
    }
}

struct PlanError: Error, CustomStringConvertible, Equatable {
    var description: String
    init(_ description: String) { self.description = description }
}

/// " (did you mean X?)" when a candidate is close.
func didYouMean(_ word: String, among candidates: [String]) -> String {
    Suggestions.closest(to: word.uppercased(), among: candidates).map { " (did you mean \($0)?)" } ?? ""
}

/// ksqlDB column types as PostgreSQL column types.
enum PostgresType {
    static func of(_ type: SQLType) throws -> String {
        switch type {
        case .boolean: return "boolean"
        case .integer: return "integer"
        case .bigint: return "bigint"
        case .double: return "double precision"
        case .string: return "text"
        case .bytes: return "bytea"
        case .date: return "date"
        case .time: return "time"
        case .timestamp: return "timestamp"
        case .decimal(let precision, let scale): return "numeric(\(precision), \(scale))"
        // PostgreSQL's arrays of arrays must be rectangular: inner arrays are jsonb.
        case .array(.array): return "jsonb[]"
        case .array(let element): return try of(element) + "[]"
        case .map, .struct: return "jsonb"
        }
    }
}
