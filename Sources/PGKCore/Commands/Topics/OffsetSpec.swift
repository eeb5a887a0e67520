/// `--offset` for `topics tail`, as kcat users write it:
/// `beginning`, `end`, `stored`, `N` (absolute), `-N` (N before the end of
/// each partition), `@<unix-ms>` or `@<RFC 3339 time>` (first message at
/// or after that time).
enum OffsetSpec {
    static let help = "beginning, end, stored, N, -N (N from the end), @UNIX_MS or @RFC3339 time"

    static func parse(_ text: String) throws(UsageError) -> KafkaStartOffset {
        switch text {
        case "beginning", "earliest", "start": return .beginning
        case "end", "latest": return .end
        case "stored", "committed": return .stored
        default: break
        }
        if text.hasPrefix("@") {
            let time = String(text.dropFirst())
            if !time.isEmpty, time.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let ms = Int64(time) { return .timestamp(ms) }
            if let ms = RFC3339.milliseconds(time) { return .timestamp(ms) }
            throw UsageError("invalid offset '\(text)': after '@' give Unix milliseconds or an RFC 3339 time such as 2024-05-01T12:00:00Z")
        }
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        if !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let number = Int64(digits) {
            if !text.hasPrefix("-") { return .offset(number) }
            if number > 0 { return .tail(number) }
        }
        throw UsageError("invalid offset '\(text)': expected \(help)")
    }
}

/// RFC 3339 timestamps (`2024-05-01T12:00:00Z`, `…12:00:00.250+02:00`),
/// parsed by hand so the core needs no Foundation.
enum RFC3339 {
    static func milliseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ digits: Int) -> Int64? {
            guard i + digits <= b.count else { return nil }
            var value: Int64 = 0
            for k in 0..<digits {
                let d = b[i + k]
                guard d >= 48 && d <= 57 else { return nil }
                value = value * 10 + Int64(d - 48)
            }
            i += digits
            return value
        }
        func expect(_ chars: String) -> Bool {
            guard i < b.count, chars.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2) else { return nil }
        // A date that does not survive the round trip (Feb 30) is invalid.
        let days = CivilTime.days(year: year, month: Int(month), day: Int(day))
        guard (1...12).contains(month), (1...31).contains(day),
              CivilTime.civil(fromDays: days) == (year, Int(month), Int(day)),
              hour < 24, minute < 60, second < 61 else { return nil }
        var millis: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100
            let start = i
            while i < b.count, b[i] >= 48 && b[i] <= 57 {
                millis += Int64(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offsetMinutes: Int64 = 0
        if expect("Zz") {
            // UTC
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = number(2), expect(":"), let om = number(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60
        return seconds * 1_000 + millis
    }
}
