/// What the translator knows of an expression's ksqlDB type before
/// PostgreSQL sees it. MAPs and STRUCTs are stored as jsonb, so a map
/// value or a struct field must be cast back to its declared type to
/// compare, add or aggregate like ksqlDB does; and `+` joins STRINGs.
/// Types it cannot tell are nil, and such expressions translate as before.
extension ExpressionTranslator {
    func staticType(_ expression: Expression) -> SQLType? {
        switch expression {
        case .literal(.string): return .string
        case .literal(.boolean): return .boolean
        case .literal(.integer(let value)): return Int32(exactly: value) == nil ? .bigint : .integer
        case .literal: return nil
        case .column(let qualifier, let name): return columnType?(qualifier, name)
        case .cast(_, let type): return type
        case .field(let base, let name): return structField(of: base, named: name)?.type
        case .element(let base, _):
            switch staticType(base) {
            case .map(_, let value)?: return value
            case .array(let element)?: return element
            default: return nil
            }
        case .binary(let op, let left, let right):
            switch op {
            case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual, .and, .or, .distinctFrom, .notDistinctFrom:
                return .boolean
            case .concat: return .string
            default:
                let l = staticType(left), r = staticType(right)
                if op == .add, l == .string || r == .string { return .string }
                return l == r ? l : nil
            }
        case .call(let name, let arguments, _, _) where ["CONCAT", "CONCAT_WS"].contains(name):
            return arguments.contains { staticType($0) == .bytes } ? .bytes : .string
        case .call("SUBSTRING", let arguments, _, _) where arguments.first.flatMap(staticType) == .bytes: return .bytes
        case .call(let name, _, _, _) where StringFunctions.returningString.contains(name): return .string
        case .call("TO_BYTES", _, _, _): return .bytes
        case .call("SPLIT_TO_MAP", _, _, _): return .map(.string, .string)
        case .call("MAP_UNION", let arguments, _, _): return arguments.lazy.compactMap(staticType).first
        case .call("GEO_DISTANCE", _, _, _): return .double
        case .call("HISTOGRAM", _, _, _): return .map(.string, .bigint)
        case .call("ENTRIES", let arguments, _, _):
            guard case .map(let key, let value)? = arguments.first.flatMap(staticType) else { return nil }
            return .array(.struct([("K", key), ("V", value)]))
        case .call("SPLIT", let arguments, _, _) where arguments.first.flatMap(staticType) == .bytes: return .array(.bytes)
        case .call("EXPLODE", let arguments, _, _):
            if case .array(let element)? = arguments.first.flatMap(staticType) { return element }
            return nil
        case .call("CUBE_EXPLODE", let arguments, _, _): return arguments.first.flatMap(staticType)
        case .call(let name, _, _, _) where ["SPLIT", "REGEXP_EXTRACT_ALL", "REGEXP_SPLIT_TO_ARRAY"].contains(name):
            return .array(.string)
        case .call(let name, _, _, _) where BytesFunctions.types[name] != nil: return BytesFunctions.types[name]
        case .call(let name, _, _, _) where JSONFunctions.types[name] != nil: return JSONFunctions.types[name]
        case .call(let name, _, _, _) where URLFunctions.types[name] != nil: return URLFunctions.types[name]
        case .call("ROUND", let arguments, _, _):
            // ksqlDB's ROUND: a DECIMAL(p, s) keeps its type with decimal
            // places, else becomes DECIMAL(p - s, 0); a DOUBLE with decimal
            // places stays one; everything else is a BIGINT.
            switch arguments.first.flatMap(staticType) {
            case .decimal(let precision, let scale)?:
                return arguments.count == 2 ? .decimal(precision: precision, scale: scale) : .decimal(precision: max(precision - scale, 1), scale: 0)
            case .double?: return arguments.count == 2 ? .double : .bigint
            case .integer?, .bigint?: return .bigint
            default: return nil
            }
        case .call(let name, _, _, _) where ["INSTR", "FIELD", "LEN", "LENGTH", "SIGN"].contains(name): return .integer
        case .call(let name, _, _, _) where ["COUNT", "COUNT_DISTINCT"].contains(name): return .bigint
        case .call(let name, _, _, _) where ["AVG", "STDDEV_SAMP", "STDDEV_SAMPLE", "CORRELATION"].contains(name): return .double
        case .call(let name, let arguments, _, _) where ["SUM", "MIN", "MAX"].contains(name) && arguments.count == 1:
            let type = staticType(arguments[0])
            return name == "SUM" && type == .integer ? .bigint : type
        case .call(let name, let arguments, _, _) where ["LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET"].contains(name) && !arguments.isEmpty:
            // (x) or (x, ignoreNulls) give a value; (x, n[, ignoreNulls]) an array of them.
            guard let type = staticType(arguments[0]) else { return nil }
            if arguments.count == 1 { return type }
            if case .literal(.boolean) = arguments[1] { return type }
            return .array(type)
        case .call(let name, let arguments, _, _) where ["COLLECT_LIST", "COLLECT_SET"].contains(name) && arguments.count == 1:
            return staticType(arguments[0]).map { .array($0) }
        case .call(let name, let arguments, _, _) where ["ARRAY_MAX", "ARRAY_MIN"].contains(name):
            if case .array(let element)? = arguments.first.flatMap(staticType) { return element }
            return nil
        case .call(let name, let arguments, _, _)
            where ["ARRAY_SORT", "ARRAY_DISTINCT", "ARRAY_REMOVE", "ARRAY_EXCEPT", "ARRAY_INTERSECT", "SLICE"].contains(name):
            return arguments.first.flatMap(staticType)
        case .call(let name, let arguments, _, _) where ["ARRAY_UNION", "ARRAY_CONCAT"].contains(name):
            return arguments.lazy.compactMap(staticType).first
        case .call("MAP_KEYS", let arguments, _, _):
            if case .map(let key, _)? = arguments.first.flatMap(staticType) { return .array(key) }
            return nil
        case .call("MAP_VALUES", let arguments, _, _):
            if case .map(_, let value)? = arguments.first.flatMap(staticType) { return .array(value) }
            return nil
        case .call("AS_MAP", let arguments, _, _) where arguments.count == 2:
            guard case .array(let key)? = staticType(arguments[0]), case .array(let value)? = staticType(arguments[1]) else { return nil }
            return .map(key, value)
        case .call(let name, let arguments, _, _) where ["FILTER", "TRANSFORM", "REDUCE"].contains(name):
            return lambdaResultType(name, arguments)
        case .call("FROM_UNIXTIME", _, _, _): return .timestamp
        case .call("CONVERT_TZ", let arguments, _, _): return arguments.first.flatMap(staticType)
        case .call("ARRAY", let arguments, _, _):
            return arguments.lazy.compactMap(staticType).first.map { .array($0) }
        case .call("MAP", let arguments, _, _):
            let values = stride(from: 1, to: arguments.count, by: 2).map { arguments[$0] }
            return values.lazy.compactMap(staticType).first.map { .map(.string, $0) }
        case .call("STRUCT", let arguments, _, _):
            // Field names alternate with values; a field of unknown type leaves the struct untyped.
            var fields: [(String, SQLType)] = []
            for index in stride(from: 0, to: arguments.count - 1, by: 2) {
                guard case .literal(.string(let name)) = arguments[index], let type = staticType(arguments[index + 1]) else { return nil }
                fields.append((name, type))
            }
            return .struct(fields)
        case .isNull, .like, .between, .inList: return .boolean
        default: return nil
        }
    }

    /// FILTER keeps its collection's type, TRANSFORM gives its lambdas'
    /// results (a map's keys and values), REDUCE its start's type.
    private func lambdaResultType(_ name: String, _ arguments: [Expression]) -> SQLType? {
        if name == "REDUCE" { return arguments.count > 1 ? staticType(arguments[1]) : nil }
        guard let collection = arguments.first.flatMap(staticType) else { return nil }
        if name == "FILTER" { return collection }
        func result(_ lambda: Expression, _ types: [SQLType?]) -> SQLType? {
            guard case .lambda(let parameters, let body) = lambda else { return nil }
            var typing = self
            let outer = columnType
            typing.columnType = { qualifier, column in
                if qualifier == nil, let index = parameters.firstIndex(where: { $0.uppercased() == column.uppercased() }) {
                    return index < types.count ? types[index] : nil
                }
                return outer?(qualifier, column)
            }
            return typing.staticType(body)
        }
        switch collection {
        case .array(let element):
            return arguments.count == 2 ? result(arguments[1], [element]).map { .array($0) } : nil
        case .map(let key, let value):
            guard arguments.count == 3, let newKey = result(arguments[1], [key, value]),
                  let newValue = result(arguments[2], [key, value]) else { return nil }
            return .map(newKey, newValue)
        default: return nil
        }
    }

    /// ksqlDB compares values of one kind (numbers with numbers, strings
    /// with strings…), never with a NULL literal (IS NULL says that), and
    /// orders numbers, strings, booleans and times, not ARRAYs, MAPs or STRUCTs.
    func checkComparison(_ op: BinaryOperator, _ left: Expression, _ right: Expression) throws {
        guard op.isComparison else { return }
        if left == .literal(.null) || right == .literal(.null) {
            throw PlanError("comparison with NULL is not supported: \(left.sqlText) \(op.rawValue) \(right.sqlText) (use IS [NOT] NULL)")
        }
        if let l = staticType(left), let r = staticType(right), let lf = ComparisonFamily(l), let rf = ComparisonFamily(r), lf != rf {
            throw PlanError("cannot compare \(left.sqlText) (\(l)) to \(right.sqlText) (\(r)) with \(op.rawValue)")
        }
        guard [.less, .lessOrEqual, .greater, .greaterOrEqual].contains(op) else { return }
        for side in [left, right] {
            if let type = staticType(side), type.isComplex {
                throw PlanError("cannot compare \(left.sqlText) to \(right.sqlText) with \(op.rawValue): \(side.sqlText) is \(type)")
            }
        }
    }

    /// A STRING does not CAST to an ARRAY, a MAP or a STRUCT in ksqlDB.
    func checkCast(_ operand: Expression, to type: SQLType) throws {
        if type.isComplex && staticType(operand) == .string { throw PlanError("CAST of STRING to \(type) is not supported") }
    }

    /// CAST as ksqlDB's Java casts do it, where PostgreSQL's would differ:
    /// a DOUBLE or DECIMAL becomes a whole number by truncation (PostgreSQL
    /// rounds), a DOUBLE beyond the range saturates, a BIGINT wraps into an
    /// INT, and a value too large for DECIMAL(p, s) is NULL, not an error.
    static func castSQL(_ value: String, from: SQLType?, to type: SQLType) throws -> String {
        let target = try PostgresType.of(type)
        switch (from, type) {
        case (.double?, .integer), (.double?, .bigint):
            let (low, high) = type == .integer ? (Int64(Int32.min), Int64(Int32.max)) : (Int64.min, Int64.max)
            // NaN is 0 in Java; PostgreSQL orders it above every number.
            return "CAST(CASE WHEN \(value) = 'NaN' THEN 0 ELSE trunc(greatest(least(\(value), \(high)), \(low))) END AS \(target))"
        case (.decimal?, .integer), (.decimal?, .bigint):
            return "CAST(trunc(\(value)) AS \(target))"
        case (.double?, .string):
            return "pg_temp.kdouble(\(value))"
        case (.bigint?, .integer):
            // The low 32 bits, as a signed number.
            return "CAST((((\(value)) & 4294967295) # 2147483648) - 2147483648 AS integer)"
        case (_, .decimal(let precision, let scale)):
            let limit = "1" + String(repeating: "0", count: max(precision - scale, 0))
            let rounded = "round(CAST(\(value) AS numeric), \(scale))"
            return "CAST(CASE WHEN abs(\(rounded)) < \(limit) THEN \(rounded) END AS \(target))"
        default:
            return "CAST(\(value) AS \(target))"
        }
    }

    /// CAST between ARRAY, MAP or STRUCT types, element by element, each
    /// element cast as above (so BIGINTs wrap into INTs); a STRUCT keeps the
    /// target's fields, matched by name, and a field the source lacks is NULL.
    static func complexCast(_ value: String, from: SQLType, to type: SQLType, key: (String) -> String) throws -> String {
        switch (from, type) {
        case (.array(let source), .array(let target)):
            // Arrays of arrays, maps or structs hold jsonb elements (see PostgresType).
            let element = try convert(element: "c.e", json: source.isComplex, from: source, to: target, key: key)
            return "(CASE WHEN \(value) IS NULL THEN NULL ELSE ARRAY(SELECT \(element) "
                + "FROM unnest(\(value)) WITH ORDINALITY AS c(e, o) ORDER BY c.o) END)"
        case (.map(_, let source), .map(_, let target)):
            let element = try convert(element: "c.value", json: true, from: source, to: target, key: key)
            return "(CASE WHEN \(value) IS NULL THEN NULL ELSE (SELECT coalesce(jsonb_object_agg(c.key, to_jsonb(\(element))), '{}'::jsonb) "
                + "FROM jsonb_each(\(value)) AS c) END)"
        case (.struct(let sourceFields), .struct(let targetFields)):
            let fields = try targetFields.map { name, target -> String in
                guard let field = sourceFields.first(where: { $0.0.uppercased() == name.uppercased() }) else {
                    return "\(key(name)), NULL::jsonb"
                }
                let element = try convert(element: "(\(value) -> \(key(field.0)))", json: true, from: field.1, to: target, key: key)
                return "\(key(name)), to_jsonb(\(element))"
            }
            return "(CASE WHEN \(value) IS NULL THEN NULL ELSE jsonb_build_object(\(fields.joined(separator: ", "))) END)"
        default:
            return "CAST(\(value) AS \(try PostgresType.of(type)))"
        }
    }

    /// One element of a complex value cast to `target`; `json` when the
    /// element is held as jsonb (in a MAP, a STRUCT, or an array of complex values).
    private static func convert(element: String, json: Bool, from source: SQLType, to target: SQLType,
                                key: (String) -> String) throws -> String {
        let typed = json ? typedJSON(text: "(\(element) #>> '{}')", json: element, as: source) : element
        switch (source.isComplex, target.isComplex) {
        case (false, false): return try castSQL(typed, from: source, to: target)
        case (true, true) where source != target:
            let cast = try complexCast(typed, from: source, to: target, key: key)
            // Inside an array, a complex element is jsonb again.
            return json ? "to_jsonb(\(cast))" : cast
        default: return typed
        }
    }

    /// CAST(x AS STRING) of an ARRAY, MAP or STRUCT as ksqlDB prints them
    /// (Java's toString): [1, 3], {k=1}, Struct{A=1,B=x} without NULL fields.
    static func javaText(_ value: String, of type: SQLType, key: (String) -> String) -> String {
        switch type {
        case .array:
            return "('[' || array_to_string(\(value), ', ', 'null') || ']')"
        case .struct(let fields) where !fields.isEmpty:
            let parts = fields.map { name, _ in
                let field = "(\(value) -> \(key(name)))"
                return "CASE WHEN \(field) IS NOT NULL AND \(field) <> 'null'::jsonb THEN \(key(name + "=")) || (\(value) ->> \(key(name))) END"
            }
            return "(CASE WHEN \(value) IS NULL THEN NULL ELSE 'Struct{' || concat_ws(',', \(parts.joined(separator: ", "))) || '}' END)"
        default:
            return "(CASE WHEN \(value) IS NULL THEN NULL ELSE '{' || coalesce((SELECT string_agg(j.key || '=' || "
                + "coalesce(j.value #>> '{}', 'null'), ', ' ORDER BY j.key) FROM jsonb_each(\(value)) AS j), '') || '}' END)"
        }
    }

    /// A STRUCT field by its declared name (ksqlDB matches them case-insensitively).
    func structField(of base: Expression, named name: String) -> (name: String, type: SQLType)? {
        guard case .struct(let fields)? = staticType(base) else { return nil }
        let field = fields.first { $0.0 == name } ?? fields.first { $0.0.uppercased() == name.uppercased() }
        return field.map { (name: $0.0, type: $0.1) }
    }

    /// A value read out of jsonb as its declared type: `->>` text cast
    /// back for scalars, jsonb (`->`) for nested values and unknown types.
    static func jsonbValue(_ container: String, _ keySQL: String, as type: SQLType?) -> String {
        typedJSON(text: "(\(container) ->> \(keySQL))", json: "(\(container) -> \(keySQL))", as: type)
    }

    /// A jsonb value, given as its text and as jsonb, in its declared type.
    static func typedJSON(text: String, json: String, as type: SQLType?) -> String {
        switch type {
        case .boolean?, .integer?, .bigint?, .double?, .string?, .decimal?:
            return "CAST(\(text) AS \((try? PostgresType.of(type!)) ?? "text"))"
        case .array(let element)?:
            // A jsonb array as a PostgreSQL array (ARRAY_CONTAINS, [i]): of its scalar
            // type, or of jsonb where the elements are arrays, maps or structs.
            let scalar = [.boolean, .integer, .bigint, .double, .string].contains(element)
            let item = scalar ? "CAST(x.e #>> '{}' AS \((try? PostgresType.of(element)) ?? "text"))" : "x.e"
            return "(CASE WHEN jsonb_typeof(\(json)) = 'array' THEN ARRAY(SELECT \(item) "
                + "FROM jsonb_array_elements(\(json)) WITH ORDINALITY AS x(e, o) ORDER BY x.o) END)"
        default:
            return json
        }
    }
}

extension SQLType {
    /// An ARRAY, a MAP or a STRUCT.
    var isComplex: Bool {
        switch self {
        case .array, .map, .struct: return true
        default: return false
        }
    }
}

/// Types that compare with each other in ksqlDB.
enum ComparisonFamily {
    case number, string, boolean
    init?(_ type: SQLType) {
        switch type {
        case .integer, .bigint, .double, .decimal: self = .number
        case .string: self = .string
        case .boolean: self = .boolean
        default: return nil
        }
    }
}
