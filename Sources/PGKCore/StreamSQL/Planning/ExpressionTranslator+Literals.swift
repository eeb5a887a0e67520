import Foundation

/// Literals typed by what they stand beside, as ksqlDB does, when the
/// statement is created: in `x IN (…)` and in MAP and ARRAY constructors.
/// In `x IN (…)` each literal is converted to x's type (`INT IN (1, 2.0,
/// '4.000')` matches 1, 2 and 4), a literal that no value of that type can
/// equal is dropped (`5.10` for an INT), and an item of an incompatible
/// type is rejected then, never at run time.
extension ExpressionTranslator {
    mutating func inListSQL(_ operand: Expression, _ items: [Expression], negated: Bool) throws -> String {
        let type = staticType(operand)
        let kept = try items.compactMap { try Self.coerce($0, to: type, itemType: staticType($0)) }
        let value = try sql(operand)
        // Every literal was dropped: nothing can match, but NULL stays NULL.
        guard !kept.isEmpty else { return "(CASE WHEN \(value) IS NULL THEN NULL ELSE \(negated ? "TRUE" : "FALSE") END)" }
        let list = try kept.map { try sql($0) }.joined(separator: ", ")
        return "(\(value) \(negated ? "NOT " : "")IN (\(list)))"
    }

    /// MAP(k := v, …) and ARRAY[…] as ksqlDB types them: every value takes
    /// the type of the first one that has a type (literals converted when
    /// the statement is created: MAP(k := flag, 'x' := 'true') holds
    /// BOOLEANs), and a MAP's keys are text, a NULL key the text 'null'.
    static func constructorArguments(map isMap: Bool, _ arguments: [Expression], _ types: [SQLType?]) throws -> [Expression] {
        let values = isMap ? stride(from: 1, to: arguments.count, by: 2).map { ($0, arguments[$0]) } : Array(arguments.enumerated())
        let typed = values.first { index, value in
            if case .literal = value { return false }
            return types[index] != nil
        } ?? values.first { $0.1 != .literal(.null) }
        let type = typed.flatMap { types[$0.0] }
        return try arguments.enumerated().map { index, argument in
            if isMap && index % 2 == 0 {
                if argument == .literal(.null) { return .literal(.string("null")) }
                if case .literal = argument { return try coerce(argument, to: .string, itemType: nil) ?? argument }
                return .call(name: "COALESCE", arguments: [.cast(argument, .string), .literal(.string("null"))])
            }
            guard case .literal = argument else { return argument }
            return try coerce(argument, to: type, itemType: nil) ?? argument
        }
    }

    /// The item as it compares with a value of `type`; nil when it can never match.
    static func coerce(_ item: Expression, to type: SQLType?, itemType: SQLType?) throws -> Expression? {
        guard let type, let family = ComparisonFamily(type) else { return item }
        let mismatch = { (what: String) in PlanError("operator does not exist: \(type) = \(what) (\(item.sqlText))") }
        guard case .literal(let literal) = item else {
            if let itemType, let other = ComparisonFamily(itemType), other != family { throw mismatch("\(itemType)") }
            return item
        }
        switch (family, literal) {
        case (_, .null):
            return item
        case (.string, .integer(let value)):
            return .literal(.string(String(value)))
        case (.string, .decimal(let text)), (.string, .string(let text)):
            return .literal(.string(text))
        case (.string, .boolean(let value)):
            return .literal(.string(value ? "true" : "false"))
        case (.boolean, .boolean):
            return item
        case (.boolean, .string(let text)):
            guard let value = booleanText(text) else { throw PlanError("invalid input syntax for type BOOLEAN: \"\(text)\"") }
            return .literal(.boolean(value))
        case (.number, .integer), (.number, .decimal):
            return type == .integer || type == .bigint ? integral(literal, for: type) : item
        case (.number, .string(let text)):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard Double(trimmed) != nil, trimmed.allSatisfy({ "0123456789+-.eE".contains($0) }) else {
                throw PlanError("invalid input syntax for type \(type): \"\(text)\"")
            }
            return type == .integer || type == .bigint ? integral(.decimal(trimmed), for: type) : .literal(.decimal(trimmed))
        case (_, .boolean): throw mismatch("BOOLEAN")
        case (_, .string): throw mismatch("STRING")
        case (_, .integer(let value)): throw mismatch(Int32(exactly: value) == nil ? "BIGINT" : "INTEGER")
        case (_, .decimal): throw mismatch("DECIMAL")
        }
    }

    /// A number literal as an INT or BIGINT; nil when it has a fraction or
    /// is out of the type's range, since then no value of the type equals it.
    private static func integral(_ literal: Literal, for type: SQLType) -> Expression? {
        let value: Int64?
        switch literal {
        case .integer(let number): value = number
        case .decimal(let text):
            guard let decimal = Decimal(string: text), decimal == decimal.rounded() else { return nil }
            value = Int64(exactly: NSDecimalNumber(decimal: decimal).doubleValue)
        default: value = nil
        }
        guard let value, type == .bigint || Int32(exactly: value) != nil else { return nil }
        return .literal(.integer(value))
    }

    /// ksqlDB's boolean text: a prefix of true, yes, false or no, in any case.
    private static func booleanText(_ text: String) -> Bool? {
        let lower = text.lowercased()
        guard !lower.isEmpty else { return nil }
        if "true".hasPrefix(lower) || "yes".hasPrefix(lower) { return true }
        if "false".hasPrefix(lower) || "no".hasPrefix(lower) { return false }
        return nil
    }
}

private extension Decimal {
    func rounded() -> Decimal {
        var value = self, result = Decimal()
        NSDecimalRound(&result, &value, 0, .down)
        return result
    }
}
