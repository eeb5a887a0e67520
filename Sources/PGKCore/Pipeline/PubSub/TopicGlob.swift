/// `pgk subscribe` patterns: shell globs over topic names (`*`, `?`,
/// `[abc]`, `[!abc]`, `[a-z]`), after the topic prefix. A pattern without
/// glob characters is a plain topic; others become librdkafka regex
/// subscriptions (`^…$`), which also pick up topics created later.
enum TopicGlob {
    static func subscription(prefix: String, pattern: String) throws(UsageError) -> String {
        let full = prefix + pattern
        guard pattern.contains(where: { "*?[".contains($0) }) else { return full }
        var regex = "^"
        for character in prefix { regex += escaped(character) }
        let characters = Array(pattern)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "*": regex += ".*"
            case "?": regex += "."
            case "[":
                guard let close = closingBracket(characters, from: index) else {
                    throw UsageError("pattern '\(pattern)': '[' without a closing ']'")
                }
                var body = String(characters[(index + 1)..<close])
                if body.hasPrefix("!") { body = "^" + body.dropFirst() }
                regex += "[" + body.replacingBackslashes() + "]"
                index = close
            default: regex += escaped(character)
            }
            index += 1
        }
        return regex + "$"
    }

    /// The `]` closing a class that starts at `open`; a `]` right after `[`
    /// or `[!` belongs to the class, as in the shell.
    private static func closingBracket(_ characters: [Character], from open: Int) -> Int? {
        var index = open + 1
        if index < characters.count, characters[index] == "!" { index += 1 }
        if index < characters.count, characters[index] == "]" { index += 1 }
        while index < characters.count {
            if characters[index] == "]" { return index }
            index += 1
        }
        return nil
    }

    private static func escaped(_ character: Character) -> String {
        ".^$|()[]{}*+?\\".contains(character) ? "\\" + String(character) : String(character)
    }
}

private extension String {
    /// A backslash inside a class is literal in globs; regex needs it doubled.
    func replacingBackslashes() -> String {
        var out = ""
        for character in self { out += character == "\\" ? "\\\\" : String(character) }
        return out
    }
}
