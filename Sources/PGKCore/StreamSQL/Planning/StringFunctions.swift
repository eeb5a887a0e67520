/// ksqlDB's string functions.
enum StringFunctions {
    static let functions: [String: ScalarFunction] = [
        "UCASE": .plain("upper", 1...1), "UPPER": .plain("upper", 1...1),
        "LCASE": .plain("lower", 1...1), "LOWER": .plain("lower", 1...1),
        "LEN": .plain("length", 1...1), "LENGTH": .plain("length", 1...1),
        // Java's trim(): every character up to U+0020 (tabs, newlines…), not only spaces.
        "TRIM": javaTrim("btrim"), "LTRIM": javaTrim("ltrim"), "RTRIM": javaTrim("rtrim"),
        // Over BYTES, concat() would join their text forms.
        "CONCAT": ScalarFunction(arity: 1...64, typed: { a, types in
            types.contains(.bytes) ? bytesConcatenation(a, separated: false) : "concat(\(a.joined(separator: ", ")))"
        }),
        "CONCAT_WS": ScalarFunction(arity: 2...64, typed: { a, types in
            types.contains(.bytes) ? bytesConcatenation(a, separated: true) : "concat_ws(\(a.joined(separator: ", ")))"
        }),
        // ksqlDB counts a negative position from the end, and 0 as 1.
        "SUBSTRING": ScalarFunction(arity: 2...3) { args in
            let start = "CASE WHEN \(args[1]) > 0 THEN \(args[1]) WHEN \(args[1]) = 0 THEN 1 "
                + "ELSE greatest(length(\(args[0])) + \(args[1]) + 1, 1) END"
            // A NULL position makes NULL (greatest() would skip it).
            return "(CASE WHEN \(args[1]) IS NULL THEN NULL ELSE substr(\(args[0]), \(start)\(args.count > 2 ? ", \(args[2])" : "")) END)"
        },
        "REPLACE": .plain("replace", 3...3),
        // From a position (negative: counted from the end, searching
        // backwards), the n-th occurrence; 0 where there is none.
        "INSTR": ScalarFunction(arity: 2...4) { a in
            guard a.count > 2 else { return "strpos(\(a[0]), \(a[1]))" }
            let (s, sub, p, n) = (a[0], a[1], a[2], a.count > 3 ? a[3] : "1")
            let forward = "\(p) > 0"
            let candidates = "generate_series(CASE WHEN \(forward) THEN \(p) ELSE char_length(\(s)) + \(p) + 1 END, "
                + "CASE WHEN \(forward) THEN char_length(\(s)) - char_length(\(sub)) + 1 ELSE 1 END, CASE WHEN \(forward) THEN 1 ELSE -1 END)"
            return "(CASE WHEN \(s) IS NULL OR \(sub) IS NULL THEN NULL WHEN \(p) = 0 OR \(n) < 1 THEN 0 ELSE coalesce((SELECT g.i FROM \(candidates) AS g(i) "
                + "WHERE substr(\(s), g.i, char_length(\(sub))) = \(sub) ORDER BY CASE WHEN \(forward) THEN g.i ELSE -g.i END "
                + "OFFSET \(n) - 1 LIMIT 1), 0) END)"
        },
        // NULL for an empty padding or a negative length, as in ksqlDB.
        "LPAD": padding("lpad"), "RPAD": padding("rpad"),
        "ELT": ScalarFunction(arity: 2...64) { a in "(ARRAY[\(a.dropFirst().joined(separator: ", "))])[\(a[0])]" },
        "FIELD": ScalarFunction(arity: 2...64) { a in
            "(CASE WHEN \(a[0]) IS NULL THEN 0 ELSE coalesce(array_position(ARRAY[\(a.dropFirst().joined(separator: ", "))], \(a[0])), 0) END)"
        },
        // A code point, or its '\\uXXXX' text; NULL where it names no character.
        "CHR": ScalarFunction(arity: 1...1, typed: { a, types in
            // '\\uXXXX', or a UTF-16 surrogate pair '\\uD8xx\\uDCxx', as Java unescapes it.
            func hex(_ start: Int) -> String { "CAST(CAST('x' || lpad(substr(\(a[0]), \(start), 4), 8, '0') AS bit(32)) AS integer)" }
            let code = types[0] == .string
                ? "(CASE WHEN \(a[0]) ~ '^\\\\u[0-9A-Fa-f]{4}$' THEN \(hex(3)) "
                    + "WHEN \(a[0]) ~ '^\\\\u[dD][89abAB][0-9A-Fa-f]{2}\\\\u[dD][c-fC-F][0-9A-Fa-f]{2}$' "
                    + "THEN 65536 + (\(hex(3)) - 55296) * 1024 + (\(hex(9)) - 56320) END)"
                : "CAST(\(a[0]) AS integer)"
            return "(CASE WHEN \(code) BETWEEN 1 AND 1114111 AND \(code) NOT BETWEEN 55296 AND 57343 THEN chr(\(code)) END)"
        }),
        "MASK": ScalarFunction(arity: 1...5) { a in mask(a[0], Array(a.dropFirst())) },
        "MASK_KEEP_LEFT": ScalarFunction(arity: 2...6) { a in
            "(left(\(a[0]), \(a[1])) || \(mask("substr(\(a[0]), \(a[1]) + 1)", Array(a.dropFirst(2)))))"
        },
        "MASK_KEEP_RIGHT": ScalarFunction(arity: 2...6) { a in
            "(\(mask("left(\(a[0]), greatest(char_length(\(a[0])) - \(a[1]), 0))", Array(a.dropFirst(2)))) || right(\(a[0]), \(a[1])))"
        },
        "MASK_LEFT": ScalarFunction(arity: 2...6) { a in
            "(\(mask("left(\(a[0]), \(a[1]))", Array(a.dropFirst(2)))) || substr(\(a[0]), \(a[1]) + 1))"
        },
        "MASK_RIGHT": ScalarFunction(arity: 2...6) { a in
            "(left(\(a[0]), greatest(char_length(\(a[0])) - \(a[1]), 0)) || \(mask("right(\(a[0]), \(a[1]))", Array(a.dropFirst(2)))))"
        },
        "REGEXP_EXTRACT_ALL": ScalarFunction(arity: 2...3) { a in
            "(CASE WHEN \(a[0]) IS NULL OR \(a[1]) IS NULL THEN NULL ELSE ARRAY(SELECT m[\(a.count == 2 ? "1" : "\(a[2]) + 1")] "
                + "FROM regexp_matches(\(a[1]), '(' || \(a[0]) || ')', 'g') AS m) END)"
        },
        "REGEXP_SPLIT_TO_ARRAY": .plain("regexp_split_to_array", 2...2),
        // Entries without the key-value delimiter are left out; a later key wins.
        "SPLIT_TO_MAP": ScalarFunction(arity: 3...3) { a in
            "(CASE WHEN \(a[0]) IS NULL OR coalesce(\(a[1]), '') = '' OR coalesce(\(a[2]), '') = '' THEN NULL ELSE "
                + "(SELECT coalesce(jsonb_object_agg(split_part(e, \(a[2]), 1), split_part(e, \(a[2]), 2)), '{}') "
                + "FROM unnest(string_to_array(\(a[0]), \(a[1]))) AS e WHERE strpos(e, \(a[2])) > 0) END)"
        },
        "UUID": ScalarFunction(arity: 0...0) { _ in "CAST(gen_random_uuid() AS text)" },
        // A JSON path into a JSON string: the value's text, NULL for bad JSON.
        // Its JSONPath's names are quoted for PostgreSQL (`$.@type`, `$['a b']` become `$."@type"`, `$."a b"`).
        "EXTRACTJSONFIELD": ScalarFunction(arity: 2...2) { a in
            let quoted = #"regexp_replace(regexp_replace(\#(a[1]), '\[''([^'']*)''\]', '."\1"', 'g'), '\.([^."\[\]]+)', '."\1"', 'g')"#
            return "(jsonb_path_query_first(pg_temp.kjson(\(a[0])), CAST(\(quoted) AS jsonpath)) #>> '{}')"
        },
        "SPLIT": ScalarFunction(arity: 2...2, typed: { a, types in
            types[0] == .bytes ? BytesFunctions.split(a[0], a[1])
                // Java's split and Guava's Splitter give [""] for "", PostgreSQL {}.
                : "(CASE WHEN \(a[0]) = '' AND \(a[1]) IS NOT NULL THEN ARRAY[''] WHEN \(a[1]) = '' "
                    + "THEN regexp_split_to_array(\(a[0]), '') ELSE string_to_array(\(a[0]), \(a[1])) END)"
        }),
        "INITCAP": .plain("initcap", 1...1),
        "REGEXP_REPLACE": ScalarFunction(arity: 3...3) { a in "regexp_replace(\(a[0]), \(a[1]), \(a[2]), 'g')" },
        // Group n (0, or none, is the whole match): an outer group makes it n + 1.
        "REGEXP_EXTRACT": ScalarFunction(arity: 2...3) { a in
            "(regexp_match(\(a[1]), '(' || \(a[0]) || ')'))[\(a.count == 2 ? "1" : "\(a[2]) + 1")]"
        },
        // Encodings as ksqlDB names them: hex, utf8, ascii, base64.
        "TO_BYTES": ScalarFunction(arity: 2...2) { a in toBytes(a[0], a[1]) },
        "ENCODE": ScalarFunction(arity: 3...3) { a in encodedOutput(encodedInput(a[0], a[1]), a[2]) },
        "FROM_BYTES": ScalarFunction(arity: 2...2) { a in fromBytes(a[0], a[1]) },
    ]

    /// Names of the string functions whose result is a STRING.
    static let returningString: Set<String> = [
        "CONCAT", "CONCAT_WS", "UCASE", "LCASE", "UPPER", "LOWER", "TRIM", "LTRIM", "RTRIM", "SUBSTRING", "REPLACE",
        "LPAD", "RPAD", "FROM_BYTES", "ELT", "CHR", "MASK", "MASK_KEEP_LEFT", "MASK_KEEP_RIGHT", "MASK_LEFT",
        "MASK_RIGHT", "UUID", "ENCODE", "EXTRACTJSONFIELD", "INITCAP", "REGEXP_REPLACE", "REGEXP_EXTRACT",
    ]

    /// CONCAT and CONCAT_WS over BYTES. NULLs are skipped; a NULL separator makes NULL.
    private static func bytesConcatenation(_ args: [String], separated: Bool) -> String {
        let parts = (separated ? args.dropFirst() : args[...]).map { "CAST(\($0) AS bytea)" }.joined(separator: ", ")
        let separator = separated ? "CAST(\(args[0]) AS bytea)" : "'\\x'::bytea"
        let joined = "(SELECT string_agg(u.x, \(separator) ORDER BY u.o) FROM unnest(ARRAY[\(parts)]) WITH ORDINALITY AS u(x, o))"
        return separated ? "CASE WHEN \(separator) IS NULL THEN NULL ELSE coalesce(\(joined), '\\x'::bytea) END"
            : "coalesce(\(joined), '\\x'::bytea)"
    }

    private static func javaTrim(_ pgName: String) -> ScalarFunction {
        // The characters U+0001…U+0020 as an E'' literal (PostgreSQL text holds no U+0000).
        let controls = (1...32).map { String(format: "\\x%02X", $0) }.joined()
        return ScalarFunction(arity: 1...1) { "\(pgName)(\($0[0]), E'\(controls)')" }
    }

    private static func padding(_ name: String) -> ScalarFunction {
        ScalarFunction(arity: 3...3) { a in
            "(CASE WHEN \(a[2]) = '' OR \(a[1]) < 0 THEN NULL ELSE \(name)(\(a[0]), \(a[1]), \(a[2])) END)"
        }
    }

    /// Upper case, lower case, digits and the rest replaced: by X, x, n
    /// and - unless given; a NULL replacement keeps that class as it is.
    private static func mask(_ text: String, _ replacements: [String]) -> String {
        let classes = [("[^A-Za-z0-9]", 3, "'-'"), ("[A-Z]", 0, "'X'"), ("[a-z]", 1, "'x'"), ("[0-9]", 2, "'n'")]
        return classes.reduce(text) { masked, item in
            let replacement = item.1 < replacements.count ? "coalesce(\(replacements[item.1]), '\\&')" : item.2
            return "regexp_replace(\(masked), '\(item.0)', \(replacement), 'g')"
        }
    }

    private static func toBytes(_ text: String, _ encoding: String) -> String {
        "(CASE lower(\(encoding)) WHEN 'hex' THEN decode(\(text), 'hex') WHEN 'base64' THEN decode(\(text), 'base64') "
            + "WHEN 'utf8' THEN convert_to(\(text), 'UTF8') WHEN 'ascii' THEN convert_to(\(text), 'SQL_ASCII') END)"
    }

    /// ENCODE's reading, as ksqlDB's: hex may start 0x (an odd digit count
    /// then gets a leading 0) or be quoted X'…'; ASCII turns each other
    /// character into '?', as Java's encoder does. Unreadable text is NULL.
    private static func encodedInput(_ text: String, _ encoding: String) -> String {
        let hexDigits = "[0-9a-fA-F]*"
        return "(CASE lower(\(encoding)) WHEN 'hex' THEN (CASE "
            + "WHEN \(text) ~ '^0x\(hexDigits)$' THEN decode(CASE WHEN length(\(text)) % 2 = 1 THEN '0' ELSE '' END || substr(\(text), 3), 'hex') "
            + "WHEN \(text) ~ '^[xX]''\(hexDigits)''$' AND length(\(text)) % 2 = 1 THEN decode(substr(\(text), 3, length(\(text)) - 3), 'hex') "
            + "WHEN \(text) ~ '^\(hexDigits)$' AND length(\(text)) % 2 = 0 THEN decode(\(text), 'hex') END) "
            + "WHEN 'ascii' THEN convert_to(regexp_replace(\(text), '[^\\x01-\\x7f]', '?', 'g'), 'SQL_ASCII') "
            + "ELSE \(toBytes(text, encoding)) END)"
    }

    /// ENCODE's writing: lower-case hex, and ASCII with U+FFFD for each byte above 127, as Java decodes it.
    private static func encodedOutput(_ bytes: String, _ encoding: String) -> String {
        "(CASE lower(\(encoding)) WHEN 'hex' THEN encode(\(bytes), 'hex') "
            + "WHEN 'ascii' THEN (SELECT CASE WHEN \(bytes) IS NOT NULL THEN coalesce(string_agg(CASE WHEN get_byte(\(bytes), i) < 128 THEN chr(get_byte(\(bytes), i)) "
            + "ELSE chr(65533) END, '' ORDER BY i), '') END FROM generate_series(0, length(\(bytes)) - 1) AS i) "
            + "ELSE \(fromBytes(bytes, encoding)) END)"
    }

    private static func fromBytes(_ bytes: String, _ encoding: String) -> String {
        // PostgreSQL's base64 breaks lines every 76 characters and its hex
        // is lower-case; ksqlDB's are neither.
        "(CASE lower(\(encoding)) WHEN 'hex' THEN upper(encode(\(bytes), 'hex')) "
            + "WHEN 'base64' THEN translate(encode(\(bytes), 'base64'), E'\\n', '') "
            + "WHEN 'utf8' THEN convert_from(\(bytes), 'UTF8') WHEN 'ascii' THEN convert_from(\(bytes), 'SQL_ASCII') END)"
    }
}
