#if canImport(Glibc)
import Glibc
#endif

/// The WHERE of a plain aggregation (QueryPlan.Combined), applied to its
/// records as they are read: comparisons of a column with a literal,
/// IS [NOT] NULL, AND, OR and NOT, under SQL's three-valued logic, each
/// comparing as PostgreSQL compares the translated SQL. It is built only
/// for what it can say exactly so; any other WHERE leaves the query to
/// the SQL fold of staged rows.
indirect enum FlatFilter: Equatable {
    /// A literal as the column's type compares it.
    enum Operand: Equatable { case integer(Int64), double(Double), text([UInt8]), boolean(Bool) }
    /// A record's value of a column, as the flat scan read it.
    enum Value { case null, integer(Int64), double(Double), text(UnsafeBufferPointer<UInt8>), boolean(Bool) }

    case compare(field: Int, BinaryOperator, Operand)
    case isNull(field: Int, negated: Bool)
    case and(FlatFilter, FlatFilter)
    case or(FlatFilter, FlatFilter)
    case not(FlatFilter)

    /// The filter for `expression`, whose columns `column` resolves to a
    /// staged field and its type; nil where it is not one this can apply.
    init?(_ expression: Expression, column: (Expression) -> (field: Int, type: SQLType)?) {
        switch expression {
        case .binary(.and, let left, let right), .binary(.or, let left, let right):
            guard let left = FlatFilter(left, column: column), let right = FlatFilter(right, column: column) else { return nil }
            if case .binary(.and, _, _) = expression { self = .and(left, right) } else { self = .or(left, right) }
        case .unary(.not, let operand):
            guard let operand = FlatFilter(operand, column: column) else { return nil }
            self = .not(operand)
        case .isNull(let operand, let negated):
            guard let (field, _) = column(operand) else { return nil }
            self = .isNull(field: field, negated: negated)
        case .binary(let op, let left, let right) where op.isComparison:
            // `5 < v` is `v > 5`.
            let flipped: [BinaryOperator: BinaryOperator] = [.less: .greater, .lessOrEqual: .greaterOrEqual,
                                                             .greater: .less, .greaterOrEqual: .lessOrEqual]
            if let (field, type) = column(left), let operand = Self.operand(right, for: type, op) {
                self = .compare(field: field, op, operand)
            } else if let (field, type) = column(right), let operand = Self.operand(left, for: type, flipped[op] ?? op) {
                self = .compare(field: field, flipped[op] ?? op, operand)
            } else {
                return nil
            }
        case .column:
            // A BOOLEAN column on its own: where it is true.
            guard let (field, type) = column(expression), type == .boolean else { return nil }
            self = .compare(field: field, .equal, .boolean(true))
        default:
            return nil
        }
    }

    /// A literal compared with a column of `type`, where PostgreSQL's
    /// comparison and this one agree: whole numbers with INT and BIGINT,
    /// numbers with DOUBLE (as double precision, exactly where the literal
    /// is), and only equality for STRING and BOOLEAN (no collation).
    private static func operand(_ expression: Expression, for type: SQLType, _ op: BinaryOperator) -> Operand? {
        var literal: Literal
        var negative = false
        switch expression {
        case .literal(let value): literal = value
        case .unary(.minus, .literal(let value)): (literal, negative) = (value, true)
        default: return nil
        }
        if negative {
            switch literal {
            case .integer(let number) where number != .min: literal = .integer(-number)
            case .decimal(let text) where !text.hasPrefix("-"): literal = .decimal("-" + text)
            default: return nil
            }
        }
        let equality = [BinaryOperator.equal, .notEqual].contains(op)
        switch (type, literal) {
        case (.integer, .integer(let number)), (.bigint, .integer(let number)):
            return .integer(number)
        case (.double, .integer(let number)) where number.magnitude <= 1 << 53:
            return .double(Double(number))
        case (.double, .decimal(let text)):
            var bytes = Array(text.utf8)
            return bytes.withUnsafeMutableBufferPointer { buffer in
                FlatJSONObject.double(UnsafeBufferPointer(buffer)[...]).flatMap { $0.isFinite ? .double($0) : nil }
            }
        case (.string, .string(let text)) where equality:
            return .text(Array(text.utf8))
        case (.boolean, .boolean(let flag)) where equality:
            return .boolean(flag)
        default:
            return nil
        }
    }

    /// The staged fields the filter reads.
    var fields: [Int] {
        switch self {
        case .compare(let field, _, _), .isNull(let field, _): return [field]
        case .and(let left, let right), .or(let left, let right): return left.fields + right.fields
        case .not(let operand): return operand.fields
        }
    }

    /// True, false, or nil for SQL's NULL (a WHERE passes only true).
    func evaluate(_ value: (Int) -> Value) -> Bool? {
        switch self {
        case .compare(let field, let op, let operand):
            let order: Int
            switch (value(field), operand) {
            case (.integer(let left), .integer(let right)): order = left < right ? -1 : left == right ? 0 : 1
            case (.double(let left), .double(let right)): order = left < right ? -1 : left == right ? 0 : 1
            case (.text(let left), .text(let right)): order = left.elementsEqual(right) ? 0 : 1
            case (.boolean(let left), .boolean(let right)): order = left == right ? 0 : 1
            default: return nil
            }
            switch op {
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            default: return order >= 0
            }
        case .isNull(let field, let negated):
            if case .null = value(field) { return !negated }
            return negated
        case .and(let left, let right):
            let (l, r) = (left.evaluate(value), right.evaluate(value))
            if l == false || r == false { return false }
            return l == true && r == true ? true : nil
        case .or(let left, let right):
            let (l, r) = (left.evaluate(value), right.evaluate(value))
            if l == true || r == true { return true }
            return l == false && r == false ? false : nil
        case .not(let operand):
            return operand.evaluate(value).map { !$0 }
        }
    }
}
