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

    /// Whether `topic` matches `pattern` (after the prefix) as the
    /// subscription would; for tests and for explaining what matched.
    static func matches(_ topic: String, prefix: String, pattern: String) -> Bool {
        guard topic.hasPrefix(prefix) else { return false }
        return globMatch(Array(topic.dropFirst(prefix.count)), Array(pattern))
    }

    private static func globMatch(_ text: [Character], _ pattern: [Character]) -> Bool {
        var t = 0, p = 0, starP = -1, starT = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "*" {
                starP = p; starT = t; p += 1
            } else if p < pattern.count, let next = matchOne(text[t], pattern, p) {
                t += 1; p = next
            } else if starP >= 0 {
                p = starP + 1; starT += 1; t = starT
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    /// Where the pattern continues if `character` matches the element at `p`.
    private static func matchOne(_ character: Character, _ pattern: [Character], _ p: Int) -> Int? {
        switch pattern[p] {
        case "?": return p + 1
        case "[":
            guard let close = closingBracket(pattern, from: p) else { return character == "[" ? p + 1 : nil }
            var body = Array(pattern[(p + 1)..<close])
            let negated = body.first == "!"
            if negated { body.removeFirst() }
            var found = false
            var i = 0
            while i < body.count {
                if i + 2 < body.count, body[i + 1] == "-" {
                    if body[i] <= character && character <= body[i + 2] { found = true }
                    i += 3
                } else {
                    if body[i] == character { found = true }
                    i += 1
                }
            }
            return found != negated ? close + 1 : nil
        default: return pattern[p] == character ? p + 1 : nil
        }
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
