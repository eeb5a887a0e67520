/// ksqlDB's lambda functions, run by PostgreSQL as subqueries over the
/// elements of an array or the entries of a map (jsonb), in order:
/// FILTER and TRANSFORM over arrays and maps, and REDUCE, a fold written
/// as a recursive query. A NULL collection gives NULL, except that REDUCE
/// returns its initial state.
extension ExpressionTranslator {
    mutating func lambdaCall(_ name: String, _ arguments: [Expression]) throws -> String {
        let lambdas = arguments.dropFirst(name == "REDUCE" ? 2 : 1)
        let collectionType = arguments.first.flatMap(staticType)
        let isMap: Bool
        if case .map? = collectionType { isMap = true } else { isMap = false }
        let expected = name == "REDUCE" ? (isMap ? 3 : 2) : (isMap ? 2 : 1)
        let lambdaCount = name == "TRANSFORM" && isMap ? 2 : 1
        guard arguments.count == (name == "REDUCE" ? 2 : 1) + lambdaCount,
              lambdas.allSatisfy({ if case .lambda(let parameters, _) = $0 { parameters.count == expected } else { false } }) else {
            throw PlanError(Self.lambdaUsage(name, map: isMap))
        }
        lambdaDepth += 1
        defer { lambdaDepth -= 1 }
        let alias = "pgk_l\(lambdaDepth)"
        let collection = try sql(arguments[0])
        var elementType: SQLType?, keyType: SQLType?
        switch collectionType {
        case .array(let element)?: elementType = element
        case .map(let key, let value)?: (keyType, elementType) = (key, value)
        default: break
        }
        // An array's element, or a map's key and value (read back as their types:
        // a map's values, and an array's inner arrays, are jsonb).
        let entries = isMap ? "jsonb_each(\(collection)) WITH ORDINALITY AS \(alias)(k, e, o)"
            : "unnest(\(collection)) WITH ORDINALITY AS \(alias)(e, o)"
        var heldAsJSON = isMap
        if case .array? = elementType { heldAsJSON = true }
        let value = heldAsJSON ? Self.typedJSON(text: "(\(alias).e #>> '{}')", json: "\(alias).e", as: elementType) : "\(alias).e"
        let entry: [(sql: String, type: SQLType?)] = isMap
            ? [(Self.typedJSON(text: "\(alias).k", json: "to_jsonb(\(alias).k)", as: keyType ?? .string), keyType), (value, elementType)]
            : [(value, elementType)]
        switch (name, isMap) {
        case ("FILTER", false):
            let condition = try lambdaBody(lambdas.first!, entry, name, isMap)
            return "CASE WHEN \(collection) IS NULL THEN NULL ELSE ARRAY(SELECT \(alias).e FROM \(entries) WHERE \(condition) ORDER BY \(alias).o) END"
        case ("TRANSFORM", false):
            let element = try lambdaBody(lambdas.first!, entry, name, isMap)
            return "CASE WHEN \(collection) IS NULL THEN NULL ELSE ARRAY(SELECT \(element) FROM \(entries) ORDER BY \(alias).o) END"
        // A map is rebuilt as Java's Collectors.toMap builds it: a NULL value,
        // or a key made twice, fails it, which makes the result NULL in ksqlDB.
        case ("FILTER", true):
            let condition = try lambdaBody(lambdas.first!, entry, name, isMap)
            return "CASE WHEN \(collection) IS NULL THEN NULL ELSE (SELECT CASE WHEN bool_or(jsonb_typeof(\(alias).e) = 'null') THEN NULL "
                + "ELSE coalesce(jsonb_object_agg(\(alias).k, \(alias).e), '{}'::jsonb) END FROM \(entries) WHERE \(condition)) END"
        case ("TRANSFORM", true):
            let key = try lambdaBody(lambdas.first!, entry, name, isMap), newValue = try lambdaBody(lambdas.last!, entry, name, isMap)
            return "CASE WHEN \(collection) IS NULL THEN NULL ELSE (SELECT CASE WHEN count(DISTINCT t.k) < count(*) OR bool_or(t.v IS NULL) "
                + "OR bool_or(jsonb_typeof(t.v) = 'null') THEN NULL ELSE coalesce(jsonb_object_agg(t.k, t.v), '{}'::jsonb) END "
                + "FROM (SELECT CAST(\(key) AS text) AS k, to_jsonb(\(newValue)) AS v FROM \(entries)) AS t) END"
        default:
            let stateType = staticType(arguments[1])
            let next = try lambdaBody(lambdas.first!, [("\(alias)_r.s", stateType)] + entry, name, isMap)
            return try reduce(collection, initial: arguments[1], type: stateType, next: next, entries: entries, alias: alias)
        }
    }

    /// REDUCE: the state starts as `initial` and takes each entry in turn.
    private mutating func reduce(_ collection: String, initial: Expression, type stateType: SQLType?, next: String,
                                 entries: String, alias: String) throws -> String {
        let start = try sql(initial)
        let cast = { (value: String) in stateType.flatMap { try? PostgresType.of($0) }.map { "CAST(\(value) AS \($0))" } ?? value }
        // The entries are numbered first, so the fold can take them one by one.
        let fold = "(WITH RECURSIVE \(alias)_e AS (SELECT * FROM \(entries)), \(alias)_r(i, s) AS ("
            + "SELECT 0::bigint, \(cast(start)) UNION ALL SELECT \(alias)_r.i + 1, \(cast(next)) FROM \(alias)_r "
            + "JOIN \(alias)_e AS \(alias) ON \(alias).o = \(alias)_r.i + 1) "
            + "SELECT \(alias)_r.s FROM \(alias)_r ORDER BY \(alias)_r.i DESC LIMIT 1)"
        return "(CASE WHEN \(start) IS NULL THEN NULL WHEN \(collection) IS NULL THEN \(cast(start)) ELSE \(fold) END)"
    }

    /// A lambda's body, its parameters bound in order to `values`.
    private mutating func lambdaBody(_ lambda: Expression, _ values: [(sql: String, type: SQLType?)], _ name: String,
                                     _ isMap: Bool) throws -> String {
        guard case .lambda(let parameters, let body) = lambda else { throw PlanError(Self.lambdaUsage(name, map: isMap)) }
        return try bound(zip(parameters, values).map { ($0, $1.sql, $1.type) }, body)
    }

    /// Translates `body` with the lambda's parameters bound to SQL.
    private mutating func bound(_ bindings: [(name: String, sql: String, type: SQLType?)], _ body: Expression) throws -> String {
        let outer = resolve, outerType = columnType
        func binding(_ qualifier: String?, _ column: String) -> (name: String, sql: String, type: SQLType?)? {
            qualifier == nil ? bindings.first { $0.name.uppercased() == column.uppercased() } : nil
        }
        resolve = { qualifier, column in try binding(qualifier, column)?.sql ?? outer(qualifier, column) }
        columnType = { qualifier, column in
            if let bound = binding(qualifier, column) { return bound.type }
            return outerType?(qualifier, column)
        }
        defer { resolve = outer; columnType = outerType }
        return try sql(body)
    }

    private static func lambdaUsage(_ name: String, map: Bool) -> String {
        switch (name, map) {
        case ("REDUCE", false): return "REDUCE takes an array, a start and a lambda, e.g. REDUCE(xs, 0, (s, x) => s + x)"
        case ("REDUCE", true): return "REDUCE over a MAP takes a start and a lambda of three, e.g. REDUCE(m, 0, (s, k, v) => s + v)"
        case ("TRANSFORM", true): return "TRANSFORM over a MAP takes two lambdas, e.g. TRANSFORM(m, (k, v) => UCASE(k), (k, v) => v + 1)"
        case (_, true): return "\(name) over a MAP takes a lambda of two, e.g. \(name)(m, (k, v) => v > 0)"
        default: return "\(name) takes an array and a lambda, e.g. \(name)(xs, x => x > 0)"
        }
    }
}
