import Foundation

/// `TIMESTAMP_FORMAT`: reads ROWTIME from a string column with a Java
/// date-time pattern. ICU patterns (Foundation's DateFormatter) agree with
/// Java's for the letters ksqlDB users write (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`);
/// a time without a zone is UTC, as in ksqlDB.
final class RowtimeFormat {
    private let formatter: DateFormatter
    let pattern: String

    init(javaPattern: String) throws {
        pattern = javaPattern
        formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.isLenient = false
        formatter.dateFormat = javaPattern
        // A pattern that cannot read back what it writes reads nothing.
        let sample = formatter.string(from: Date(timeIntervalSince1970: 1_600_000_000.123))
        guard !javaPattern.isEmpty, formatter.date(from: sample) != nil else {
            throw PlanError("TIMESTAMP_FORMAT '\(javaPattern)' is not a usable date-time pattern")
        }
    }

    /// Epoch milliseconds, or nil when the text does not match.
    func milliseconds(_ text: String) -> Int64? {
        guard let date = formatter.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
