/// ksqlDB's URL functions, which read a URL as java.net.URI does: split by
/// RFC 3986's regular expression (appendix B), the parts percent-decoded
/// where URI's getters decode them; a part that is not there is NULL.
enum URLFunctions {
    /// Groups: 2 scheme, 4 authority, 5 path, 7 query, 9 fragment.
    private static func part(_ url: String, _ group: Int) -> String {
        "(regexp_match(\(url), '^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\\?([^#]*))?(#(.*))?'))[\(group)]"
    }

    private static func decoded(_ text: String) -> String { "pg_temp.kurldecode(\(text), false)" }

    static let functions: [String: ScalarFunction] = [
        "URL_ENCODE_PARAM": ScalarFunction(arity: 1...1) { a in "pg_temp.kurlencode(\(a[0]))" },
        "URL_DECODE_PARAM": ScalarFunction(arity: 1...1) { a in "pg_temp.kurldecode(\(a[0]), true)" },
        "URL_EXTRACT_PROTOCOL": ScalarFunction(arity: 1...1) { a in part(a[0], 2) },
        // The authority without its user and port.
        "URL_EXTRACT_HOST": ScalarFunction(arity: 1...1) { a in
            "nullif(regexp_replace(regexp_replace(\(part(a[0], 4)), '^.*@', ''), ':[0-9]*$', ''), '')"
        },
        "URL_EXTRACT_PORT": ScalarFunction(arity: 1...1) { a in
            "CAST(substring(\(part(a[0], 4)) from ':([0-9]{1,9})$') AS integer)"
        },
        "URL_EXTRACT_PATH": ScalarFunction(arity: 1...1) { a in decoded(part(a[0], 5)) },
        "URL_EXTRACT_QUERY": ScalarFunction(arity: 1...1) { a in decoded(part(a[0], 7)) },
        "URL_EXTRACT_FRAGMENT": ScalarFunction(arity: 1...1) { a in decoded(part(a[0], 9)) },
        // The first value given for the name, as written (not decoded); '' for a bare name.
        "URL_EXTRACT_PARAMETER": ScalarFunction(arity: 2...2) { a in
            "(SELECT coalesce(substr(p, length(\(a[1])) + 2), '') FROM unnest(string_to_array(\(part(a[0], 7)), '&')) "
                + "WITH ORDINALITY AS q(p, n) WHERE split_part(p, '=', 1) = \(a[1]) ORDER BY n LIMIT 1)"
        },
    ]

    /// The result types of `functions`.
    static let types: [String: SQLType] = Dictionary(uniqueKeysWithValues: functions.keys.map { ($0, $0 == "URL_EXTRACT_PORT" ? SQLType.integer : .string) })
}
