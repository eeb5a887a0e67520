/// A table (or other relation) name as a user gave it, optionally with a
/// schema. Names are kept exactly: `--table MyCoolTable` means the table
/// "MyCoolTable", not "mycooltable" (dbsink and SQLAlchemy behaved so).
struct QualifiedName: Hashable, Sendable, CustomStringConvertible {
    var schema: String?
    var name: String

    init(schema: String? = nil, name: String) {
        self.schema = schema
        self.name = name
    }

    /// Parses `table`, `schema.table`, `"My.Schema"."Ta""ble"`.
    ///
    /// Splits on the first dot outside double quotes; inside quotes `""` is
    /// one quote character. Quoted and bare segments may be mixed within a
    /// part and are concatenated. Everything after the first unquoted dot
    /// is the name, so `a.b.c` is schema `a`, table `b.c`. No case folding
    /// and no trimming.
    static func parse(_ text: String) throws -> QualifiedName {
        var parts: [String] = []
        // Unicode scalars, not Characters: a quote followed by a combining
        // mark must still count as a quote.
        var current = String.UnicodeScalarView()
        var inQuotes = false
        var sawQuotes = false
        var characters = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = characters.next()
        while let character = pending {
            pending = characters.next()
            if inQuotes {
                if character == "\"" {
                    if pending == "\"" {
                        current.append("\"")
                        pending = characters.next()
                    } else {
                        inQuotes = false
                    }
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                inQuotes = true
                sawQuotes = true
            } else if character == "." && parts.isEmpty {
                parts.append(try finish(current, in: text, quoted: sawQuotes))
                current = String.UnicodeScalarView()
                sawQuotes = false
            } else {
                current.append(character)
            }
        }
        if inQuotes {
            throw UsageError("invalid name \(text.debugDescription): unterminated double quote")
        }
        let last = try finish(current, in: text, quoted: sawQuotes)
        return parts.isEmpty ? QualifiedName(name: last) : QualifiedName(schema: parts[0], name: last)
    }

    private static func finish(_ characters: String.UnicodeScalarView, in text: String, quoted: Bool) throws -> String {
        guard !characters.isEmpty else {
            throw UsageError("invalid name \(text.debugDescription): "
                             + (quoted ? "a quoted name cannot be empty" : "empty schema or table name"))
        }
        return String(characters)
    }

    /// The quoted SQL form, e.g. `"MySchema"."MyTable"`, via libpq.
    func sql(on connection: PostgresConnection) throws -> String {
        let quotedName = try connection.quoteIdentifier(name)
        guard let schema else { return quotedName }
        return try connection.quoteIdentifier(schema) + "." + quotedName
    }

    /// A form `parse` reads back to the same value, quoting only parts that
    /// need it; for messages and for command lines.
    var description: String {
        guard let schema else { return QualifiedName.displayPart(name) }
        return QualifiedName.displayPart(schema) + "." + QualifiedName.displayPart(name)
    }

    private static func displayPart(_ part: String) -> String {
        let plain = part.unicodeScalars.allSatisfy { scalar in
            scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
        }
        if plain && !part.isEmpty { return part }
        return "\"" + part.replacingAll("\"", with: "\"\"") + "\""
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
