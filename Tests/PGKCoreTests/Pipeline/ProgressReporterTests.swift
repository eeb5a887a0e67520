import Testing
@testable import PGKCore

/// The summary line counts throughput from the first unit when the verb
/// waited long for it (a group join, an assignment), as issue 12 asked.
@Suite struct ProgressReporterTests {
    @Test func aLongWaitIsReportedApartFromTheRate() {
        let clock = ManualClock()
        let progress = ProgressReporter(label: "sink", clock: clock, live: false, periodic: false)
        clock.advance(milliseconds: 131_000)
        progress.tick(units: 1, unitName: "msgs", counters: [])
        clock.advance(milliseconds: 2_000)
        let line = progress.summary(units: 330_000, unitName: "msgs", counters: [("rows written", 330_000)])
        #expect(line == "sink: 330000 msgs in 133 s (165k msgs/s from the first, after waiting 131 s), 330000 rows written")
    }

    @Test func withoutAWaitTheRateIsOverTheWholeRun() {
        let clock = ManualClock()
        let progress = ProgressReporter(label: "publish", clock: clock, live: false, periodic: false)
        clock.advance(milliseconds: 100)
        progress.tick(units: 1, unitName: "msgs", counters: [])
        clock.advance(milliseconds: 1_900)
        #expect(progress.summary(units: 4_000, unitName: "msgs", counters: []) == "publish: 4000 msgs in 2.0 s (2000 msgs/s)")
    }
}
