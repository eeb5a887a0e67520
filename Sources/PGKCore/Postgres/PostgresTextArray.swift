/// A one-dimensional text[] in PostgreSQL's text form (`{a,"b c",NULL}`),
/// for passing lists as one parameter (`= ANY($1::text[])`) and reading
/// them back.
enum PostgresTextArray {
    /// The text form of `elements` for a `text[]` parameter.
    static func literal(_ elements: [String]) -> String {
        "{" + elements.map { element in
            var quoted = "\""
            // Scalars, not Characters: a quote followed by a combining mark
            // is one Character that would otherwise go unescaped.
            for scalar in element.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(scalar)
            }
            return quoted + "\""
        }.joined(separator: ",") + "}"
    }

    /// The elements of a one-dimensional array (an unquoted NULL reads as
    /// the text "NULL"); text that is not an array is one element.
    static func parse(_ text: String) -> [String] {
        guard case .array(let nodes)? = try? PgArrayText.parse(Array(text.utf8)) else { return [text] }
        return nodes.compactMap { node in
            guard case .element(let value) = node else { return nil }
            return value ?? "NULL"
        }
    }
}
