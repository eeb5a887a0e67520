import Testing
@testable import PGKCore

@Suite struct CivilTimeTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01"), (-1, "1969-12-31"), (19000, "2022-01-08"), (11016, "2000-02-29"),
        (-719_528, "0000-01-01"), (2_932_896, "9999-12-31"), (-25_567, "1900-01-01"),
    ])
    func datesRoundTrip(days: Int64, text: String) {
        #expect(CivilTime.formatDate(days: days) == text)
        #expect(CivilTime.parseDate(text) == days)
    }

    @Test func timestampsRenderInUTCWithTheUnitsPrecision() {
        let (s, f) = CivilTime.split(-1, unitsPerSecond: 1000)
        #expect(CivilTime.formatTimestamp(seconds: s, fraction: f, fractionDigits: 3) == "1969-12-31T23:59:59.999Z")
        #expect(CivilTime.formatTimestamp(seconds: 1_709_214_301, fraction: 250_000, fractionDigits: 6) == "2024-02-29T13:45:01.250000Z")
        #expect(CivilTime.formatTimestamp(seconds: 0, fraction: 0, fractionDigits: 0, utc: false) == "1970-01-01T00:00:00")
        // Extremes of every unit must render, never trap.
        for units: Int64 in [1000, 1_000_000, 1_000_000_000] {
            for v in [Int64.min, Int64.max] {
                let (seconds, fraction) = CivilTime.split(v, unitsPerSecond: units)
                #expect(!CivilTime.formatTimestamp(seconds: seconds, fraction: fraction, fractionDigits: 3).isEmpty)
            }
        }
    }

    @Test func timestampsParseOffsetsIntoUTC() throws {
        let utc = try #require(CivilTime.parseTimestamp("2024-02-29T13:45:01.25Z"))
        #expect(utc.seconds == 1_709_214_301 && utc.nanos == 250_000_000)
        #expect(CivilTime.parseTimestamp("2024-02-29T19:15:01.25+05:30")! == utc)
        #expect(CivilTime.parseTimestamp("2024-02-29 08:45:01.25-0500")! == utc)
        #expect(CivilTime.parseTimestamp("2024-02-29")?.seconds == 1_709_164_800)
        for bad in ["2024-02-30T00:00:00Z", "2024-13-01", "2024-02-29T25:00:00Z", "2024-02-29T10:00:00Zjunk", "yesterday", ""] {
            #expect(CivilTime.parseTimestamp(bad) == nil, "\(bad)")
        }
    }

    @Test func timesOfDay() {
        #expect(CivilTime.formatTime(seconds: 49_501, fraction: 250, fractionDigits: 3) == "13:45:01.250")
        #expect(CivilTime.formatTime(seconds: 86_400, fraction: 0, fractionDigits: 3) == nil)
        #expect(CivilTime.parseTime("13:45:01.250") == 49_501_250_000_000)
        #expect(CivilTime.parseTime("13:45") == 49_500_000_000_000)
        #expect(CivilTime.parseTime("13:60") == nil)
    }
}
