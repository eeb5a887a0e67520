/// ksqlDB's array and map functions. Arrays are PostgreSQL arrays, kept
/// in order; set-like results keep each element's first occurrence, as
/// ksqlDB's do. MAPs are jsonb objects, whose keys PostgreSQL sorts.
enum CollectionFunctions {
    /// `body` over the array's elements (alias u.e, u.o their order); NULL for a NULL array.
    private static func overElements(_ array: String, _ body: String) -> String {
        "(CASE WHEN \(array) IS NULL THEN NULL ELSE \(body) END)"
    }

    /// Distinct elements of `array` that pass `condition` on u.e, in order of first occurrence.
    private static func distinct(_ array: String, where condition: String = "TRUE") -> String {
        "ARRAY(SELECT u.e FROM unnest(\(array)) WITH ORDINALITY AS u(e, o) WHERE \(condition) GROUP BY u.e ORDER BY min(u.o))"
    }

    private static func contains(_ array: String, _ element: String) -> String {
        "EXISTS (SELECT 1 FROM unnest(\(array)) AS x(e) WHERE x.e IS NOT DISTINCT FROM \(element))"
    }

    static let functions: [String: ScalarFunction] = [
        "ARRAY_DISTINCT": ScalarFunction(arity: 1...1) { a in overElements(a[0], distinct(a[0])) },
        "ARRAY_UNION": ScalarFunction(arity: 2...2) { a in
            "(CASE WHEN \(a[0]) IS NULL OR \(a[1]) IS NULL THEN NULL ELSE \(distinct("\(a[0]) || \(a[1])")) END)"
        },
        "ARRAY_INTERSECT": ScalarFunction(arity: 2...2) { a in
            "(CASE WHEN \(a[0]) IS NULL OR \(a[1]) IS NULL THEN NULL ELSE \(distinct(a[0], where: contains(a[1], "u.e"))) END)"
        },
        "ARRAY_EXCEPT": ScalarFunction(arity: 2...2) { a in
            "(CASE WHEN \(a[0]) IS NULL OR \(a[1]) IS NULL THEN NULL ELSE \(distinct(a[0], where: "NOT " + contains(a[1], "u.e"))) END)"
        },
        "ARRAY_REMOVE": ScalarFunction(arity: 2...2, typed: { a, types in
            // Arrays of arrays hold jsonb elements (see PostgresType): the array removed is compared as jsonb.
            var removed = a[1]
            if case .array(.array)? = types[0] { removed = "to_jsonb(\(a[1]))" }
            return overElements(a[0], "ARRAY(SELECT u.e FROM unnest(\(a[0])) WITH ORDINALITY AS u(e, o) "
                + "WHERE u.e IS DISTINCT FROM \(removed) ORDER BY u.o)")
        }),
        // Booleans order false before true, as Java's do (PostgreSQL has no max(boolean)).
        "ARRAY_MAX": ScalarFunction(arity: 1...1, typed: { a, types in
            "(SELECT \(types[0] == .array(.boolean) ? "bool_or" : "max")(x.e) FROM unnest(\(a[0])) AS x(e))"
        }),
        "ARRAY_MIN": ScalarFunction(arity: 1...1, typed: { a, types in
            "(SELECT \(types[0] == .array(.boolean) ? "bool_and" : "min")(x.e) FROM unnest(\(a[0])) AS x(e))"
        }),
        // ASC unless 'DESC'; NULLs last either way.
        "ARRAY_SORT": ScalarFunction(arity: 1...2) { a in
            let descending = a.count > 1 ? "upper(\(a[1])) = 'DESC'" : "FALSE"
            return overElements(a[0], "ARRAY(SELECT x.e FROM unnest(\(a[0])) AS x(e) ORDER BY "
                + "CASE WHEN \(descending) THEN NULL ELSE x.e END ASC NULLS LAST, CASE WHEN \(descending) THEN x.e END DESC NULLS LAST)")
        },
        // Elements as Java prints them (true, 1.0), joined by the delimiter
        // (',' unless given; none when NULL); NULL elements read null.
        "ARRAY_JOIN": ScalarFunction(arity: 1...2, typed: { a, types in
            let delimiter = a.count > 1 ? "coalesce(\(a[1]), '')" : "','"
            let element: String
            switch types[0] {
            case .array(.boolean)?: element = "CASE x.e WHEN true THEN 'true' WHEN false THEN 'false' END"
            case .array(.double)?: element = "pg_temp.kdouble(x.e)"
            default: return "array_to_string(\(a[0]), \(delimiter), 'null')"
            }
            return overElements(a[0], "(SELECT coalesce(string_agg(coalesce(\(element), 'null'), \(delimiter) ORDER BY x.o), '') "
                + "FROM unnest(\(a[0])) WITH ORDINALITY AS x(e, o))")
        }),
        // Counts down when the end is below the start, unless a step says otherwise.
        "GENERATE_SERIES": ScalarFunction(arity: 2...3) { a in
            let step = a.count > 2 ? a[2] : "CASE WHEN \(a[1]) < \(a[0]) THEN -1 ELSE 1 END"
            return "ARRAY(SELECT generate_series(\(a[0]), \(a[1]), \(step)))"
        },
        // A NULL side is left out; both NULL make NULL.
        "ARRAY_CONCAT": ScalarFunction(arity: 2...2) { a in
            "(CASE WHEN \(a[0]) IS NULL AND \(a[1]) IS NULL THEN NULL ELSE coalesce(\(a[0]), (\(a[1]))[0:0]) || coalesce(\(a[1]), (\(a[0]))[0:0]) END)"
        },
        // Keys paired with the value at the same position; extra values are dropped.
        "AS_MAP": ScalarFunction(arity: 2...2) { a in
            "(CASE WHEN \(a[0]) IS NULL OR \(a[1]) IS NULL THEN NULL ELSE (SELECT coalesce(jsonb_object_agg(u.k, to_jsonb(u.v)), '{}'::jsonb) "
                + "FROM unnest(\(a[0]), \(a[1])) AS u(k, v) WHERE u.k IS NOT NULL) END)"
        },
        // The entries as STRUCT<K, V>, in key order when asked (else in jsonb's).
        "ENTRIES": ScalarFunction(arity: 2...2) { a in
            overElements(a[0], "ARRAY(SELECT jsonb_build_object('K', j.key, 'V', j.value) FROM jsonb_each(\(a[0])) WITH ORDINALITY AS j(key, value, o) "
                + "ORDER BY CASE WHEN \(a[1]) THEN j.key END, j.o)")
        },
        // 1-based and inclusive, as ksqlDB's SLICE.
        "SLICE": ScalarFunction(arity: 3...3) { a in "(\(a[0]))[\(a[1]):\(a[2])]" },
        // Both maps' entries, the second's value where a key is in both.
        "MAP_UNION": ScalarFunction(arity: 2...2) { a in
            "(CASE WHEN \(a[0]) IS NULL THEN \(a[1]) WHEN \(a[1]) IS NULL THEN \(a[0]) ELSE \(a[0]) || \(a[1]) END)"
        },
        "MAP_KEYS": ScalarFunction(arity: 1...1) { a in
            overElements(a[0], "ARRAY(SELECT k FROM jsonb_object_keys(\(a[0])) AS k ORDER BY k)")
        },
        "MAP_VALUES": ScalarFunction(arity: 1...1, typed: { a, types in
            guard case .map(_, let value)? = types[0] else {
                return overElements(a[0], "ARRAY(SELECT j.value FROM jsonb_each(\(a[0])) AS j ORDER BY j.key)")
            }
            let element = ExpressionTranslator.typedJSON(text: "(j.value #>> '{}')", json: "j.value", as: value)
            return overElements(a[0], "ARRAY(SELECT \(element) FROM jsonb_each(\(a[0])) AS j ORDER BY j.key)")
        }),
    ]
}
