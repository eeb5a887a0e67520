/// ksqlDB's functions over JSON held in strings. The text is read as
/// Jackson reads it (pg_temp.kjsonraw: a first object or array, whatever
/// follows it), as `json`, which keeps an object's keys in document order.
enum JSONFunctions {
    private static func json(_ text: String) -> String { "pg_temp.kjsonraw(\(text))" }

    static let functions: [String: ScalarFunction] = [
        "IS_JSON_STRING": ScalarFunction(arity: 1...1) { a in "(\(json(a[0])) IS NOT NULL)" },
        // NULL unless the text holds an array (or, for the keys, an object).
        "JSON_ARRAY_LENGTH": ScalarFunction(arity: 1...1) { a in
            "(CASE WHEN json_typeof(\(json(a[0]))) = 'array' THEN json_array_length(\(json(a[0]))) END)"
        },
        "JSON_KEYS": ScalarFunction(arity: 1...1) { a in
            "(CASE WHEN json_typeof(\(json(a[0]))) = 'object' THEN ARRAY(SELECT json_object_keys(\(json(a[0])))) END)"
        },
        // Each value as text: a string's own text, anything else its JSON.
        "JSON_RECORDS": ScalarFunction(arity: 1...1) { a in
            "(CASE WHEN json_typeof(\(json(a[0]))) = 'object' THEN coalesce((SELECT jsonb_object_agg(e.key, e.value #>> '{}') "
                + "FROM json_each(\(json(a[0]))) AS e), '{}'::jsonb) END)"
        },
        "JSON_ARRAY_CONTAINS": ScalarFunction(arity: 2...2) { a in
            "coalesce(jsonb_typeof(pg_temp.kjson(\(a[0]))) = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements(pg_temp.kjson(\(a[0]))) "
                + "AS e WHERE e = to_jsonb(\(a[1]))), false)"
        },
    ]

    /// The result types of `functions`.
    static let types: [String: SQLType] = [
        "IS_JSON_STRING": .boolean, "JSON_ARRAY_LENGTH": .integer, "JSON_KEYS": .array(.string),
        "JSON_RECORDS": .map(.string, .string), "JSON_ARRAY_CONTAINS": .boolean, "TO_JSON_STRING": .string,
    ]
}

/// TO_JSON_STRING: a value as the compact JSON text ksqlDB's Jackson
/// writes. STRUCT fields keep their declared order (jsonb would sort
/// them), times are ISO text, BYTES base64, a whole DOUBLE keeps its
/// ".0", and NULL is `null`. Field names are SQL parameters (`key`).
extension ExpressionTranslator {
    static func jsonText(_ value: String, of type: SQLType?, key: (String) -> String) -> String {
        "coalesce(\(jsonValueText(value, of: type, depth: 0, key: key)), 'null')"
    }

    /// NULL for a NULL (or JSON null) value; `depth` keeps nested aliases apart.
    private static func jsonValueText(_ v: String, of type: SQLType?, depth: Int, key: (String) -> String) -> String {
        let isNull = "\(v) IS NULL"
        switch type {
        case .double?:
            // Java prints 1.0 where PostgreSQL prints 1 (and 1.0E7 from ten million on).
            return "(CASE WHEN \(v) = trunc(\(v)) AND abs(\(v)) < 1e7 THEN CAST(CAST(\(v) AS numeric) AS text) || '.0' "
                + "ELSE to_jsonb(\(v))::text END)"
        case .bytes?:
            return "to_jsonb(translate(encode(\(v), 'base64'), chr(10), ''))::text"
        case .date?:
            return "to_jsonb(to_char(\(v), 'YYYY-MM-DD'))::text"
        case .time?:
            return "to_jsonb(to_char(\(v), CASE WHEN extract(microseconds FROM \(v)) % 1000000 = 0 THEN 'HH24:MI:SS' ELSE 'HH24:MI:SS.MS' END))::text"
        case .timestamp?:
            return "to_jsonb(to_char(\(v), 'YYYY-MM-DD\"T\"HH24:MI:SS.MS'))::text"
        case .struct(let fields)?:
            let parts = fields.map { name, fieldType in
                let name = key(name)  // one parameter per field, used by every reference
                let field = typedJSON(text: "(\(v) ->> \(name))", json: "(\(v) -> \(name))", as: fieldType)
                return "to_jsonb(\(name))::text || ':' || coalesce(\(jsonValueText(field, of: fieldType, depth: depth + 1, key: key)), 'null')"
            }
            let body = parts.isEmpty ? "'{}'" : "'{' || \(parts.joined(separator: " || ',' || ")) || '}'"
            return "(CASE WHEN \(isNull) OR jsonb_typeof(\(v)) = 'null' THEN NULL ELSE \(body) END)"
        case .map(_, let valueType)?:
            let e = "e\(depth)"
            let element = typedJSON(text: "(\(e).value #>> '{}')", json: "\(e).value", as: valueType)
            let rendered = "coalesce(\(jsonValueText(element, of: valueType, depth: depth + 1, key: key)), 'null')"
            return "(CASE WHEN \(isNull) OR jsonb_typeof(\(v)) = 'null' THEN NULL ELSE '{' || coalesce((SELECT string_agg("
                + "to_jsonb(\(e).key)::text || ':' || \(rendered), ',' ORDER BY \(e).o) FROM jsonb_each(\(v)) WITH ORDINALITY AS \(e)(key, value, o)), '') || '}' END)"
        case .array(let elementType)?:
            let x = "x\(depth)"
            // Arrays of ARRAYs, MAPs or STRUCTs hold jsonb elements (see PostgresType).
            let item = elementType.isComplex ? typedJSON(text: "(\(x).e #>> '{}')", json: "\(x).e", as: elementType) : "\(x).e"
            let rendered = "coalesce(\(jsonValueText(item, of: elementType, depth: depth + 1, key: key)), 'null')"
            return "(CASE WHEN \(isNull) THEN NULL ELSE '[' || coalesce((SELECT string_agg(\(rendered), ',' ORDER BY \(x).o) "
                + "FROM unnest(\(v)) WITH ORDINALITY AS \(x)(e, o)), '') || ']' END)"
        default:
            return "to_jsonb(\(v))::text"
        }
    }
}
