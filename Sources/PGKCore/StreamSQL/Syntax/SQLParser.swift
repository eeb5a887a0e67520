/// A recursive-descent parser for `pgk sql`'s ksqlDB dialect. This file holds
/// the entry points, the token plumbing and the non-SELECT statements;
/// SELECT and expressions live in the `SQLParser+…` files.
enum SQLParser {
    /// Splits a script into statements and parses each. Throws the first error.
    static func parseScript(_ text: String) throws -> [ParsedStatement] {
        let source = try SQLLexer.tokenize(text)
        var statements: [ParsedStatement] = []
        var chunk: [SQLToken] = []
        for token in source.tokens {
            guard token.kind == .end else {
                chunk.append(token)
                continue
            }
            // Empty statements (`;;`, a trailing `;`) are skipped.
            if let first = chunk.first, let last = chunk.last {
                var parser = SQLTokenParser(tokens: chunk + [token])
                let statement = try parser.statement()
                statements.append(ParsedStatement(statement: statement,
                                                  text: source.text(from: first.start, to: last.end),
                                                  position: first.position))
            }
            chunk.removeAll()
        }
        return statements
    }

    /// Parses a single expression (used by tests and by the planner for e.g. KEY='col').
    /// `WINDOW_SIZE='30 SECONDS'`, in milliseconds.
    static func parseDuration(_ text: String) throws -> Int64 {
        var parser = SQLTokenParser(tokens: try SQLLexer.tokenize(text.uppercased()).tokens)
        let milliseconds = try parser.duration()
        try parser.expectEnd("end of the duration")
        return milliseconds
    }

    static func parseExpression(_ text: String) throws -> Expression {
        var parser = SQLTokenParser(tokens: try SQLLexer.tokenize(text).tokens)
        let expression = try parser.expression()
        try parser.expectEnd("end of expression")
        return expression
    }
}

/// The cursor over one statement's tokens; the last token is always `.end`.
struct SQLTokenParser {
    /// Words that end an expression or clause, so they can't be bare names or aliases.
    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "PARTITION", "WINDOW", "EMIT", "LIMIT",
        "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "OUTER", "ON", "WITHIN", "AS", "AND", "OR", "NOT",
        "IS", "NULL", "TRUE", "FALSE", "LIKE", "BETWEEN", "IN", "CASE", "WHEN", "THEN", "ELSE", "END",
        "CAST", "DISTINCT", "WITH", "CREATE", "DROP",
    ]

    /// ksqlDB statements `pgk sql` knows but does not run.
    static let unsupported: Set<String> = [
        "INSERT", "PRINT", "EXPLAIN", "RUN", "DEFINE", "UNDEFINE", "PAUSE", "RESUME", "ASSERT",
        "SPOOL", "UPDATE", "DELETE",
    ]

    let tokens: [SQLToken]
    private(set) var index = 0
    /// Keywords tried at the current token: the candidates for "did you mean".
    private var tried: [String] = []
    /// The last alias taken without AS; a misspelled keyword often ends up there.
    private var implicitAlias: Int?

    init(tokens: [SQLToken]) { self.tokens = tokens }

    var current: SQLToken { tokens[index] }

    func peek(_ ahead: Int) -> SQLToken { tokens[min(index + ahead, tokens.count - 1)] }

    @discardableResult
    mutating func advance() -> SQLToken {
        let token = current
        if token.kind != .end { index += 1 }
        tried.removeAll()
        return token
    }

    /// Is the current token `keyword`? Remembers the keyword for suggestions.
    mutating func check(_ keyword: String) -> Bool {
        if current.isKeyword(keyword) { return true }
        tried.append(keyword)
        return false
    }

    mutating func accept(_ keyword: String) -> Bool {
        guard check(keyword) else { return false }
        advance()
        return true
    }

    mutating func expect(_ keyword: String) throws {
        guard accept(keyword) else { throw error(expected: "'\(keyword)'") }
    }

    mutating func accept(symbol: String) -> Bool {
        guard current.isSymbol(symbol) else { return false }
        advance()
        return true
    }

    mutating func expect(symbol: String) throws {
        guard accept(symbol: symbol) else { throw error(expected: "'\(symbol)'") }
    }

    /// Adds keywords to the suggestion candidates without testing them one by one.
    mutating func consider(_ keywords: some Sequence<String>) { tried.append(contentsOf: keywords) }

    mutating func expectEnd(_ what: String = "end of statement") throws {
        guard current.kind == .end, index == tokens.count - 1 else { throw error(expected: what) }
    }

    /// Can the current token name a column, source or alias?
    var atIdentifier: Bool {
        current.kind == .quotedIdentifier || (current.kind == .word && !Self.reserved.contains(current.value))
    }

    mutating func identifier(_ what: String) throws -> String {
        guard atIdentifier else { throw error(expected: what) }
        return advance().value
    }

    /// `AS alias` or a bare alias.
    mutating func alias() throws -> String? {
        if accept("AS") { return try identifier("an alias") }
        guard atIdentifier else { return nil }
        implicitAlias = index
        return advance().value
    }

    mutating func integer(_ what: String) throws -> Int64 {
        guard current.kind == .integer else { throw error(expected: what) }
        guard let value = Int64(current.value) else {
            throw SQLSyntaxError(message: "integer \(current.text) is out of range", position: current.position,
                                 token: current.text)
        }
        advance()
        return value
    }

    /// "expected X but found Y", with a did-you-mean when Y is close to a keyword tried here.
    func error(expected: String) -> SQLSyntaxError {
        // `SELECT a FORM t` reads FORM as an alias and fails at t: blame the alias.
        if let aliasIndex = implicitAlias, aliasIndex == index - 1, let hint = suggestion(for: tokens[aliasIndex]) {
            let alias = tokens[aliasIndex]
            return SQLSyntaxError(message: "expected \(expected) but found \(alias.quoted)", position: alias.position,
                                  token: alias.text, suggestion: hint)
        }
        return SQLSyntaxError(message: "expected \(expected) but found \(current.quoted)", position: current.position,
                              token: current.kind == .end && current.text.isEmpty ? nil : current.text,
                              suggestion: suggestion(for: current))
    }

    func failure(_ message: String, at token: SQLToken) -> SQLSyntaxError {
        SQLSyntaxError(message: message, position: token.position, token: token.text)
    }

    private func suggestion(for token: SQLToken) -> String? {
        // A reserved word is spelled right, just misplaced.
        guard token.kind == .word, token.value.count >= 2, !Self.reserved.contains(token.value) else { return nil }
        let limit = token.value.count <= 3 ? 1 : 2
        var best: (keyword: String, distance: Int)?
        for keyword in tried where keyword != token.value {
            let distance = editDistance(token.value, keyword)
            if distance <= limit, distance < (best?.distance ?? .max) { best = (keyword, distance) }
        }
        return best.map { "did you mean '\($0.keyword)'?" }
    }
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions (FORM → FROM is 1).
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}

// MARK: - Statements other than SELECT

extension SQLTokenParser {
    mutating func statement() throws -> Statement {
        let first = current
        let statement: Statement
        if accept("SELECT") {
            statement = .select(try selectBody())
        } else if accept("CREATE") {
            statement = try create()
        } else if accept("SHOW") || accept("LIST") {
            statement = try show()
        } else if accept("DESCRIBE") {
            // `DESCRIBE extended` alone names a source called EXTENDED.
            let extended = current.isKeyword("EXTENDED") && peek(1).kind != .end
            if extended { advance() }
            statement = .describe(name: try identifier("a stream or table name"), extended: extended)
        } else if accept("DROP") {
            statement = try drop()
        } else if accept("ALTER") {
            statement = try alter()
        } else if accept("TERMINATE") {
            statement = try .terminate(queryID: accept("ALL") ? nil : identifier("a query id or 'ALL'"))
        } else if accept("SET") {
            let name = try string("a property name in quotes")
            try expect(symbol: "=")
            statement = .set(name: name, value: try string("a property value in quotes"))
        } else if accept("UNSET") {
            statement = .unset(name: try string("a property name in quotes"))
        } else if current.isKeyword("INSERT") && peek(1).isKeyword("INTO") {
            statement = try insertValues()
        } else if first.kind == .word, Self.unsupported.contains(first.value) {
            throw failure("unsupported statement '\(first.value)'", at: first)
        } else {
            throw error(expected: "SELECT, CREATE, SHOW, LIST, DESCRIBE, ALTER, DROP, TERMINATE, SET or UNSET")
        }
        try expectEnd()
        return statement
    }

    /// INSERT INTO name [(col, …)] VALUES (expr, …), or INSERT INTO name SELECT ….
    private mutating func insertValues() throws -> Statement {
        try expect("INSERT")
        try expect("INTO")
        let name = try identifier("a stream or table name")
        var columns: [String]?
        if accept(symbol: "(") {
            var names = [try identifier("a column name")]
            while accept(symbol: ",") { names.append(try identifier("a column name")) }
            try expect(symbol: ")")
            columns = names
        }
        if columns == nil, accept("SELECT") { return .insertSelect(into: name, select: try selectBody()) }
        try expect("VALUES")
        try expect(symbol: "(")
        let values = try expressionList()
        try expect(symbol: ")")
        return .insertValues(into: name, columns: columns, values: values)
    }

    mutating func string(_ what: String) throws -> String {
        guard current.kind == .string else { throw error(expected: what) }
        return advance().value
    }

    private mutating func sourceKind() throws -> SourceKind {
        if accept("STREAM") { return .stream }
        if accept("TABLE") { return .table }
        throw error(expected: "'STREAM' or 'TABLE'")
    }

    private mutating func create() throws -> Statement {
        var orReplace = false
        if accept("OR") {
            try expect("REPLACE")
            orReplace = true
        }
        let kind = try sourceKind()
        var ifNotExists = false
        if accept("IF") {
            try expect("NOT")
            try expect("EXISTS")
            ifNotExists = true
        }
        let name = try identifier("a stream or table name")
        var columns: [ColumnDefinition] = []
        if accept(symbol: "(") {
            repeat { columns.append(try column()) } while accept(symbol: ",")
            try expect(symbol: ")")
        }
        let properties = try accept("WITH") ? self.properties() : nil
        if columns.isEmpty, check("AS") {
            advance()
            try expect("SELECT")
            let select = try selectBody()
            return .createAsSelect(CreateAsSelect(kind: kind, name: name, properties: properties ?? [], select: select,
                                                  orReplace: orReplace, ifNotExists: ifNotExists))
        }
        // Without columns the schema comes from the registry, but the topic must be named.
        if columns.isEmpty, properties == nil { throw error(expected: "'(', 'WITH' or 'AS'") }
        return .createSource(CreateSource(kind: kind, name: name, columns: columns, properties: properties ?? [],
                                          orReplace: orReplace, ifNotExists: ifNotExists))
    }

    private mutating func column() throws -> ColumnDefinition {
        let name = try identifier("a column name")
        var column = ColumnDefinition(name: name, type: try type())
        if accept("KEY") {
            column.role = .key
        } else if accept("PRIMARY") {
            try expect("KEY")
            column.role = .primaryKey
        } else if accept("HEADERS") {
            column.role = .headers
        }
        return column
    }

    private static let simpleTypes: [String: SQLType] = [
        "BOOLEAN": .boolean, "INT": .integer, "INTEGER": .integer, "BIGINT": .bigint, "DOUBLE": .double,
        "VARCHAR": .string, "STRING": .string, "BYTES": .bytes, "DATE": .date, "TIME": .time,
        "TIMESTAMP": .timestamp,
    ]

    mutating func type() throws -> SQLType {
        if current.kind == .word, let simple = Self.simpleTypes[current.value] {
            advance()
            return simple
        }
        if accept("DECIMAL") {
            try expect(symbol: "(")
            let precision = try integer("a precision")
            try expect(symbol: ",")
            let scale = try integer("a scale")
            try expect(symbol: ")")
            return .decimal(precision: Int(precision), scale: Int(scale))
        }
        if accept("ARRAY") {
            try expect(symbol: "<")
            let element = try type()
            try expect(symbol: ">")
            return .array(element)
        }
        if accept("MAP") {
            try expect(symbol: "<")
            let key = try type()
            try expect(symbol: ",")
            let value = try type()
            try expect(symbol: ">")
            return .map(key, value)
        }
        if accept("STRUCT") {
            try expect(symbol: "<")
            var fields: [(String, SQLType)] = []
            repeat {
                let name = try identifier("a field name")
                fields.append((name, try type()))
            } while accept(symbol: ",")
            try expect(symbol: ">")
            return .struct(fields)
        }
        consider(Self.simpleTypes.keys.sorted())
        throw error(expected: "a type")
    }

    /// `(NAME = literal, …)` after WITH.
    private mutating func properties() throws -> [SourceProperty] {
        try expect(symbol: "(")
        var properties: [SourceProperty] = []
        repeat {
            guard current.kind == .word || current.kind == .quotedIdentifier else {
                throw error(expected: "a property name")
            }
            let name = advance().value.uppercased()
            try expect(symbol: "=")
            properties.append(SourceProperty(name: name, value: try propertyValue()))
        } while accept(symbol: ",")
        try expect(symbol: ")")
        return properties
    }

    private mutating func propertyValue() throws -> Literal {
        let negative = accept(symbol: "-")
        switch current.kind {
        case .integer:
            return .integer(try negative ? -integer("a number") : integer("a number"))
        case .decimal:
            return .decimal((negative ? "-" : "") + advance().value)
        case .string where !negative:
            return .string(advance().value)
        default:
            if !negative, accept("TRUE") { return .boolean(true) }
            if !negative, accept("FALSE") { return .boolean(false) }
            throw error(expected: negative ? "a number" : "a string, number or boolean")
        }
    }

    private mutating func show() throws -> Statement {
        let target: ShowTarget
        if accept("STREAMS") {
            target = .streams
        } else if accept("TABLES") {
            target = .tables
        } else if accept("QUERIES") {
            target = .queries
        } else if accept("TOPICS") {
            target = .topics
        } else if accept("PROPERTIES") {
            target = .properties
        } else {
            throw error(expected: "STREAMS, TABLES, QUERIES, TOPICS or PROPERTIES")
        }
        _ = accept("EXTENDED")
        return target == .properties ? .listProperties : .show(target)
    }

    private mutating func alter() throws -> Statement {
        let kind = try sourceKind()
        let name = try identifier("a stream or table name")
        var columns: [ColumnDefinition] = []
        repeat {
            try expect("ADD")
            _ = accept("COLUMN")
            columns.append(ColumnDefinition(name: try identifier("a column name"), type: try type()))
        } while accept(symbol: ",")
        return .alter(kind: kind, name: name, columns: columns)
    }

    private mutating func drop() throws -> Statement {
        let kind = try sourceKind()
        var ifExists = false
        if accept("IF") {
            try expect("EXISTS")
            ifExists = true
        }
        let name = try identifier("a stream or table name")
        var deleteTopic = false
        if accept("DELETE") {
            try expect("TOPIC")
            deleteTopic = true
        }
        return .drop(kind: kind, name: name, ifExists: ifExists, deleteTopic: deleteTopic)
    }
}
