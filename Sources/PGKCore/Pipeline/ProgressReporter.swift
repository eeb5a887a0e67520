#if canImport(Glibc)
import Glibc
#endif

/// Throughput reporting on stderr: a live line that rewrites itself when
/// stderr is a terminal, periodic stat lines with -v, and a final summary.
final class ProgressReporter {
    typealias Counters = [(name: String, value: Int)]

    private let label: String
    private let clock: any MonotonicClock
    private let intervalMilliseconds: Int64
    private let live: Bool
    private let periodic: Bool
    private let startedAt: Int64
    private var lastReportAt: Int64
    private var lastUnits = 0
    /// When the first unit was counted: waiting (for a group, a slot, a
    /// lock) is not part of the rate.
    private var firstUnitAt: Int64?
    private var wroteLiveLine = false

    /// `label` names the work ("sink", "outbox"); units are what the rate
    /// counts ("msgs", "events", "rows").
    init(label: String, intervalMilliseconds: Int64 = 1000, clock: any MonotonicClock = SystemClock.shared,
                live: Bool = StandardError.isTerminal && Log.enabled(.info),
                periodic: Bool = Log.enabled(.debug)) {
        self.label = label
        self.clock = clock
        self.intervalMilliseconds = intervalMilliseconds
        self.live = live
        self.periodic = periodic
        startedAt = clock.nowMilliseconds
        lastReportAt = startedAt
    }

    /// Call often; it reports at most once per interval. `units` is the
    /// running total the rate is computed from.
    func tick(units: Int, unitName: String, counters: @autoclosure () -> Counters) {
        if firstUnitAt == nil && units > 0 { firstUnitAt = clock.nowMilliseconds }
        guard live || periodic else { return }
        let now = clock.nowMilliseconds
        guard now - lastReportAt >= intervalMilliseconds else { return }
        let rate = Double(units - lastUnits) * 1000 / Double(max(1, now - lastReportAt))
        lastReportAt = now
        lastUnits = units
        let text = "\(label): \(units) \(unitName), \(Self.format(rate: rate)) \(unitName)/s"
            + counters().map { ", \($0.value) \($0.name)" }.joined()
        if live {
            StandardError.write("\r\u{1B}[K" + text)
            wroteLiveLine = true
        } else {
            Log.debug(text)
        }
    }

    /// The final summary line, always printed unless -q.
    func finish(units: Int, unitName: String, counters: Counters) {
        if wroteLiveLine { StandardError.write("\r\u{1B}[K") }
        Log.info(summary(units: units, unitName: unitName, counters: counters))
    }

    /// The summary line's text.
    func summary(units: Int, unitName: String, counters: Counters) -> String {
        let now = clock.nowMilliseconds
        let seconds = Double(max(1, now - startedAt)) / 1000
        var rateText = "\(Self.format(rate: Double(units) / seconds)) \(unitName)/s"
        // A long wait before the first unit would hide the real rate.
        if let first = firstUnitAt, first - startedAt >= 1_000, units > 1 {
            let rate = Double(units) / (Double(max(1, now - first)) / 1000)
            rateText = "\(Self.format(rate: rate)) \(unitName)/s from the first, after waiting "
                + Self.format(seconds: Double(first - startedAt) / 1000)
        }
        return "\(label): \(units) \(unitName) in \(Self.format(seconds: seconds)) (\(rateText))"
            + counters.map { ", \($0.value) \($0.name)" }.joined()
    }

    static func format(rate: Double) -> String {
        if rate >= 10_000 { return "\(Int(rate / 1000))k" }
        return String(Int(rate.rounded()))
    }

    static func format(seconds: Double) -> String {
        seconds < 10 ? "\(Double(Int(seconds * 100)) / 100) s" : "\(Int(seconds.rounded())) s"
    }
}
