import Foundation

/// The formats `format` can assert when asked to (`assertFormats`); any
/// other format name stays an annotation. The checks follow the RFC
/// grammars loosely enough to be cheap: RFC 3339 date-time/date/time,
/// a dot-atom `local@domain` email, RFC 4122 text UUID, dotted-quad IPv4
/// and RFC 4291 IPv6 text.
enum SchemaFormat: String, Sendable {
    case dateTime = "date-time"
    case date
    case time
    case email
    case uuid
    case ipv4
    case ipv6

    func accepts(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        switch self {
        case .date: return SchemaFormat.isDate(bytes[...])
        case .time: return SchemaFormat.isTime(bytes[...])
        case .dateTime:
            guard let t = bytes.firstIndex(where: { $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "t") }) else { return false }
            return SchemaFormat.isDate(bytes[..<t]) && SchemaFormat.isTime(bytes[(t + 1)...])
        case .email: return SchemaFormat.isEmail(bytes)
        case .uuid: return SchemaFormat.isUUID(bytes)
        case .ipv4: return SchemaFormat.isIPv4(bytes[...])
        case .ipv6: return SchemaFormat.isIPv6(text)
        }
    }

    private static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 &- 48 < 10 }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    private static func isDate(_ b: ArraySlice<UInt8>) -> Bool {
        let s = Array(b)
        guard s.count == 10, s[4] == UInt8(ascii: "-"), s[7] == UInt8(ascii: "-"),
              let year = digits(s[0..<4]), let month = digits(s[5..<7]), let day = digits(s[8..<10]),
              (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    /// `hh:mm:ss[.frac](Z|±hh:mm)`; a leap second only at 23:59 UTC.
    private static func isTime(_ b: ArraySlice<UInt8>) -> Bool {
        let s = Array(b)
        guard s.count >= 9, s[2] == UInt8(ascii: ":"), s[5] == UInt8(ascii: ":"),
              let hour = digits(s[0..<2]), let minute = digits(s[3..<5]), let second = digits(s[6..<8]),
              hour < 24, minute < 60, second < 61 else { return false }
        var i = 8
        if s[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < s.count, s[i] &- 48 < 10 { i += 1 }
            if i == start { return false }
        }
        guard i < s.count else { return false }
        var offsetMinutes = 0
        if s[i] == UInt8(ascii: "Z") || s[i] == UInt8(ascii: "z") {
            guard i + 1 == s.count else { return false }
        } else if s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
            guard s.count - i == 6, s[i + 3] == UInt8(ascii: ":"),
                  let oh = digits(s[(i + 1)..<(i + 3)]), let om = digits(s[(i + 4)..<(i + 6)]), oh < 24, om < 60 else { return false }
            offsetMinutes = (oh * 60 + om) * (s[i] == UInt8(ascii: "+") ? 1 : -1)
        } else {
            return false
        }
        if second == 60 {
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    private static func isEmail(_ s: [UInt8]) -> Bool {
        guard let at = s.lastIndex(of: UInt8(ascii: "@")), at > 0, at < s.count - 1 else { return false }
        let local = s[..<at], domain = s[(at + 1)...]
        if local.first == UInt8(ascii: ".") || local.last == UInt8(ascii: ".") { return false }
        if zip(local, local.dropFirst()).contains(where: { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }) { return false }
        if local.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: "@") }) { return false }
        if domain.first == UInt8(ascii: "[") { return domain.last == UInt8(ascii: "]") }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { $0 >= 0x80 || isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        byte &- 48 < 10 || (byte | 0x20) &- 97 < 26
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        byte &- 48 < 10 || (byte | 0x20) &- 97 < 6
    }

    private static func isUUID(_ s: [UInt8]) -> Bool {
        guard s.count == 36 else { return false }
        for (i, byte) in s.enumerated() {
            if [8, 13, 18, 23].contains(i) { if byte != UInt8(ascii: "-") { return false } } else if !isHex(byte) { return false }
        }
        return true
    }

    private static func isIPv4(_ s: ArraySlice<UInt8>) -> Bool {
        let parts = s.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard part.count <= 3, let value = digits(part), value <= 255 else { return false }
            return part.count == 1 || part.first != UInt8(ascii: "0")
        }
    }

    private static func isIPv6(_ text: String) -> Bool {
        var text = Substring(text)
        var groupsAvailable = 8
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard isIPv4(Array(text[text.index(after: lastColon)...].utf8)[...]) else { return false }
            text = text[...lastColon]
            if text.hasSuffix(":"), !text.hasSuffix("::") { text = text.dropLast() }
            groupsAvailable = 6
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func groups(_ part: String) -> Int? {
            if part.isEmpty { return 0 }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for piece in pieces where piece.isEmpty || piece.count > 4 || !piece.utf8.allSatisfy(isHex) { return nil }
            return pieces.count
        }
        guard let first = groups(halves[0]) else { return false }
        if halves.count == 1 { return first == groupsAvailable }
        guard let second = groups(halves[1]) else { return false }
        return first + second < groupsAvailable
    }
}
