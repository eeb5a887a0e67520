import Foundation
import Testing
@testable import PGKCore

/// The registry and its Prometheus text rendering.
@Suite struct MetricsRenderingTests {
    @Test func labelValuesAndHelpAreEscaped() throws {
        let registry = MetricsRegistry()
        let gauge = registry.gauge("pgk_test_gauge", help: "a \\ backslash\nand a newline", labels: ["topic"])
        let tricky = "a\\b\"c\nd"
        gauge.set(1.5, labels: [tricky])
        let text = registry.render()
        #expect(text == """
            # HELP pgk_test_gauge a \\\\ backslash\\nand a newline
            # TYPE pgk_test_gauge gauge
            pgk_test_gauge{topic="a\\\\b\\"c\\nd"} 1.5

            """)
        // A real parser reads the original value back.
        let samples = try MetricsScrape.parse(text)
        #expect(samples == [MetricsScrape.key("pgk_test_gauge", ["topic": tricky]): 1.5])
    }

    @Test func histogramBucketsAreCumulativeWithInfSumAndCount() throws {
        let registry = MetricsRegistry()
        let histogram = registry.histogram("pgk_test_seconds", help: "h", labels: ["verb"], buckets: [1, 0.5])
        // 0.5 sits on a bound: it counts in that bucket (le means <=).
        for value in [0.0078125, 0.5, 0.75, 100] { histogram.observe(value, labels: ["x"]) }
        let text = registry.render()
        #expect(text == """
            # HELP pgk_test_seconds h
            # TYPE pgk_test_seconds histogram
            pgk_test_seconds_bucket{verb="x",le="0.5"} 2
            pgk_test_seconds_bucket{verb="x",le="1"} 3
            pgk_test_seconds_bucket{verb="x",le="+Inf"} 4
            pgk_test_seconds_sum{verb="x"} 101.2578125
            pgk_test_seconds_count{verb="x"} 4

            """)
        let samples = try MetricsScrape.parse(text)
        #expect(samples[MetricsScrape.key("pgk_test_seconds_bucket", ["verb": "x", "le": "+Inf"])] == 4)
        #expect(samples[MetricsScrape.key("pgk_test_seconds_count", ["verb": "x"])] == 4)
        #expect(samples[MetricsScrape.key("pgk_test_seconds_sum", ["verb": "x"])] == 101.2578125)
    }

    @Test func countersOnlyGoUpAndGaugeSeriesCanBeRemoved() throws {
        let registry = MetricsRegistry()
        let counter = registry.counter("pgk_test_total", help: "c")
        counter.add(2)
        counter.set(10)
        counter.set(7) // a smaller total never lowers a counter
        counter.add(-3)
        #expect(counter.value() == 10)
        let gauge = registry.gauge("pgk_test_lag", help: "g", labels: ["topic", "partition"])
        gauge.set(3, labels: ["t", "0"])
        gauge.set(-1, labels: ["t", "1"])
        gauge.remove(labels: ["t", "0"])
        let samples = try MetricsScrape.parse(registry.render())
        #expect(samples == ["pgk_test_total": 10, MetricsScrape.key("pgk_test_lag", ["topic": "t", "partition": "1"]): -1])
        #expect(registry.render().contains("# TYPE pgk_test_total counter\npgk_test_total 10\n"))
    }

    @Test func valuesFormatAsTheFormatWants() {
        #expect(MetricsText.format(3) == "3")
        #expect(MetricsText.format(0.25) == "0.25")
        #expect(MetricsText.format(.infinity) == "+Inf")
        #expect(MetricsText.format(-.infinity) == "-Inf")
        #expect(MetricsText.format(.nan) == "NaN")
        #expect(MetricsText.format(Double(UInt64(1) << 60)) == "1.152921504606847e+18")
    }

    @Test func everyVerbsMetricsRenderAndParse() throws {
        let registry = MetricsRegistry()
        let sink = SinkMetrics(registry)
        let wal = WALMetrics(registry)
        let outbox = OutboxMetrics(registry)
        sink.messages.set(5)
        sink.batchSeconds.observe(0.02)
        sink.refreshLag(now: 10_000) { [(KafkaTopicPartition(topic: "orders", partition: 1), Int64(4))] }
        wal.committed(LSN(100))
        wal.committed(LSN(200))
        wal.acknowledged(through: LSN(150), events: 9, inFlight: 1)
        outbox.leader.set(1)
        let samples = try MetricsScrape.parse(registry.render())
        #expect(samples["pgk_sink_messages_total"] == 5)
        #expect(samples[MetricsScrape.key("pgk_sink_consumer_lag_messages", ["topic": "orders", "partition": "1"])] == 4)
        #expect(samples["pgk_sink_batch_write_seconds_count"] == 1)
        #expect(samples["pgk_wal_events_total"] == 9)
        #expect(samples["pgk_wal_confirmed_lsn"] == 150)
        #expect(samples["pgk_wal_delivery_seconds_count"] == 1, "only the transaction ending at 100 is acknowledged")
        #expect(samples["pgk_outbox_leader"] == 1)
        // Unlabelled counters and histograms show 0 before anything happened; gauges only once set.
        #expect(samples["pgk_sink_dead_letters_total"] == 0)
        #expect(samples["pgk_outbox_events_shipped_total"] == 0)
        #expect(samples["pgk_wal_delivery_seconds_count"] == 1 && samples["pgk_sink_batch_write_seconds_count"] == 1)
        #expect(samples["pgk_wal_slot_lag_bytes"] == nil && samples["pgk_outbox_queue_depth"] == nil)
        // The lag of a partition no longer assigned disappears.
        sink.refreshLag(now: 20_000) { [] }
        #expect(!registry.render().contains("orders"))
    }

    @Test func addressesParse() throws {
        #expect(try MetricsAddress.parse("127.0.0.1:0") == MetricsAddress(host: "127.0.0.1", port: 0))
        #expect(try MetricsAddress.parse("[::1]:9187") == MetricsAddress(host: "::1", port: 9187))
        #expect(try MetricsAddress.parse(":9187") == MetricsAddress(host: "0.0.0.0", port: 9187))
        #expect(try MetricsAddress.parse("localhost:80") == MetricsAddress(host: "localhost", port: 80))
        for bad in ["9187", "host:", "host:65536", "host:x", "::1:80"] {
            #expect(throws: UsageError.self, "\(bad)") { try MetricsAddress.parse(bad) }
        }
    }
}
