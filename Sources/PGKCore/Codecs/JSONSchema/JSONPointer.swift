/// RFC 6901 JSON Pointers: the instance and schema locations in validation
/// errors, and the `#/...` fragments of `$ref`.
///
/// Pointers are kept in their escaped text form (`/a~1b/0`); the empty
/// string is the whole document.
enum JSONPointer {
    /// One reference token escaped for a pointer: `~` → `~0`, `/` → `~1`.
    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else {
            return token
        }
        var out = ""
        for character in token.unicodeScalars {
            switch character {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// `pointer` with one more (unescaped) token.
    static func appending(_ pointer: String, _ token: String) -> String {
        pointer + "/" + escape(token)
    }

    static func appending(_ pointer: String, _ index: Int) -> String {
        pointer + "/" + String(index)
    }

    /// The unescaped tokens of a pointer, or nil when it is malformed (does
    /// not start with `/`, or has a `~` not followed by `0` or `1`).
    static func tokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        var tokens: [String] = []
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var tilde = false
            for scalar in raw.unicodeScalars {
                if tilde {
                    switch scalar {
                    case "0": token += "~"
                    case "1": token += "/"
                    default: return nil
                    }
                    tilde = false
                } else if scalar == "~" {
                    tilde = true
                } else {
                    token.unicodeScalars.append(scalar)
                }
            }
            if tilde { return nil }
            tokens.append(token)
        }
        return tokens
    }

    /// The value `pointer` designates inside `document`, or nil if the
    /// pointer is malformed or leads nowhere. Array tokens must be decimal
    /// indexes without leading zeros.
    static func resolve(_ pointer: String, in document: Value) -> Value? {
        guard let tokens = tokens(pointer) else { return nil }
        var current = document
        for token in tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let items):
                guard let index = arrayIndex(token), index < items.count else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    static func arrayIndex(_ token: String) -> Int? {
        guard !token.isEmpty, token.utf8.allSatisfy({ $0 &- 48 < 10 }) else { return nil }
        if token.utf8.count > 1, token.utf8.first == UInt8(ascii: "0") { return nil }
        return Int(token)
    }
}

/// One step of an instance location, kept unrendered until an error needs it.
enum InstancePathStep {
    case key(String)
    case index(Int)

    static func render(_ steps: [InstancePathStep]) -> String {
        var out = ""
        for step in steps {
            switch step {
            case .key(let key): out = JSONPointer.appending(out, key)
            case .index(let index): out = JSONPointer.appending(out, index)
            }
        }
        return out
    }
}
