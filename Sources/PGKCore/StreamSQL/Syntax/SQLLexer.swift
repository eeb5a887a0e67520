/// Tokens of `pgk sql`'s ksqlDB dialect and the error every stage of the
/// parser reports.

/// A syntax error at a place in the statement file.
struct SQLSyntaxError: Error, CustomStringConvertible, Equatable {
    /// What was expected and what was found, e.g. "expected ')' but found 'FROM'".
    var message: String
    /// Line and column (1-based) of the offending token.
    var position: SourcePosition
    /// The offending token as written; nil at the end of the input.
    var token: String?
    /// "did you mean 'SELECT'?" when the token looks like a misspelled keyword.
    var suggestion: String?

    var description: String {
        let hint = suggestion.map { " (\($0))" } ?? ""
        return "\(position): \(message)\(hint)"
    }
}

struct SQLToken: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// An unquoted identifier or keyword; `value` is upper-cased.
        case word
        /// A `"…"` or backtick identifier; `value` keeps its case.
        case quotedIdentifier
        /// A `'…'` literal; `value` is unescaped.
        case string
        case integer, decimal
        /// An operator or punctuation; `value` is canonical (`!=` becomes `<>`).
        case symbol
        /// The end of a statement: `text` is ";" or empty at the end of input.
        case end
    }

    var kind: Kind
    /// The token as written in the source.
    var text: String
    var value: String
    var position: SourcePosition
    /// Character offsets of the token in the source, for statement texts.
    var start: Int
    var end: Int

    /// True for an unquoted word equal to `keyword` (given upper-case).
    func isKeyword(_ keyword: String) -> Bool { kind == .word && value == keyword }

    func isSymbol(_ symbol: String) -> Bool { kind == .symbol && value == symbol }

    /// How the token reads in an error message.
    var quoted: String {
        switch kind {
        case .end: return text.isEmpty ? "end of input" : "';'"
        case .string: return "string \(text)"
        default: return "'\(text)'"
        }
    }
}

/// The tokens of a whole script plus what statement texts need.
struct SQLSource {
    var characters: [Character]
    /// All tokens; `;` appears as a `.end` token, the last token is an empty `.end`.
    var tokens: [SQLToken]
    /// Ranges of `\` (plus trailing blanks) that continue a line, dropped from statement texts.
    var continuations: [Range<Int>]

    /// The source from `start` to `end` without line-continuation backslashes.
    func text(from start: Int, to end: Int) -> String {
        var result = ""
        var offset = start
        for range in continuations where range.lowerBound >= start && range.upperBound <= end {
            result += String(characters[offset..<range.lowerBound])
            offset = range.upperBound
        }
        result += String(characters[offset..<end])
        return result
    }
}

enum SQLLexer {
    /// Longest symbols first so `<=` wins over `<`.
    private static let symbols = [":=", "=>", "<>", "!=", "<=", ">=", "||", "->", "+", "-", "*", "/", "%", "=", "<", ">",
                                  "[", "]", "(", ")", ",", ".", ";"]

    static func tokenize(_ text: String) throws -> SQLSource {
        var cursor = Cursor(characters: Array(text))
        var tokens: [SQLToken] = []
        var continuations: [Range<Int>] = []

        while let c = cursor.peek() {
            if c.isWhitespace {
                cursor.advance()
            } else if c == "-", cursor.peek(1) == "-" {
                while let next = cursor.peek(), !next.isNewline { cursor.advance() }
            } else if c == "/", cursor.peek(1) == "*" {
                try skipBlockComment(&cursor)
            } else if c == "\\" {
                continuations.append(try skipContinuation(&cursor))
            } else {
                tokens.append(try token(&cursor))
            }
        }
        let endPosition = cursor.position
        tokens.append(SQLToken(kind: .end, text: "", value: "", position: endPosition,
                               start: cursor.offset, end: cursor.offset))
        return SQLSource(characters: cursor.characters, tokens: tokens, continuations: continuations)
    }

    private static func skipBlockComment(_ cursor: inout Cursor) throws {
        let position = cursor.position
        cursor.advance(2)
        while true {
            guard let c = cursor.peek() else {
                throw SQLSyntaxError(message: "unterminated comment, expected '*/'", position: position, token: "/*")
            }
            if c == "*", cursor.peek(1) == "/" {
                cursor.advance(2)
                return
            }
            cursor.advance()
        }
    }

    /// A backslash ending a line (after optional blanks) joins the next line, as in the ksqlDB CLI.
    private static func skipContinuation(_ cursor: inout Cursor) throws -> Range<Int> {
        let start = cursor.offset
        let position = cursor.position
        var ahead = 1
        while let c = cursor.peek(ahead), c == " " || c == "\t" { ahead += 1 }
        guard let c = cursor.peek(ahead), c.isNewline else {
            throw SQLSyntaxError(message: "unexpected '\\', a backslash may only end a line", position: position,
                                 token: "\\")
        }
        cursor.advance(ahead)
        return start..<cursor.offset
    }

    private static func token(_ cursor: inout Cursor) throws -> SQLToken {
        let start = cursor.offset
        let position = cursor.position
        func make(_ kind: SQLToken.Kind, _ value: String) -> SQLToken {
            SQLToken(kind: kind, text: String(cursor.characters[start..<cursor.offset]), value: value,
                     position: position, start: start, end: cursor.offset)
        }
        guard let c = cursor.peek() else { return make(.end, "") }

        if c == "'" {
            let value = try quoted(&cursor, by: "'", what: "string literal")
            return make(.string, value)
        }
        if c == "\"" || c == "`" {
            let value = try quoted(&cursor, by: c, what: "quoted identifier")
            guard !value.isEmpty else {
                throw SQLSyntaxError(message: "empty quoted identifier", position: position, token: String(c) + String(c))
            }
            return make(.quotedIdentifier, value)
        }
        if c.isLetter || c == "_" {
            while let next = cursor.peek(), next.isLetter || next.isNumber || next == "_" || next == "@" {
                cursor.advance()
            }
            let text = String(cursor.characters[start..<cursor.offset])
            return make(.word, text.uppercased())
        }
        if isDigit(c) || (c == "." && cursor.peek(1).map(isDigit) == true) {
            let kind = number(&cursor)
            // Digits run into letters make an identifier (`1R`), as in ksqlDB's grammar.
            if kind == .integer, let next = cursor.peek(), next.isLetter || next == "_" || next == "@" {
                while let next = cursor.peek(), next.isLetter || next.isNumber || next == "_" || next == "@" { cursor.advance() }
                return make(.word, String(cursor.characters[start..<cursor.offset]).uppercased())
            }
            return make(kind, String(cursor.characters[start..<cursor.offset]))
        }
        for symbol in symbols where cursor.matches(symbol) {
            cursor.advance(symbol.count)
            let value = symbol == "!=" ? "<>" : symbol
            return make(symbol == ";" ? .end : .symbol, value)
        }
        throw SQLSyntaxError(message: "unexpected character '\(c)'", position: position, token: String(c))
    }

    /// Reads a literal or identifier quoted by `quote`, where a doubled quote stands for one.
    private static func quoted(_ cursor: inout Cursor, by quote: Character, what: String) throws -> String {
        let position = cursor.position
        let start = cursor.offset
        cursor.advance()
        var value = ""
        while true {
            guard let c = cursor.peek() else {
                let rest = cursor.characters[start...].prefix { !$0.isNewline }
                throw SQLSyntaxError(message: "unterminated \(what), expected a closing \(quote)",
                                     position: position, token: String(rest))
            }
            cursor.advance()
            if c == quote {
                guard cursor.peek() == quote else { return value }
                cursor.advance()
            }
            value.append(c)
        }
    }

    private static func number(_ cursor: inout Cursor) -> SQLToken.Kind {
        var kind = SQLToken.Kind.integer
        while let c = cursor.peek(), isDigit(c) { cursor.advance() }
        if cursor.peek() == "." {
            kind = .decimal
            cursor.advance()
            while let c = cursor.peek(), isDigit(c) { cursor.advance() }
        }
        // An exponent only counts when digits follow, so `1e` stays `1` then `e`.
        if let e = cursor.peek(), e == "e" || e == "E" {
            var ahead = 1
            if let sign = cursor.peek(1), sign == "+" || sign == "-" { ahead = 2 }
            if let digit = cursor.peek(ahead), isDigit(digit) {
                kind = .decimal
                cursor.advance(ahead)
                while let c = cursor.peek(), isDigit(c) { cursor.advance() }
            }
        }
        return kind
    }

    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }
}

/// Walks the characters keeping line and column.
private struct Cursor {
    let characters: [Character]
    private(set) var offset = 0
    private(set) var position = SourcePosition(line: 1, column: 1)

    init(characters: [Character]) { self.characters = characters }

    func peek(_ ahead: Int = 0) -> Character? {
        offset + ahead < characters.count ? characters[offset + ahead] : nil
    }

    func matches(_ text: String) -> Bool {
        var index = offset
        for c in text {
            guard index < characters.count, characters[index] == c else { return false }
            index += 1
        }
        return true
    }

    mutating func advance(_ count: Int = 1) {
        for _ in 0..<count {
            guard offset < characters.count else { return }
            if characters[offset].isNewline {
                position.line += 1
                position.column = 1
            } else {
                position.column += 1
            }
            offset += 1
        }
    }
}
