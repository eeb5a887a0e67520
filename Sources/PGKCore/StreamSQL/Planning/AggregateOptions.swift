import Foundation
/// The literal arguments after an aggregate's column: `LATEST_BY_OFFSET(x,
/// n, ignoreNulls)`, `EARLIEST_BY_OFFSET(x, ignoreNulls)`, `TOPK(x, k)`.
struct AggregateOptions {
    /// How many values an array result keeps; nil for a single value.
    var count: Int?
    /// Whether NULLs are skipped (the *_BY_OFFSET default).
    var ignoreNulls = true

    init(_ aggregate: AggregateFunction, _ arguments: [Expression]) throws {
        let extra = Array(arguments.dropFirst())
        func count(_ expression: Expression) throws -> Int {
            guard case .literal(.integer(let n)) = expression, n > 0, n <= 1_000_000 else {
                throw PlanError("\(aggregate.rawValue) takes a positive whole number of values as its second argument")
            }
            return Int(n)
        }
        func flag(_ expression: Expression) throws -> Bool {
            guard case .literal(.boolean(let value)) = expression else {
                throw PlanError("\(aggregate.rawValue) takes TRUE or FALSE (ignore nulls) as its last argument")
            }
            return value
        }
        switch aggregate {
        case .latestByOffset, .earliestByOffset:
            guard extra.count <= 2 else { throw PlanError("\(aggregate.rawValue) takes one to three arguments") }
            if extra.count == 2 {
                self.count = try count(extra[0])
                ignoreNulls = try flag(extra[1])
            } else if let only = extra.first {
                if case .literal(.boolean(let value)) = only { ignoreNulls = value } else { self.count = try count(only) }
            }
        case .correlation:
            guard extra.count == 1 else { throw PlanError("CORRELATION takes two arguments") }
        case .topK, .topKDistinct:
            guard extra.count == 1 else { throw PlanError("\(aggregate.rawValue) takes a column and how many values to keep") }
            self.count = try count(extra[0])
        default:
            guard extra.isEmpty else { throw PlanError("\(aggregate.rawValue) takes one argument") }
        }
    }

    /// An array's last `n` elements.
    static func last(_ n: Int, of array: String) -> String {
        "(\(array))[greatest(cardinality(\(array)) - \(n - 1), 1):]"
    }

    /// The `k` largest of an array's elements, largest first (distinct ones only, for TOPKDISTINCT).
    static func top(_ k: Int, of array: String, distinct: Bool) -> String {
        "(ARRAY(SELECT \(distinct ? "DISTINCT " : "")e FROM unnest(\(array)) AS e WHERE e IS NOT NULL ORDER BY e DESC))[1:\(k)]"
    }
}

/// The `ksql.functions.*` settings a query is created with, kept with it
/// in the catalog: how many values COLLECT_LIST and COLLECT_SET keep.
struct FunctionLimits: Equatable {
    static let listProperty = "ksql.functions.collect_list.limit"
    static let setProperty = "ksql.functions.collect_set.limit"
    /// ksqlDB's defaults.
    var collectList = 1_000
    var collectSet = 1_000

    init() {}

    /// From session properties.
    init(properties: [String: String]) throws {
        func limit(_ name: String) throws -> Int? {
            guard let text = properties[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw PlanError("\(name) takes a positive whole number, not '\(text)'")
            }
            return value
        }
        // SUBSTRING's pre-0.10 arguments are not there; other settings change nothing here.
        if properties["ksql.functions.substring.legacy.args"]?.lowercased() == "true" {
            throw PlanError("ksql.functions.substring.legacy.args=true (SUBSTRING's old arguments) is not supported")
        }
        collectList = try limit(Self.listProperty) ?? collectList
        collectSet = try limit(Self.setProperty) ?? collectSet
    }

    /// The properties that set these, as a query stores them.
    static func properties(in session: [String: String]) -> [String: String] {
        // Also the persistence settings that shape a plan (QueryPlanner.wrapsSingleValues, .defaultKeyFormat)
        // and what an invalid timestamp does (QueryRunner).
        session.filter { $0.key.hasPrefix("ksql.functions.")
            || [QueryPlanner.wrapSingleValuesProperty, QueryPlanner.defaultKeyFormatProperty,
                QueryRunner.throwOnInvalidTimestampProperty].contains($0.key) }
    }

    func limit(_ aggregate: AggregateFunction) -> Int { aggregate == .collectSet ? collectSet : collectList }
}
