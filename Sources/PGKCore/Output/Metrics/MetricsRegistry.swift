import Synchronization

/// Counters, gauges and histograms, each a family of series told apart by
/// label values, rendered in the Prometheus text format. Updates take one
/// family's lock, so pipelines update at batch granularity (or store a
/// total they already keep) rather than per byte.
final class MetricsRegistry: Sendable {
    private let families = Mutex<[MetricFamily]>([])

    init() {}

    /// Without labels a counter shows 0 from the start, so a rate over it
    /// has a beginning; gauges appear once set (a 0 lag before the first
    /// reading would be a lie).
    func counter(_ name: String, help: String, labels: [String] = []) -> Counter {
        let family = register(name, help: help, kind: .counter, labels: labels, buckets: [])
        if labels.isEmpty { family.update([]) { _ in } }
        return Counter(family: family)
    }

    func gauge(_ name: String, help: String, labels: [String] = []) -> Gauge {
        Gauge(family: register(name, help: help, kind: .gauge, labels: labels, buckets: []))
    }

    /// `buckets`: upper bounds, ascending; +Inf is implied.
    func histogram(_ name: String, help: String, labels: [String] = [],
                   buckets: [Double] = Histogram.latencyBuckets) -> Histogram {
        let bounds = buckets.filter(\.isFinite).sorted()
        let family = register(name, help: help, kind: .histogram, labels: labels, buckets: bounds)
        if labels.isEmpty { family.update([]) { _ in } }
        return Histogram(family: family)
    }

    private func register(_ name: String, help: String, kind: MetricFamily.Kind, labels: [String],
                          buckets: [Double]) -> MetricFamily {
        precondition(MetricsText.isValidName(name), "bad metric name \(name)")
        precondition(labels.allSatisfy { MetricsText.isValidName($0) && $0 != "le" }, "bad label names for \(name)")
        let family = MetricFamily(name: name, help: help, kind: kind, labelNames: labels, buckets: buckets)
        families.withLock { all in
            precondition(!all.contains { $0.name == name }, "metric \(name) registered twice")
            all.append(family)
        }
        return family
    }

    /// The exposition text (format 0.0.4), families in registration order.
    func render() -> String {
        let all = families.withLock { $0 }
        var text = ""
        for family in all { MetricsText.append(family, to: &text) }
        return text
    }
}

/// One metric name with its series. Values are kept as Double, as the
/// exposition format has them.
final class MetricFamily: Sendable {
    enum Kind: String, Sendable { case counter, gauge, histogram }

    struct Series: Sendable {
        var value = 0.0
        /// Histograms: observations per bucket (not cumulative), +Inf last.
        var bucketCounts: [UInt64] = []
        var sum = 0.0
        var count: UInt64 = 0
    }

    let name: String
    let help: String
    let kind: Kind
    let labelNames: [String]
    let buckets: [Double]
    /// The series, and their label sets in the order they first appeared
    /// (so output is stable), under one lock.
    private let state = Mutex<(series: [[String]: Series], order: [[String]])>(([:], []))

    init(name: String, help: String, kind: Kind, labelNames: [String], buckets: [Double]) {
        self.name = name
        self.help = help
        self.kind = kind
        self.labelNames = labelNames
        self.buckets = buckets
    }

    func update(_ labels: [String], _ change: (inout Series) -> Void) {
        precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames), got \(labels)")
        let empty = Series(bucketCounts: [UInt64](repeating: 0, count: buckets.count + 1))
        state.withLock { state in
            if state.series[labels] == nil { state.order.append(labels) }
            change(&state.series[labels, default: empty])
        }
    }

    func remove(_ labels: [String]) {
        state.withLock { state in
            if state.series.removeValue(forKey: labels) != nil { state.order.removeAll { $0 == labels } }
        }
    }

    /// Every series, in first-seen order.
    func snapshot() -> [(labels: [String], series: Series)] {
        state.withLock { state in state.order.compactMap { key in state.series[key].map { (key, $0) } } }
    }
}

/// Only goes up; `set` stores a total the pipeline already counts.
struct Counter: Sendable {
    let family: MetricFamily
    func add(_ amount: Double = 1, labels: [String] = []) {
        guard amount > 0 else { return }
        family.update(labels) { $0.value += amount }
    }
    func set(_ total: Double, labels: [String] = []) {
        family.update(labels) { $0.value = max($0.value, total) }
    }
    func value(labels: [String] = []) -> Double {
        family.snapshot().first { $0.labels == labels }?.series.value ?? 0
    }
}

struct Gauge: Sendable {
    let family: MetricFamily
    func set(_ value: Double, labels: [String] = []) { family.update(labels) { $0.value = value } }
    /// Drops a series that no longer means anything (a revoked partition).
    func remove(labels: [String]) { family.remove(labels) }
}

struct Histogram: Sendable {
    /// Seconds, from 1 ms to 1 min.
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    let family: MetricFamily
    func observe(_ value: Double, labels: [String] = []) {
        let index = family.buckets.firstIndex { value <= $0 } ?? family.buckets.count
        family.update(labels) { series in
            series.bucketCounts[index] += 1
            series.sum += value
            series.count += 1
        }
    }

    func observe(_ duration: Duration, labels: [String] = []) { observe(duration.seconds, labels: labels) }
}
