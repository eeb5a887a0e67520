/// Expressions, loosest binding first: OR, AND, NOT, predicates (comparison,
/// IS NULL, LIKE, BETWEEN, IN), `||`, + -, * / %, unary sign, `->`/`[ ]`, primaries.
extension SQLTokenParser {
    mutating func expression() throws -> Expression { try or() }

    mutating func expressionList() throws -> [Expression] {
        var list = [try expression()]
        while accept(symbol: ",") { list.append(try expression()) }
        return list
    }

    private mutating func or() throws -> Expression {
        var left = try and()
        while accept("OR") { left = .binary(op: .or, left, try and()) }
        return left
    }

    private mutating func and() throws -> Expression {
        var left = try not()
        while accept("AND") { left = .binary(op: .and, left, try not()) }
        return left
    }

    private mutating func not() throws -> Expression {
        if accept("NOT") { return .unary(op: .not, try not()) }
        return try predicate()
    }

    private static let comparisons: [String: BinaryOperator] = [
        "=": .equal, "<>": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
    ]

    /// At most one predicate per operand, as in ksqlDB: `a = b = c` is an error.
    private mutating func predicate() throws -> Expression {
        let value = try concat()
        if current.kind == .symbol, let op = Self.comparisons[current.value] {
            advance()
            return .binary(op: op, value, try concat())
        }
        if accept("IS") {
            let negated = accept("NOT")
            if accept("DISTINCT") {
                try expect("FROM")
                return .binary(op: negated ? .notDistinctFrom : .distinctFrom, value, try concat())
            }
            try expect("NULL")
            return .isNull(value, negated: negated)
        }
        // NOT here only negates LIKE, BETWEEN or IN; otherwise it is left for the caller to reject.
        let negated = check("NOT") && ["LIKE", "BETWEEN", "IN"].contains { peek(1).isKeyword($0) }
        if negated { advance() }
        if accept("LIKE") {
            let pattern = try concat()
            guard accept("ESCAPE") else { return .like(value, pattern: pattern, escape: nil, negated: negated) }
            let escape = try string("an escape character in quotes")
            guard escape.count == 1 else { throw PlanError("ESCAPE takes one character, not '\(escape)'") }
            return .like(value, pattern: pattern, escape: escape, negated: negated)
        }
        if accept("BETWEEN") {
            let low = try concat()
            try expect("AND")
            return .between(value, low: low, high: try concat(), negated: negated)
        }
        if accept("IN") {
            try expect(symbol: "(")
            let list = try expressionList()
            try expect(symbol: ")")
            return .inList(value, list, negated: negated)
        }
        return value
    }

    private mutating func concat() throws -> Expression {
        var left = try additive()
        while accept(symbol: "||") { left = .binary(op: .concat, left, try additive()) }
        return left
    }

    private mutating func additive() throws -> Expression {
        var left = try multiplicative()
        while true {
            if accept(symbol: "+") {
                left = .binary(op: .add, left, try multiplicative())
            } else if accept(symbol: "-") {
                left = .binary(op: .subtract, left, try multiplicative())
            } else {
                return left
            }
        }
    }

    private mutating func multiplicative() throws -> Expression {
        var left = try unary()
        while true {
            if accept(symbol: "*") {
                left = .binary(op: .multiply, left, try unary())
            } else if accept(symbol: "/") {
                left = .binary(op: .divide, left, try unary())
            } else if accept(symbol: "%") {
                left = .binary(op: .modulo, left, try unary())
            } else {
                return left
            }
        }
    }

    private mutating func unary() throws -> Expression {
        if accept(symbol: "-") { return .unary(op: .minus, try unary()) }
        if accept(symbol: "+") { return .unary(op: .plus, try unary()) }
        return try postfix()
    }

    private mutating func postfix() throws -> Expression {
        var value = try primary()
        while true {
            if accept(symbol: "->") {
                // `s->*`, every field of a STRUCT: a SELECT list expands it (PlanBuilder).
                if accept(symbol: "*") { return .field(value, "*") }
                // Field names may be any word: a struct field called END is fine.
                guard current.kind == .word || current.kind == .quotedIdentifier else {
                    throw error(expected: "a field name")
                }
                value = .field(value, advance().value)
            } else if accept(symbol: "[") {
                let index = try expression()
                try expect(symbol: "]")
                value = .element(value, index)
            } else {
                return value
            }
        }
    }

    private mutating func primary() throws -> Expression {
        switch current.kind {
        case .integer:
            return .literal(.integer(try integer("a number")))
        case .decimal:
            // With an exponent it is a DOUBLE, which must not overflow (ksqlDB's rule).
            if current.value.lowercased().contains("e"), let value = Double(current.value), value.isInfinite {
                throw failure("number overflows DOUBLE: \(current.value)", at: current)
            }
            return .literal(.decimal(advance().value))
        case .string:
            return .literal(.string(advance().value))
        default:
            break
        }
        if let parameters = lambdaParameters() {
            // `x =>` or `(a, b) =>`: the parameters, then the body.
            let tokens = current.isSymbol("(") ? parameters.count * 2 + 2 : 2
            for _ in 0..<tokens { _ = advance() }
            return .lambda(parameters: parameters, body: try expression())
        }
        if accept(symbol: "(") {
            let inner = try expression()
            try expect(symbol: ")")
            return inner
        }
        if accept("NULL") { return .literal(.null) }
        if accept("TRUE") { return .literal(.boolean(true)) }
        if accept("FALSE") { return .literal(.boolean(false)) }
        if accept("CASE") { return try caseWhen() }
        if accept("CAST") {
            try expect(symbol: "(")
            let value = try expression()
            try expect("AS")
            let type = try type()
            try expect(symbol: ")")
            return .cast(value, type)
        }
        guard atIdentifier else { throw error(expected: "an expression") }
        let name = advance().value
        if name.uppercased() == "ARRAY", accept(symbol: "[") {
            // ARRAY[a, b, …]
            let elements = current.isSymbol("]") ? [] : try expressionList()
            try expect(symbol: "]")
            return .call(name: "ARRAY", arguments: elements)
        }
        if ["MAP", "STRUCT"].contains(name.uppercased()), accept(symbol: "(") { return try entries(name.uppercased()) }
        if accept(symbol: "(") { return try call(name) }
        if accept(symbol: ".") {
            return .column(qualifier: name, name: try identifier("a column name"))
        }
        return .column(qualifier: nil, name: name)
    }

    /// Arguments after `NAME(`: `*`, `DISTINCT x` or a possibly empty list.
    private mutating func call(_ name: String) throws -> Expression {
        if accept(symbol: "*") {
            try expect(symbol: ")")
            return .call(name: name, arguments: [], star: true)
        }
        let distinct = accept("DISTINCT")
        var arguments: [Expression] = []
        if distinct || !current.isSymbol(")") { arguments = try expressionList() }
        try expect(symbol: ")")
        return .call(name: name, arguments: arguments, distinct: distinct)
    }

    /// The parameters of a lambda starting here, looking ahead without
    /// consuming: `x =>` or `(a, b, …) =>`.
    private func lambdaParameters() -> [String]? {
        if atIdentifier && peek(1).isSymbol("=>") { return [current.value] }
        guard current.isSymbol("(") else { return nil }
        var names: [String] = [], ahead = 1
        while true {
            let token = peek(ahead)
            guard token.kind == .word || token.kind == .quotedIdentifier else { return nil }
            names.append(token.value)
            if peek(ahead + 1).isSymbol(",") {
                ahead += 2
            } else if peek(ahead + 1).isSymbol(")") && peek(ahead + 2).isSymbol("=>") {
                return names
            } else {
                return nil
            }
        }
    }

    /// After `MAP(` or `STRUCT(`: `key := value, …` (a STRUCT's keys are
    /// field names), as alternating key and value arguments.
    private mutating func entries(_ name: String) throws -> Expression {
        var arguments: [Expression] = []
        while !current.isSymbol(")") {
            if !arguments.isEmpty { try expect(symbol: ",") }
            arguments.append(name == "STRUCT" ? .literal(.string(try identifier("a field name"))) : try expression())
            try expect(symbol: ":=")
            arguments.append(try expression())
        }
        try expect(symbol: ")")
        return .call(name: name, arguments: arguments)
    }

    /// After CASE: `[operand] WHEN c THEN r … [ELSE e] END`.
    private mutating func caseWhen() throws -> Expression {
        let operand = try check("WHEN") ? nil : expression()
        var branches: [(Expression, Expression)] = []
        while accept("WHEN") {
            let condition = try expression()
            try expect("THEN")
            branches.append((condition, try expression()))
        }
        guard !branches.isEmpty else { throw error(expected: "'WHEN'") }
        let otherwise = try accept("ELSE") ? expression() : nil
        try expect("END")
        return .caseWhen(operand: operand, branches: branches, otherwise: otherwise)
    }
}
