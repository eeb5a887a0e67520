/// Calendar arithmetic and RFC 3339 text for Avro logical types and msgpack
/// timestamps, done on integers so no time zone database or Foundation is
/// involved and every instant renders the same everywhere.
enum CivilTime {
    static let secondsPerDay: Int64 = 86_400

    /// Proleptic Gregorian date of a day count since 1970-01-01
    /// (H. Hinnant's civil_from_days, exact for every Int64 day count / 2).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func formatDate(days: Int64) -> String {
        var out: [UInt8] = []
        appendDate(days: days, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// "HH:MM:SS" plus `fractionDigits` digits of `fraction` (units of
    /// 10^-fractionDigits s). Nil when outside one day.
    static func formatTime(seconds: Int64, fraction: Int64, fractionDigits: Int) -> String? {
        guard seconds >= 0, seconds < secondsPerDay else { return nil }
        var out: [UInt8] = []
        appendTime(seconds: seconds, fraction: fraction, fractionDigits: fractionDigits, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3339: "YYYY-MM-DDTHH:MM:SS.fff" with "Z" when `utc`.
    static func formatTimestamp(seconds: Int64, fraction: Int64, fractionDigits: Int, utc: Bool = true) -> String {
        let (dayCount, secondOfDay) = floorDivide(seconds, secondsPerDay)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        appendDate(days: dayCount, to: &out)
        out.append(UInt8(ascii: "T"))
        appendTime(seconds: secondOfDay, fraction: fraction, fractionDigits: fractionDigits, to: &out)
        if utc { out.append(UInt8(ascii: "Z")) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Splits a count of `unitsPerSecond` units into whole seconds and the
    /// non-negative remainder, so instants before 1970 render correctly.
    static func split(_ value: Int64, unitsPerSecond: Int64) -> (seconds: Int64, fraction: Int64) {
        let (q, r) = floorDivide(value, unitsPerSecond)
        return (q, r)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 { q -= 1; r += b }
        return (q, r)
    }

    private static func appendDate(days: Int64, to out: inout [UInt8]) {
        let (year, month, day) = civil(fromDays: days)
        if year >= 0 && year <= 9999 {
            appendPadded(year, width: 4, to: &out)
        } else {
            out.append(contentsOf: String(year).utf8)
        }
        out.append(UInt8(ascii: "-"))
        appendPadded(Int64(month), width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(Int64(day), width: 2, to: &out)
    }

    private static func appendTime(seconds: Int64, fraction: Int64, fractionDigits: Int, to out: inout [UInt8]) {
        appendPadded(seconds / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(seconds / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(seconds % 60, width: 2, to: &out)
        if fractionDigits > 0 {
            out.append(UInt8(ascii: "."))
            appendPadded(fraction, width: fractionDigits, to: &out)
        }
    }

    private static func appendPadded(_ value: Int64, width: Int, to out: inout [UInt8]) {
        var digits: [UInt8] = []
        var v = value
        repeat {
            digits.append(UInt8(48 + v % 10))
            v /= 10
        } while v > 0
        if digits.count < width { out.append(contentsOf: repeatElement(48, count: width - digits.count)) }
        out.append(contentsOf: digits.reversed())
    }

    // MARK: parsing (the produce side accepts the same text it renders)

    /// "YYYY-MM-DD" → days since 1970-01-01.
    static func parseDate(_ text: String) -> Int64? {
        var scanner = DigitScanner(Array(text.utf8))
        guard let days = scanner.date(), scanner.atEnd else { return nil }
        return days
    }

    /// "HH:MM[:SS[.fraction]]" → nanoseconds after midnight.
    static func parseTime(_ text: String) -> Int64? {
        var scanner = DigitScanner(Array(text.utf8))
        guard let nanos = scanner.time(), scanner.atEnd else { return nil }
        return nanos
    }

    /// RFC 3339 / ISO 8601 ("T" or space; "Z", "+hh:mm", "+hhmm" or no
    /// offset, meaning UTC) → nanoseconds since the epoch, nil on overflow.
    static func parseTimestamp(_ text: String) -> (seconds: Int64, nanos: Int64)? {
        var scanner = DigitScanner(Array(text.utf8))
        guard let days = scanner.date() else { return nil }
        var nanosOfDay: Int64 = 0
        if scanner.take(UInt8(ascii: "T")) || scanner.take(UInt8(ascii: "t")) || scanner.take(UInt8(ascii: " ")) {
            guard let t = scanner.time() else { return nil }
            nanosOfDay = t
        }
        var offsetSeconds: Int64 = 0
        if scanner.take(UInt8(ascii: "Z")) || scanner.take(UInt8(ascii: "z")) {
        } else if let sign = scanner.sign() {
            guard let hours = scanner.number(digits: 2) else { return nil }
            _ = scanner.take(UInt8(ascii: ":"))
            let minutes = scanner.number(digits: 2) ?? 0
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        guard scanner.atEnd else { return nil }
        let (daySeconds, o1) = days.multipliedReportingOverflow(by: secondsPerDay)
        guard !o1 else { return nil }
        let seconds = daySeconds + nanosOfDay / 1_000_000_000 - offsetSeconds
        return (seconds, nanosOfDay % 1_000_000_000)
    }
}

private struct DigitScanner {
    let bytes: [UInt8]
    var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func sign() -> Int64? {
        if take(UInt8(ascii: "+")) { return 1 }
        if take(UInt8(ascii: "-")) { return -1 }
        return nil
    }

    mutating func number(digits count: Int) -> Int64? {
        guard index + count <= bytes.count else { return nil }
        var value: Int64 = 0
        for i in index..<index + count {
            let d = bytes[i] &- 48
            guard d < 10 else { return nil }
            value = value * 10 + Int64(d)
        }
        index += count
        return value
    }

    mutating func date() -> Int64? {
        let negative = take(UInt8(ascii: "-"))
        guard let year = number(digits: 4), take(UInt8(ascii: "-")),
              let month = number(digits: 2), take(UInt8(ascii: "-")),
              let day = number(digits: 2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        let y = negative ? -year : year
        let days = CivilTime.days(year: y, month: Int(month), day: Int(day))
        // Rejects 2023-02-30 and friends: the day must survive a round trip.
        guard CivilTime.civil(fromDays: days) == (y, Int(month), Int(day)) else { return nil }
        return days
    }

    mutating func time() -> Int64? {
        guard let hours = number(digits: 2), take(UInt8(ascii: ":")),
              let minutes = number(digits: 2) else { return nil }
        var seconds: Int64 = 0
        var nanos: Int64 = 0
        if take(UInt8(ascii: ":")) {
            guard let s = number(digits: 2) else { return nil }
            seconds = s
            if take(UInt8(ascii: ".")) || take(UInt8(ascii: ",")) {
                var scale: Int64 = 100_000_000
                var digits = 0
                while index < bytes.count, bytes[index] &- 48 < 10 {
                    nanos += Int64(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                    digits += 1
                }
                guard digits > 0 else { return nil }
            }
        }
        // 24:00:00 is ISO 8601's end of day; 60 seconds allows a leap second.
        guard hours < 24 || (hours == 24 && minutes == 0 && seconds == 0 && nanos == 0),
              minutes < 60, seconds <= 60 else { return nil }
        return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000_000 + nanos
    }
}
