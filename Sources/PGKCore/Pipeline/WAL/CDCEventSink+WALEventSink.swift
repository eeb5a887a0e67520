/// The Kafka producer as WAL streaming sees it; kept apart from
/// CDCEventSink so the sink can change without touching the loop.
extension CDCEventSink: WALEventSink {
    var flushed: LSN { tracker.flushed }
    var inFlight: Int { tracker.inFlight }
    var isIdle: Bool { tracker.isIdle }
    func abandonDeliveries() { producerStop.stop() }
}
