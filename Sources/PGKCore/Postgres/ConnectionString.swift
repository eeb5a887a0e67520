import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// Connection targets as users type them: a libpq key/value string
/// (`host=db user=me password=x`) or a URL (`postgresql://me:x@db/app`).
/// Parsing is libpq's; this only makes them safe to print.
enum ConnectionString {
    static let mask = "***"
    private static let secretKeys: Set<String> = ["password", "sslpassword"]

    static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// The text with every password replaced by `***`, in URL userinfo,
    /// URL query (`?password=`) and key/value (`password=`) forms.
    static func redacted(_ conninfoOrURL: String) -> String {
        isURL(conninfoOrURL) ? redactedURL(conninfoOrURL) : redactedKeyValue(conninfoOrURL)
    }

    // MARK: URL form

    private static func redactedURL(_ url: String) -> String {
        let bytes = Array(url.utf8)
        let schemeEnd = (url.hasPrefix("postgresql://") ? "postgresql://" : "postgres://").utf8.count
        let rest = bytes[schemeEnd...]
        let firstQuestion = rest.firstIndex(of: UInt8(ascii: "?"))
        let firstSlash = rest.firstIndex(of: UInt8(ascii: "/"))
        // libpq ends userinfo at the first '@' before any '/'. Passwords with
        // a stray '/', '?' or '@' would then leak through the host part of an
        // error, so take the widest plausible userinfo instead.
        var at = rest[..<(firstQuestion ?? rest.endIndex)].lastIndex(of: UInt8(ascii: "@"))
        if at == nil, let atBeforeSlash = rest[..<(firstSlash ?? rest.endIndex)].lastIndex(of: UInt8(ascii: "@")) {
            at = atBeforeSlash
        }
        var output = Array(bytes[..<schemeEnd])
        var queryStart = firstQuestion
        if let at {
            let userinfo = bytes[schemeEnd..<at]
            if let colon = userinfo.firstIndex(of: UInt8(ascii: ":")) {
                output += bytes[schemeEnd...colon]
                output += mask.utf8
            } else {
                output += userinfo
            }
            let afterAt = bytes[at...]
            queryStart = afterAt.firstIndex(of: UInt8(ascii: "?"))
            output += bytes[at..<(queryStart ?? bytes.endIndex)]
        } else {
            output += bytes[schemeEnd..<(queryStart ?? bytes.endIndex)]
        }
        if let queryStart {
            output.append(UInt8(ascii: "?"))
            let query = bytes[(queryStart + 1)...]
            let pairs = query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false)
            output += pairs.map { pair -> [UInt8] in
                guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { return Array(pair) }
                let key = percentDecoded(pair[pair.startIndex..<equals]).lowercased()
                return secretKeys.contains(key) ? Array(pair[...equals]) + Array(mask.utf8) : Array(pair)
            }.joined(separator: [UInt8(ascii: "&")])
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.endIndex,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    // MARK: key/value form

    private static func redactedKeyValue(_ conninfo: String) -> String {
        guard let options = parseKeyValue(conninfo) else {
            // libpq rejects it, yet it may still hold a password that an
            // error message is about to print.
            return scrubbedKeyValue(conninfo)
        }
        guard options.contains(where: { secretKeys.contains($0.key) }) else { return conninfo }
        // Mask in place to keep the user's layout, then let libpq confirm
        // that no password survived; if one did, rebuild from libpq's view.
        let scrubbed = scrubbedKeyValue(conninfo)
        if let check = parseKeyValue(scrubbed),
           check.allSatisfy({ !secretKeys.contains($0.key) || $0.value == mask }) {
            return scrubbed
        }
        return options.map { key, value in
            "\(key)=\(secretKeys.contains(key) ? mask : quotedValue(value))"
        }.joined(separator: " ")
    }

    /// The explicitly given options, in libpq's keyword order; nil when
    /// libpq cannot parse the text.
    static func parseKeyValue(_ conninfo: String) -> [(key: String, value: String)]? {
        var errorMessage: UnsafeMutablePointer<CChar>? = nil
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var result: [(key: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                result.append((String(cString: keyword), String(cString: value)))
            }
            option += 1
        }
        return result
    }

    private static func quotedValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "'" || $0 == "\\" || $0.isWhitespace }
        guard needsQuotes else { return value }
        var quoted = "'"
        for character in value {
            if character == "'" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "'"
    }

    /// Best-effort masking for text libpq cannot parse: the value after any
    /// `password` / `sslpassword` keyword, quoted or not, becomes `***`.
    private static func scrubbedKeyValue(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        var index = 0
        let lowered = bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        let keyword = Array("password".utf8)
        while index < bytes.count {
            guard lowered[index...].starts(with: keyword) else {
                output.append(bytes[index]); index += 1; continue
            }
            var cursor = index + keyword.count
            while cursor < bytes.count, bytes[cursor] == 32 || bytes[cursor] == 9 { cursor += 1 }
            guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "=") else {
                output += bytes[index..<(index + keyword.count)]; index += keyword.count; continue
            }
            output += bytes[index...cursor]
            output += mask.utf8
            cursor += 1
            while cursor < bytes.count, bytes[cursor] == 32 || bytes[cursor] == 9 { cursor += 1 }
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "'") {
                cursor += 1
                while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "'") {
                    cursor += bytes[cursor] == UInt8(ascii: "\\") ? 2 : 1
                }
                cursor += 1
            } else {
                while cursor < bytes.count, !(bytes[cursor] == 32 || bytes[cursor] == 9 || bytes[cursor] == 10) {
                    cursor += 1
                }
            }
            index = min(cursor, bytes.count)
        }
        return String(decoding: output, as: UTF8.self)
    }
}
