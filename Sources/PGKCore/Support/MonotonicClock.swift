#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Time as pipeline stages see it. Stages take a clock so tests can drive
/// batching deadlines with a `ManualClock` instead of sleeping.
protocol MonotonicClock: AnyObject, Sendable {
    /// Milliseconds on a monotonic timeline with an arbitrary origin.
    var nowMilliseconds: Int64 { get }
}

final class SystemClock: MonotonicClock {
    static let shared = SystemClock()
    init() {}
    var nowMilliseconds: Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

final class ManualClock: MonotonicClock {
    private let now = Atomic<Int64>(0)
    init(start: Int64 = 0) { now.store(start, ordering: .relaxed) }
    var nowMilliseconds: Int64 { now.load(ordering: .relaxed) }
    func advance(milliseconds: Int64) { now.add(milliseconds, ordering: .relaxed) }
}

/// Wall-clock time in milliseconds since the Unix epoch.
func unixMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// A duration as fractional seconds, for metrics and logs.
extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
