import Synchronization

/// `pgk subscribe`'s metrics: what kafkaesk measured (messages by stream,
/// partition and outcome, dead letters published, handler durations, lag,
/// rebalances, consumer health). The consumer thread updates them.
final class SubscribeMetrics: Sendable {
    let health = HealthStatus(starting: "starting: no partitions assigned yet")
    let messages: Counter
    let deadLetters: Counter
    let handlerSeconds: Histogram
    let lag: LagGauge
    let rebalances: Counter
    let assignedPartitions: Gauge
    let healthyLanes: Gauge
    private let lastRefresh = Atomic<Int64>(0)

    init(_ registry: MetricsRegistry) {
        messages = registry.counter("pgk_subscribe_messages_total",
                                    help: "Messages consumed, by topic, partition and result (delivered, or the "
                                        + "rejection or failure code)", labels: ["topic", "partition", "result"])
        deadLetters = registry.counter("pgk_subscribe_dead_letters_total",
                                       help: "Messages published to the dead-letter topic", labels: ["topic"])
        handlerSeconds = registry.histogram("pgk_subscribe_handler_seconds",
                                            help: "Duration of a handler's successful attempt (--exec or --worker)")
        lag = LagGauge(registry, name: "pgk_subscribe_consumer_lag_messages")
        rebalances = registry.counter("pgk_subscribe_rebalances_total", help: "Partition assignments received")
        assignedPartitions = registry.gauge("pgk_subscribe_assigned_partitions", help: "Partitions assigned now")
        healthyLanes = registry.gauge("pgk_subscribe_healthy_handler_lanes",
                                      help: "Handler lanes whose handler can take messages (0 without handlers)")
    }

    func counted(topic: String, partition: Int32, result: String) {
        messages.add(labels: [topic, String(partition), result])
    }

    func handled(_ message: KafkaMessage, seconds: Double) {
        counted(topic: message.topic, partition: message.partition, result: "delivered")
        handlerSeconds.observe(seconds)
    }

    func rebalanced(assigned: Int) {
        rebalances.add()
        assignedPartitions.set(Double(assigned))
    }

    /// At most once a second: lag, lanes and health.
    func refresh(now: Int64, lags: () -> [(KafkaTopicPartition, Int64)], lanes: [any HandlerLane], assigned: Int) {
        guard now - lastRefresh.load(ordering: .relaxed) >= 1000 else { return }
        lastRefresh.store(now, ordering: .relaxed)
        lag.update(lags())
        assignedPartitions.set(Double(assigned))
        let problems = lanes.compactMap(\.problem)
        healthyLanes.set(Double(lanes.count - problems.count))
        if assigned == 0 {
            health.unhealthy("no partitions assigned")
        } else if let problem = problems.first {
            health.unhealthy(problem)
        } else {
            health.healthy()
        }
    }
}

extension SubscribeMetrics: ServedMetrics {}
