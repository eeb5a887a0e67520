/// SELECT in ksqlDB's clause order: FROM, JOINs, WINDOW, WHERE, GROUP BY,
/// HAVING, PARTITION BY, EMIT, LIMIT.
extension SQLTokenParser {
    /// Everything after the SELECT keyword.
    mutating func selectBody() throws -> Select {
        var items = [try selectItem()]
        while accept(symbol: ",") { items.append(try selectItem()) }
        try expect("FROM")
        var select = Select(items: items, from: try relation())
        while let kind = try joinKind() { select.joins.append(try join(kind)) }
        if accept("WINDOW") { select.window = try window() }
        if accept("WHERE") { select.filter = try expression() }
        // ksqlDB wants PARTITION BY last, but scripts written for other engines put it first.
        while true {
            if select.groupBy.isEmpty, accept("GROUP") {
                try expect("BY")
                select.groupBy = try groupingSet() ?? expressionList()
            } else if select.having == nil, accept("HAVING") {
                select.having = try expression()
            } else if select.partitionBy.isEmpty, accept("PARTITION") {
                try expect("BY")
                select.partitionBy = try expressionList()
            } else {
                break
            }
        }
        if accept("EMIT") {
            if accept("FINAL") {
                select.emitFinal = true
            } else {
                try expect("CHANGES")
                select.emitChanges = true
            }
        }
        if accept("LIMIT") {
            let limitToken = current
            guard let limit = Int(exactly: try integer("a row count")) else {
                throw failure("LIMIT \(limitToken.text) is out of range", at: limitToken)
            }
            select.limit = limit
        }
        return select
    }

    private mutating func selectItem() throws -> Select.Item {
        if accept(symbol: "*") { return .all(qualifier: nil) }
        if atIdentifier, peek(1).isSymbol("."), peek(2).isSymbol("*") {
            let qualifier = advance().value
            advance()
            advance()
            return .all(qualifier: qualifier)
        }
        let expression = try expression()
        return .expression(expression, alias: try alias())
    }

    private mutating func relation() throws -> Relation {
        let name = try identifier("a stream or table name")
        return Relation(name: name, alias: try alias())
    }

    /// The join keywords, or nil when no join follows. A bare JOIN is INNER.
    private mutating func joinKind() throws -> Join.Kind? {
        if accept("JOIN") { return .inner }
        let kind: Join.Kind
        if accept("INNER") {
            kind = .inner
        } else if accept("LEFT") {
            kind = .left
        } else if accept("RIGHT") {
            kind = .right
        } else if accept("FULL") {
            kind = .full
        } else {
            return nil
        }
        if kind != .inner { _ = accept("OUTER") }
        try expect("JOIN")
        return kind
    }

    private mutating func join(_ kind: Join.Kind) throws -> Join {
        let relation = try relation()
        var join = Join(kind: kind, relation: relation, condition: .literal(.null))
        if accept("WITHIN") {
            // `WITHIN d` or `WITHIN (before, after)`, then `GRACE PERIOD d`.
            if accept(symbol: "(") {
                join.withinMilliseconds = try duration()
                try expect(symbol: ",")
                join.withinAfterMilliseconds = try duration()
                try expect(symbol: ")")
            } else {
                join.withinMilliseconds = try duration()
            }
            if accept("GRACE") {
                try expect("PERIOD")
                join.graceMilliseconds = try duration()
            }
        }
        try expect("ON")
        join.condition = try expression()
        return join
    }

    /// What follows WINDOW: TUMBLING (SIZE d), HOPPING (SIZE d, ADVANCE BY d) or SESSION (d),
    /// each optionally ending with `, GRACE PERIOD d`.
    private mutating func window() throws -> WindowSpec {
        var spec: WindowSpec
        // ksqlDB's grammar lets a name precede the window; it names nothing.
        if current.kind == .word, ["TUMBLING", "HOPPING", "SESSION"].contains(where: peek(1).isKeyword) { _ = advance() }
        if accept("TUMBLING") {
            try expect(symbol: "(")
            try expect("SIZE")
            spec = WindowSpec(kind: .tumbling, sizeMilliseconds: try duration())
        } else if accept("HOPPING") {
            try expect(symbol: "(")
            try expect("SIZE")
            spec = WindowSpec(kind: .hopping, sizeMilliseconds: try duration())
            try expect(symbol: ",")
            try expect("ADVANCE")
            try expect("BY")
            spec.advanceMilliseconds = try duration()
        } else if accept("SESSION") {
            try expect(symbol: "(")
            spec = WindowSpec(kind: .session, sizeMilliseconds: try duration())
        } else {
            throw error(expected: "'TUMBLING', 'HOPPING' or 'SESSION'")
        }
        if accept(symbol: ",") {
            try expect("GRACE")
            try expect("PERIOD")
            spec.graceMilliseconds = try duration()
        }
        try expect(symbol: ")")
        return spec
    }

    private static let units: [String: Int64] = [
        "MILLISECOND": 1, "MILLISECONDS": 1, "SECOND": 1000, "SECONDS": 1000,
        "MINUTE": 60_000, "MINUTES": 60_000, "HOUR": 3_600_000, "HOURS": 3_600_000,
        "DAY": 86_400_000, "DAYS": 86_400_000,
    ]

    /// `GROUP BY (a, b)`: one grouping set, the same as `GROUP BY a, b`;
    /// nil (nothing read) where the parenthesis opens an expression.
    private mutating func groupingSet() throws -> [Expression]? {
        guard current.isSymbol("(") else { return nil }
        let saved = self
        _ = advance()
        if let list = try? expressionList(), list.count > 1, accept(symbol: ")"),
           current.kind == .end || ["HAVING", "PARTITION", "EMIT", "LIMIT"].contains(where: current.isKeyword) {
            return list
        }
        self = saved
        return nil
    }

    /// `n UNIT`, in milliseconds.
    mutating func duration() throws -> Int64 {
        let amountToken = current
        let amount = try integer("a duration such as '10 SECONDS'")
        guard current.kind == .word, let factor = Self.units[current.value] else {
            consider(["MILLISECONDS", "SECONDS", "MINUTES", "HOURS", "DAYS"])
            throw error(expected: "a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)")
        }
        advance()
        let (milliseconds, overflow) = amount.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw failure("duration \(amountToken.text) is too long", at: amountToken) }
        return milliseconds
    }
}
