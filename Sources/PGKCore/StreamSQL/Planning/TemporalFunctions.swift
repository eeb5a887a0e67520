/// ksqlDB's date and time functions. Their patterns are Java
/// DateTimeFormatter patterns, rewritten for PostgreSQL's to_char and
/// to_timestamp when the statement is created; times are UTC unless a
/// time zone argument says otherwise, as in ksqlDB.
enum TemporalFunctions {
    /// Function name → position of its pattern argument.
    static let patternArgument: [String: Int] = [
        "TIMESTAMPTOSTRING": 1, "STRINGTOTIMESTAMP": 1, "FORMAT_TIMESTAMP": 1, "PARSE_TIMESTAMP": 1,
        "DATETOSTRING": 1, "STRINGTODATE": 1, "FORMAT_DATE": 1, "PARSE_DATE": 1,
        "FORMAT_TIME": 1, "PARSE_TIME": 1,
    ]

    static let functions: [String: ScalarFunction] = [
        // BIGINT epoch milliseconds ↔ text.
        "TIMESTAMPTOSTRING": ScalarFunction(arity: 2...3) { a in formatted("to_timestamp(\(a[0]) / 1000.0)", a) },
        "STRINGTOTIMESTAMP": ScalarFunction(arity: 2...3) { a in
            "CAST(extract(epoch FROM (pg_temp.kparse(\(a[0]), \(a[1]))::timestamp AT TIME ZONE \(zone(a, 2)))) * 1000 AS bigint)"
        },
        // TIMESTAMP ↔ text.
        "FORMAT_TIMESTAMP": ScalarFunction(arity: 2...3) { a in formatted("(\(a[0]) AT TIME ZONE 'UTC')", a) },
        "PARSE_TIMESTAMP": ScalarFunction(arity: 2...3) { a in
            "((pg_temp.kparse(\(a[0]), \(a[1]))::timestamp AT TIME ZONE \(zone(a, 2))) AT TIME ZONE 'UTC')"
        },
        // INT days since the epoch ↔ text.
        "DATETOSTRING": ScalarFunction(arity: 2...2) { a in "to_char(DATE '1970-01-01' + \(a[0]), \(a[1]))" },
        "STRINGTODATE": ScalarFunction(arity: 2...2) { a in "(CAST(pg_temp.kparse(\(a[0]), \(a[1])) AS date) - DATE '1970-01-01')" },
        // DATE and TIME ↔ text.
        "FORMAT_DATE": ScalarFunction(arity: 2...2) { a in "to_char(\(a[0]), \(a[1]))" },
        "PARSE_DATE": ScalarFunction(arity: 2...2) { a in "CAST(pg_temp.kparse(\(a[0]), \(a[1])) AS date)" },
        "FORMAT_TIME": ScalarFunction(arity: 2...2) { a in "to_char(\(a[0]), \(a[1]))" },
        "PARSE_TIME": ScalarFunction(arity: 2...2) { a in "CAST(pg_temp.kparse(\(a[0]), \(a[1])) AS time)" },
        "UNIX_DATE": ScalarFunction(arity: 0...1) { a in
            a.isEmpty ? "(CAST(clock_timestamp() AT TIME ZONE 'UTC' AS date) - DATE '1970-01-01')" : "(\(a[0]) - DATE '1970-01-01')"
        },
        "FROM_DAYS": ScalarFunction(arity: 1...1) { a in "(DATE '1970-01-01' + \(a[0]))" },
        "DATEADD": shifted("+", date: true), "DATESUB": shifted("-", date: true),
        "TIMEADD": shifted("+"), "TIMESUB": shifted("-"),
        "TIMESTAMPADD": shifted("+"), "TIMESTAMPSUB": shifted("-"),
        // A wall-clock TIMESTAMP (or TIME, on 1970-01-01) read in one zone, shown in another.
        "CONVERT_TZ": ScalarFunction(arity: 3...3, typed: { a, types in
            let shifted = { (value: String) in "((\(value) AT TIME ZONE \(zone(a, 1))) AT TIME ZONE \(zone(a, 2)))" }
            return types[0] == .time ? "CAST(\(shifted("(DATE '1970-01-01' + \(a[0]))")) AS time)" : shifted(a[0])
        }),
    ]

    /// (unit, n, value) → value ± n units; the unit arrives as interval text
    /// (see `interval`). A DATE stays a DATE.
    private static func shifted(_ sign: String, date: Bool = false) -> ScalarFunction {
        ScalarFunction(arity: 3...3) { a in
            let moved = "\(a[2]) \(sign) CAST(\(a[0]) AS interval) * \(a[1])"
            return date ? "CAST(\(moved) AS date)" : "(\(moved))"
        }
    }

    /// Functions whose first argument is a time unit keyword (DAYS, not a column).
    static let unitArgument: Set<String> = ["DATEADD", "DATESUB", "TIMEADD", "TIMESUB", "TIMESTAMPADD", "TIMESTAMPSUB"]

    /// ksqlDB's time unit (java.util.concurrent.TimeUnit's names) as interval text.
    static func interval(_ unit: String) -> String? {
        let units = ["MICROSECOND": "1 microsecond", "MILLISECOND": "1 millisecond", "SECOND": "1 second",
                     "MINUTE": "1 minute", "HOUR": "1 hour", "DAY": "1 day"]
        let name = unit.uppercased()
        return units[name] ?? units[name.hasSuffix("S") ? String(name.dropLast()) : name]
    }

    /// An instant printed by the pattern `a[1]` as a wall clock in the zone
    /// `a[2]`; only a pattern that prints the zone's name (TZ) needs
    /// pg_temp.kformat, which costs a session setting per row.
    private static func formatted(_ instant: String, _ a: [String]) -> String {
        "(CASE WHEN strpos(\(a[1]), 'TZ') > 0 THEN pg_temp.kformat(\(instant), \(a[1]), \(zone(a, 2))) "
            + "ELSE to_char(\(instant) AT TIME ZONE \(zone(a, 2)), \(a[1])) END)"
    }

    private static func zone(_ arguments: [String], _ index: Int) -> String {
        arguments.count > index ? "pg_temp.kzone(\(arguments[index]))" : "'UTC'"
    }

    /// The functions that read a zone name (`z`) at the end of a pattern.
    static let readsZoneNames: Set<String> = ["STRINGTOTIMESTAMP", "PARSE_TIMESTAMP"]

    /// A pattern that ends with a zone name (`… HH:mm:ss zzz`) without it:
    /// PostgreSQL's to_timestamp cannot read one, so pg_temp.kparsez splits
    /// the name off the text's end and reads the rest by this pattern.
    static func zoneNameStripped(_ java: String) -> String? {
        let letters = java.reversed().prefix { $0 == "z" }.count
        // Outside quotes: an even number of quote characters before the run.
        guard (1...4).contains(letters), java.dropLast(letters).filter({ $0 == "'" }).count % 2 == 0 else { return nil }
        return String(java.dropLast(letters))
    }

    /// PARSE_TIMESTAMP or STRINGTOTIMESTAMP of text that names its zone
    /// (the zone argument, if any, gives way to it, as in Java).
    static func parsedWithZoneName(_ name: String, _ a: [String]) -> String {
        // The zone argument is passed (its parameter must be bound) and not used.
        let instant = "pg_temp.kparsez(\(a.joined(separator: ", ")))"
        return name == "PARSE_TIMESTAMP" ? "(\(instant) AT TIME ZONE 'UTC')" : "CAST(extract(epoch FROM \(instant)) * 1000 AS bigint)"
    }

    /// The functions that read text by a pattern (PostgreSQL's to_timestamp
    /// cannot read a zone name, except at the end: see zoneNameStripped).
    static let parsing: Set<String> = ["STRINGTOTIMESTAMP", "PARSE_TIMESTAMP", "STRINGTODATE", "PARSE_DATE", "PARSE_TIME"]

    /// A Java DateTimeFormatter pattern as a PostgreSQL template pattern.
    static func postgresPattern(_ java: String, parsing: Bool = false) throws -> String {
        var out = ""
        let characters = Array(java)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "'" {
                // 'quoted text', with '' for a quote.
                var text = ""
                index += 1
                while index < characters.count {
                    if characters[index] == "'" {
                        if index + 1 < characters.count && characters[index + 1] == "'" { text.append("'"); index += 2; continue }
                        break
                    }
                    text.append(characters[index])
                    index += 1
                }
                guard index < characters.count else { throw PlanError("unterminated quote in the pattern '\(java)'") }
                index += 1
                out += text.isEmpty ? "'" : "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\""
                continue
            }
            var run = 1
            while index + run < characters.count && characters[index + run] == character { run += 1 }
            index += run
            guard character.isLetter else {
                // PostgreSQL copies other characters; a backslash or quote needs escaping.
                let text = String(repeating: character, count: run)
                out += character == "\"" || character == "\\" ? text.map { "\\\($0)" }.joined() : text
                continue
            }
            if parsing && character == "z" {
                throw PlanError("the pattern letter '\(String(repeating: character, count: run))' in '\(java)' is not supported for reading text")
            }
            guard let converted = template(for: character, run: run) else {
                throw PlanError("the pattern letter '\(String(repeating: character, count: run))' in '\(java)' is not supported")
            }
            out += converted
        }
        return out
    }

    /// The PostgreSQL template for a run of one Java pattern letter; nil where there is none.
    static func template(for letter: Character, run: Int) -> String? {
        switch letter {
        case "y", "u": return run == 2 ? "YY" : "YYYY"
        case "M", "L":
            switch run {
            case 1: return "FMMM"
            case 2: return "MM"
            case 3: return "Mon"
            default: return "FMMonth"
            }
        case "d": return run == 1 ? "FMDD" : "DD"
        case "D": return run == 1 ? "FMDDD" : "DDD"
        case "H": return run == 1 ? "FMHH24" : "HH24"
        case "h": return run == 1 ? "FMHH12" : "HH12"
        case "m": return run == 1 ? "FMMI" : "MI"
        case "s": return run == 1 ? "FMSS" : "SS"
        case "S":
            switch run {
            case 1: return "FF1"
            case 2: return "FF2"
            case 3: return "MS"
            case 6: return "US"
            default: return nil
            }
        case "a": return "AM"
        case "E": return run >= 4 ? "FMDay" : "Dy"
        // The zone's abbreviation (PDT), which pg_temp.kformat prints for the zone argument.
        case "z" where run <= 3: return "TZ"
        // Times are rendered in UTC (or the zone argument, as a wall clock): an offset is zero.
        case "X": return "\"Z\""
        case "Z": return "\"+0000\""
        default: return nil
        }
    }
}
