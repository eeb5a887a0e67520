import CRdKafka
import Foundation
import Synchronization

/// Works around librdkafka before 2.2.0 pausing a consumer's fetches for up
/// to a second: once its read-ahead queue passes `queued.min.messages` or
/// `queued.max.messages.kbytes`, the broker thread looks at the partition
/// again only when something wakes it, and nothing does for up to 1000 ms
/// (2.2.0 added `fetch.queue.backoff.ms`). A bounded read-ahead feeding a
/// slower stage therefore idles most of each second.
///
/// The nudger wakes those threads: every few milliseconds, while the
/// consumer is reading, it asks one assigned partition's leader for its
/// watermarks (a ListOffsets round trip on the connection that fetches
/// it), in turn. Each answer makes the broker thread decide again whether
/// to fetch. It reads nothing and changes no consumer state.
final class KafkaFetchNudger {
    private let stopToken = StopToken()
    private var thread: OSThread?
    private let answered = Count()

    /// Nudges the leaders answered so far.
    var nudges: Int { answered.value.load(ordering: .relaxed) }

    /// Shared with the thread, which must not hold the nudger itself.
    private final class Count: Sendable { let value = Atomic<Int>(0) }

    /// nil where librdkafka needs no nudging (2.2.0 and later).
    static func start(for consumer: KafkaConsumer, partitions: [KafkaTopicPartition], intervalMilliseconds: Int = 10,
                      libraryVersion: Int = Int(rd_kafka_version())) throws -> KafkaFetchNudger? {
        guard libraryVersion < KafkaConsumer.fetchQueueBackoffSince, !partitions.isEmpty else { return nil }
        let nudger = KafkaFetchNudger()
        let stop = nudger.stopToken, answered = nudger.answered
        nudger.thread = try OSThread(name: "fetch nudger") {
            var next = 0, polls = 0, lastDelivery: Int64?
            while stop.sleep(milliseconds: intervalMilliseconds) {
                // Only while records arrive: a fetcher waits on a full
                // read-ahead only just after it delivered, so an idle
                // consumer sends no requests.
                let now = SystemClock.shared.nowMilliseconds
                if consumer.deliveringPolls != polls { (polls, lastDelivery) = (consumer.deliveringPolls, now) }
                guard let lastDelivery, now - lastDelivery < 2_000 else { continue }
                let partition = partitions[next % partitions.count]
                next += 1
                // A failed nudge only means no early wake-up this time.
                if (try? consumer.watermarks(topic: partition.topic, partition: partition.partition,
                                             timeoutMilliseconds: 1_000)) != nil {
                    answered.value.add(1, ordering: .relaxed)
                }
            }
        }
        return nudger
    }

    func stop() {
        stopToken.stop()
        thread?.join()
        thread = nil
    }

    deinit { stop() }
}
