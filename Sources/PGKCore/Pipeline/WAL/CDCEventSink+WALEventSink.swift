/// The Kafka producer as WAL streaming sees it; kept apart from
/// CDCEventSink so the sink can change without touching the loop.
extension CDCEventSink: WALEventSink {
    func abandonDeliveries() { producerStop.stop() }
}
