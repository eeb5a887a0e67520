/// The syntax tree of `pgk sql`'s ksqlDB dialect: what the parser builds
/// and the planner reads. Identifiers are stored as written after
/// ksqlDB's folding: unquoted ones upper-cased, quoted ones verbatim.

/// Where a piece of text starts in the statement file (1-based).
struct SourcePosition: Equatable, Sendable, CustomStringConvertible {
    var line: Int
    var column: Int
    var description: String { "line \(line), column \(column)" }
}

/// One parsed statement with the text it came from, for messages and the catalog.
struct ParsedStatement: Equatable, Sendable {
    var statement: Statement
    var text: String
    var position: SourcePosition
}

enum Statement: Equatable, Sendable {
    /// CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name (columns) WITH (…)
    case createSource(CreateSource)
    /// CREATE STREAM|TABLE name [WITH (…)] AS SELECT …
    case createAsSelect(CreateAsSelect)
    /// A SELECT run once (pull) or until LIMIT/stopped (push, EMIT CHANGES).
    case select(Select)
    case show(ShowTarget)
    /// DESCRIBE [EXTENDED] name
    case describe(name: String, extended: Bool)
    /// ALTER STREAM|TABLE name ADD [COLUMN] col TYPE[, ADD [COLUMN] …]
    case alter(kind: SourceKind, name: String, columns: [ColumnDefinition])
    /// DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]
    case drop(kind: SourceKind, name: String, ifExists: Bool, deleteTopic: Bool)
    /// TERMINATE query-id | TERMINATE ALL
    case terminate(queryID: String?)
    /// SET 'name'='value'
    case set(name: String, value: String)
    /// UNSET 'name'
    case unset(name: String)
    case listProperties
    /// INSERT INTO name [(columns)] VALUES (expressions)
    case insertValues(into: String, columns: [String]?, values: [Expression])
    /// INSERT INTO stream SELECT …: a persistent query writing into an existing stream.
    case insertSelect(into: String, select: Select)
}

enum SourceKind: String, Equatable, Sendable { case stream = "STREAM", table = "TABLE" }

enum ShowTarget: String, Equatable, Sendable {
    case streams = "STREAMS", tables = "TABLES", queries = "QUERIES", topics = "TOPICS", properties = "PROPERTIES"
}

/// A declared column type. `DECIMAL(p, s)` keeps precision and scale.
indirect enum SQLType: Equatable, Sendable, CustomStringConvertible {
    case boolean, integer, bigint, double, string, bytes, date, time, timestamp
    case decimal(precision: Int, scale: Int)
    case array(SQLType)
    case map(SQLType, SQLType)
    case `struct`([(String, SQLType)])

    /// Structural, not by description: staging compares types per field of every record.
    static func == (a: SQLType, b: SQLType) -> Bool {
        switch (a, b) {
        case (.boolean, .boolean), (.integer, .integer), (.bigint, .bigint), (.double, .double), (.string, .string),
             (.bytes, .bytes), (.date, .date), (.time, .time), (.timestamp, .timestamp):
            return true
        case let (.decimal(p1, s1), .decimal(p2, s2)): return p1 == p2 && s1 == s2
        case let (.array(x), .array(y)): return x == y
        case let (.map(k1, v1), .map(k2, v2)): return k1 == k2 && v1 == v2
        case let (.struct(x), .struct(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    var description: String {
        switch self {
        case .boolean: return "BOOLEAN"
        case .integer: return "INTEGER"
        case .bigint: return "BIGINT"
        case .double: return "DOUBLE"
        case .string: return "STRING"
        case .bytes: return "BYTES"
        case .date: return "DATE"
        case .time: return "TIME"
        case .timestamp: return "TIMESTAMP"
        case .decimal(let p, let s): return "DECIMAL(\(p), \(s))"
        case .array(let element): return "ARRAY<\(element)>"
        case .map(let key, let value): return "MAP<\(key), \(value)>"
        case .struct(let fields): return "STRUCT<" + fields.map { "\(Self.fieldName($0.0)) \($0.1)" }.joined(separator: ", ") + ">"
        }
    }

    /// A field name as type text: back-quoted (a back quote doubled) where
    /// it holds more than letters, digits and `_`, as ksqlDB prints it.
    static func fieldName(_ name: String) -> String {
        name.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }) && !name.isEmpty
            ? name : "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }
}

struct ColumnDefinition: Equatable, Sendable {
    enum Role: Equatable, Sendable { case value, key, primaryKey, headers }
    var name: String
    var type: SQLType
    var role: Role = .value
}

/// A `WITH (…)` property; names are upper-cased, values unquoted.
struct SourceProperty: Equatable, Sendable {
    var name: String
    var value: Literal
}

extension [SourceProperty] {
    /// A `WITH (…)` property's value as text (`KAFKA_TOPIC='x'` → x,
    /// `PARTITIONS=1` → 1); nil when absent or NULL.
    func text(of name: String) -> String? {
        switch first(where: { $0.name == name })?.value {
        case .string(let text)?, .decimal(let text)?: return text
        case .integer(let number)?: return String(number)
        case .boolean(let flag)?: return String(flag)
        case .null?, nil: return nil
        }
    }
}

struct CreateSource: Equatable, Sendable {
    var kind: SourceKind
    var name: String
    var columns: [ColumnDefinition]
    var properties: [SourceProperty]
    var orReplace = false
    var ifNotExists = false
}

struct CreateAsSelect: Equatable, Sendable {
    var kind: SourceKind
    var name: String
    var properties: [SourceProperty]
    var select: Select
    var orReplace = false
    var ifNotExists = false
}

struct Select: Equatable, Sendable {
    enum Item: Equatable, Sendable {
        /// `*` or `alias.*`
        case all(qualifier: String?)
        case expression(Expression, alias: String?)
    }
    var items: [Item]
    var from: Relation
    var joins: [Join] = []
    var window: WindowSpec?
    var filter: Expression?
    var groupBy: [Expression] = []
    var partitionBy: [Expression] = []
    var having: Expression?
    var emitChanges = false
    /// `EMIT FINAL`: a windowed aggregate's rows appear once, when their window closes.
    var emitFinal = false
    var limit: Int?
}

struct Relation: Equatable, Sendable {
    var name: String
    var alias: String?
    /// The name columns of this relation are qualified with.
    var qualifier: String { alias ?? name }
}

struct Join: Equatable, Sendable {
    enum Kind: String, Equatable, Sendable { case inner = "INNER", left = "LEFT", right = "RIGHT", full = "FULL" }
    var kind: Kind
    var relation: Relation
    /// `WITHIN n UNIT` for stream-stream joins, in milliseconds: how far
    /// before a left record a right record may be (and after it, unless
    /// `WITHIN (before, after)` sets `withinAfterMilliseconds`).
    var withinMilliseconds: Int64?
    var withinAfterMilliseconds: Int64?
    /// `GRACE PERIOD`: outer joins wait for the window to close before
    /// padding a record that found no match.
    var graceMilliseconds: Int64?
    var condition: Expression

    init(kind: Kind, relation: Relation, withinMilliseconds: Int64? = nil, condition: Expression) {
        self.kind = kind
        self.relation = relation
        self.withinMilliseconds = withinMilliseconds
        self.condition = condition
    }

    /// (before, after) bounds of a stream-stream join, in milliseconds.
    var window: (before: Int64, after: Int64)? {
        withinMilliseconds.map { ($0, withinAfterMilliseconds ?? $0) }
    }
}

struct WindowSpec: Equatable, Sendable {
    enum Kind: String, Equatable, Sendable { case tumbling = "TUMBLING", hopping = "HOPPING", session = "SESSION" }
    var kind: Kind
    var sizeMilliseconds: Int64
    var advanceMilliseconds: Int64?
    var graceMilliseconds: Int64?
}

enum Literal: Equatable, Sendable {
    case null
    case boolean(Bool)
    case integer(Int64)
    /// A number with a fraction or exponent, kept as written.
    case decimal(String)
    case string(String)
}

indirect enum Expression: Equatable, Sendable {
    case literal(Literal)
    /// `col` or `qualifier.col`
    case column(qualifier: String?, name: String)
    case unary(op: UnaryOperator, Expression)
    case binary(op: BinaryOperator, Expression, Expression)
    /// Function or aggregate call; `COUNT(*)` has `star` set and no arguments.
    case call(name: String, arguments: [Expression], distinct: Bool = false, star: Bool = false)
    case cast(Expression, SQLType)
    case isNull(Expression, negated: Bool)
    /// `escape`: the ESCAPE character; without one, no character escapes.
    case like(Expression, pattern: Expression, escape: String?, negated: Bool)
    case between(Expression, low: Expression, high: Expression, negated: Bool)
    case inList(Expression, [Expression], negated: Bool)
    /// Searched CASE (`operand` nil) or simple CASE.
    case caseWhen(operand: Expression?, branches: [(Expression, Expression)], otherwise: Expression?)
    /// `expr->field` struct dereference and `expr[index]` subscripts.
    case field(Expression, String)
    case element(Expression, Expression)
    /// `x => body` or `(a, b) => body`, an argument of FILTER and TRANSFORM.
    case lambda(parameters: [String], body: Expression)

    static func == (a: Expression, b: Expression) -> Bool { String(describing: a) == String(describing: b) }
}

enum UnaryOperator: String, Equatable, Sendable { case minus = "-", plus = "+", not = "NOT" }

enum BinaryOperator: String, Equatable, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%"
    case equal = "=", notEqual = "<>", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and = "AND", or = "OR", concat = "||"
    case distinctFrom = "IS DISTINCT FROM", notDistinctFrom = "IS NOT DISTINCT FROM"

    /// =, <>, <, <=, > and >=.
    var isComparison: Bool { [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(self) }
}

extension Expression {
    /// The expressions directly inside this one.
    var children: [Expression] {
        switch self {
        case .literal, .column: return []
        case .unary(_, let operand), .cast(let operand, _), .isNull(let operand, _), .field(let operand, _): return [operand]
        case .binary(_, let left, let right), .element(let left, let right): return [left, right]
        case .call(_, let arguments, _, _): return arguments
        case .like(let operand, let pattern, _, _): return [operand, pattern]
        case .between(let operand, let low, let high, _): return [operand, low, high]
        case .inList(let operand, let items, _): return [operand] + items
        case .caseWhen(let operand, let branches, let otherwise):
            return (operand.map { [$0] } ?? []) + branches.flatMap { [$0.0, $0.1] } + (otherwise.map { [$0] } ?? [])
        case .lambda(_, let body): return [body]
        }
    }

    /// Names of the functions called anywhere in this expression.
    var calledFunctions: Set<String> {
        var names: Set<String> = []
        if case .call(let name, _, _, _) = self { names.insert(name) }
        for child in children { names.formUnion(child.calledFunctions) }
        return names
    }

    /// The names of the columns the expression reads (qualifiers dropped), upper-cased.
    var columnNames: Set<String> {
        if case .column(_, let name) = self { return [name.uppercased()] }
        return children.reduce(into: []) { $0.formUnion($1.columnNames) }
    }

    /// The aggregate calls in the expression (not inside one another).
    var aggregateCalls: [Expression] {
        if case .call(let name, _, _, _) = self, AggregateFunction(rawValue: name) != nil { return [self] }
        return children.flatMap(\.aggregateCalls)
    }
}

extension Expression {
    /// The expression as a statement would write it, for messages.
    var sqlText: String {
        switch self {
        case .literal(.string(let text)): return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case .literal(.integer(let value)): return String(value)
        case .literal(.decimal(let text)): return text
        case .literal(.boolean(let value)): return value ? "TRUE" : "FALSE"
        case .literal(.null): return "NULL"
        case .column(let qualifier, let name): return (qualifier.map { "\($0)." } ?? "") + name
        case .field(let base, let name): return "\(base.sqlText)->\(name)"
        case .element(let base, let index): return "\(base.sqlText)[\(index.sqlText)]"
        case .call(let name, let arguments, let distinct, let star):
            return "\(name)(\(distinct ? "DISTINCT " : "")\(star ? "*" : arguments.map(\.sqlText).joined(separator: ", ")))"
        case .binary(let op, let left, let right): return "(\(left.sqlText) \(op.rawValue) \(right.sqlText))"
        case .unary(let op, let operand): return op == .not ? "NOT \(operand.sqlText)" : "\(op.rawValue)\(operand.sqlText)"
        case .cast(let operand, let type): return "CAST(\(operand.sqlText) AS \(type))"
        case .isNull(let operand, let negated): return "\(operand.sqlText) IS \(negated ? "NOT " : "")NULL"
        case .like(let operand, let pattern, let escape, let negated):
            return "\(operand.sqlText) \(negated ? "NOT " : "")LIKE \(pattern.sqlText)"
                + (escape.map { " ESCAPE '" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "")
        case .between(let operand, let low, let high, let negated):
            return "\(operand.sqlText) \(negated ? "NOT " : "")BETWEEN \(low.sqlText) AND \(high.sqlText)"
        case .inList(let operand, let items, let negated):
            return "\(operand.sqlText) \(negated ? "NOT " : "")IN (\(items.map(\.sqlText).joined(separator: ", ")))"
        case .caseWhen(let operand, let branches, let otherwise):
            return "CASE" + (operand.map { " \($0.sqlText)" } ?? "")
                + branches.map { " WHEN \($0.0.sqlText) THEN \($0.1.sqlText)" }.joined()
                + (otherwise.map { " ELSE \($0.sqlText)" } ?? "") + " END"
        case .lambda(let parameters, let body):
            return (parameters.count == 1 ? parameters[0] : "(\(parameters.joined(separator: ", ")))") + " => \(body.sqlText)"
        }
    }
}
