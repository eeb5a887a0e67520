/// ksqlDB's functions over BYTES that PostgreSQL's bytea lacks: numbers
/// read from their bytes, and SPLIT.
enum BytesFunctions {
    static let functions: [String: ScalarFunction] = [
        // Exactly 4 or 8 bytes, big-endian unless 'LITTLE_ENDIAN' is given; otherwise NULL.
        "INT_FROM_BYTES": ScalarFunction(arity: 1...2) { a in
            "(CASE WHEN length(\(a[0])) = 4 THEN CAST(CAST('x' || \(hex(a)) AS bit(32)) AS integer) END)"
        },
        "BIGINT_FROM_BYTES": ScalarFunction(arity: 1...2) { a in
            "(CASE WHEN length(\(a[0])) = 8 THEN CAST(CAST('x' || \(hex(a)) AS bit(64)) AS bigint) END)"
        },
        "DOUBLE_FROM_BYTES": ScalarFunction(arity: 1...2) { a in
            "(CASE WHEN length(\(a[0])) = 8 THEN \(double(bits: "CAST(CAST('x' || \(hex(a)) AS bit(64)) AS bigint)")) END)"
        },
    ]

    /// The result types of `functions`.
    static let types: [String: SQLType] = ["INT_FROM_BYTES": .integer, "BIGINT_FROM_BYTES": .bigint, "DOUBLE_FROM_BYTES": .double]

    /// The bytes as hex, most significant first.
    private static func hex(_ a: [String]) -> String {
        let bigEndian = "encode(\(a[0]), 'hex')"
        guard a.count > 1 else { return bigEndian }
        let reversed = "(SELECT string_agg(substr(\(bigEndian), i, 2), '' ORDER BY i DESC) FROM generate_series(1, 2 * length(\(a[0])), 2) AS i)"
        return "(CASE WHEN upper(\(a[1])) = 'LITTLE_ENDIAN' THEN \(reversed) ELSE \(bigEndian) END)"
    }

    /// An IEEE 754 double from its 64 bits (PostgreSQL has no such cast).
    private static func double(bits: String) -> String {
        """
        (SELECT CASE WHEN p.e = 2047 THEN CASE WHEN p.m = 0 THEN p.s * 'Infinity'::float8 ELSE 'NaN'::float8 END \
        WHEN p.e = 0 THEN p.s * p.m * power(2::float8, -1074) \
        ELSE p.s * (1 + p.m / 4503599627370496::float8) * power(2::float8, p.e - 1023) END \
        FROM (SELECT CASE WHEN r.v < 0 THEN -1::float8 ELSE 1::float8 END AS s, (r.v >> 52) & 2047 AS e, \
        CAST(r.v & 4503599627370495 AS float8) AS m FROM (SELECT \(bits) AS v) AS r) AS p)
        """
    }

    /// SPLIT over BYTES: each byte read as a LATIN1 character, split as
    /// text, and written back, so any delimiter splits on byte boundaries.
    static func split(_ bytes: String, _ delimiter: String) -> String {
        let text = "convert_from(\(bytes), 'LATIN1')", by = "convert_from(\(delimiter), 'LATIN1')"
        let parts = "(CASE WHEN \(by) = '' THEN regexp_split_to_array(\(text), '') ELSE string_to_array(\(text), \(by)) END)"
        return "(CASE WHEN \(bytes) IS NULL OR \(delimiter) IS NULL THEN NULL ELSE "
            + "ARRAY(SELECT convert_to(u.e, 'LATIN1') FROM unnest(\(parts)) WITH ORDINALITY AS u(e, o) ORDER BY u.o) END)"
    }
}
