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
        "JSON_RECORDS": .map(.string, .string), "JSON_ARRAY_CONTAINS": .boolean,
    ]
}
