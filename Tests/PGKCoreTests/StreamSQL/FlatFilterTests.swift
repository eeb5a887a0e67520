import Testing
@testable import PGKCore

/// FlatFilter: which WHEREs it takes, and SQL's three-valued logic.
@Suite struct FlatFilterTests {
    /// Columns V INT (0), D DOUBLE (1), S STRING (2), B BOOLEAN (3).
    static func filter(_ condition: String) throws -> FlatFilter? {
        let expression = try SQLParser.parseExpression(condition)
        let columns: [String: (Int, SQLType)] = ["V": (0, .integer), "D": (1, .double), "S": (2, .string), "B": (3, .boolean)]
        return FlatFilter(expression) { expression in
            guard case .column(_, let name) = expression else { return nil }
            return columns[name.uppercased()].map { (field: $0.0, type: $0.1) }
        }
    }

    static func evaluate(_ filter: FlatFilter?, v: Int64?, d: Double? = nil, s: String? = nil, b: Bool? = nil) -> Bool?? {
        guard let filter else { return .none }
        let text = Array((s ?? "").utf8)
        return text.withUnsafeBufferPointer { text in
            .some(filter.evaluate { field in
                switch field {
                case 0: return v.map { .integer($0) } ?? .null
                case 1: return d.map { .double($0) } ?? .null
                case 2: return s == nil ? .null : .text(text)
                default: return b.map { .boolean($0) } ?? .null
                }
            })
        }
    }

    @Test func comparesAsPostgreSQLDoes() throws {
        #expect(Self.evaluate(try Self.filter("v > 2"), v: 3) == true)
        #expect(Self.evaluate(try Self.filter("2 < v"), v: 2) == false)
        #expect(Self.evaluate(try Self.filter("v >= -2"), v: -2) == true)
        #expect(Self.evaluate(try Self.filter("v <> 1"), v: nil) == .some(nil))
        #expect(Self.evaluate(try Self.filter("d <= 1.5"), v: nil, d: 1.5) == true)
        #expect(Self.evaluate(try Self.filter("d < 1"), v: nil, d: 0.9999999999999999) == true)
        #expect(Self.evaluate(try Self.filter("s = 'é'"), v: nil, s: "é") == true)
        #expect(Self.evaluate(try Self.filter("s <> 'x'"), v: nil, s: "xy") == true)
        #expect(Self.evaluate(try Self.filter("b"), v: nil, b: true) == true)
        #expect(Self.evaluate(try Self.filter("b = false"), v: nil, b: true) == false)
        #expect(Self.evaluate(try Self.filter("s IS NULL"), v: nil) == true)
        #expect(Self.evaluate(try Self.filter("v IS NOT NULL"), v: nil) == false)
    }

    /// AND, OR and NOT over TRUE, FALSE and NULL, as SQL's truth tables.
    @Test func followsThreeValuedLogic() throws {
        // v > 0: true for 1, false for -1, NULL for nil; likewise d > 0.
        let cases: [(Int64?, Double?)] = [(1, 1), (1, -1), (1, nil), (-1, -1), (-1, nil), (nil, nil)]
        func sql(_ x: Bool?, _ y: Bool?, and: Bool) -> Bool? {
            if and { if x == false || y == false { return false }; return x == true && y == true ? true : nil }
            if x == true || y == true { return true }
            return x == false && y == false ? false : nil
        }
        for (v, d) in cases {
            let x: Bool? = v.map { $0 > 0 }, y: Bool? = d.map { $0 > 0 }
            #expect(Self.evaluate(try Self.filter("v > 0 AND d > 0"), v: v, d: d) == .some(sql(x, y, and: true)), "\(v as Any) \(d as Any)")
            #expect(Self.evaluate(try Self.filter("v > 0 OR d > 0"), v: v, d: d) == .some(sql(x, y, and: false)), "\(v as Any) \(d as Any)")
            #expect(Self.evaluate(try Self.filter("NOT (v > 0 AND d > 0)"), v: v, d: d) == .some(sql(x, y, and: true).map { !$0 }))
            #expect(Self.evaluate(try Self.filter("NOT (v > 0 OR d > 0)"), v: v, d: d) == .some(sql(x, y, and: false).map { !$0 }))
        }
    }

    /// What it cannot say exactly as PostgreSQL would is left to SQL.
    @Test func declinesTheRest() throws {
        for condition in ["v > 1.5", "s < 'x'", "b > true", "v + 1 > 2", "v = NULL", "1 = 1", "v BETWEEN 1 AND 2", "v IN (1, 2)",
                          "s LIKE 'a%'", "d > 9007199254740993", "ROWTIME > 5", "v > 2 AND s LIKE 'x'", "s = 1", "v = 'x'"] {
            #expect(try Self.filter(condition) == nil, "\(condition)")
        }
    }
}
