/// `--coordinate postgres` (the default): instances of a sink share the
/// partitions of its topics through PostgreSQL leases (see Leases) instead
/// of a Kafka consumer group, so a restarted or killed instance's
/// partitions are read again within seconds, not after session.timeout.ms.
/// The per-batch offset compare-and-set still fences any instance that
/// lost its leases without noticing.
extension KafkaSinkSource {
    static let leaseCheckMilliseconds: Int64 = 2_000

    /// Every 2 s: finds the partitions of the topics (regexes included),
    /// writes what is buffered, rebalances the leases, and reassigns when
    /// they moved, each partition from its offset in PostgreSQL.
    func refreshLeases(_ consumer: KafkaConsumer) throws {
        let now = SystemClock.shared.nowMilliseconds
        guard now - leaseState.lastCheck >= Self.leaseCheckMilliseconds else { return }
        leaseState.lastCheck = now
        var partitions: [String: KafkaTopicPartition] = [:]
        do {
            for partition in try topicPartitions(consumer) {
                partitions["\(partition.partition):\(partition.topic)"] = partition
            }
        } catch {
            Log.debug("sink: listing partitions failed (\(error)); keeping the current ones")
            return
        }
        // Nothing buffered may belong to a partition given away below.
        runner.flush(wait: true)
        let held: Set<String>
        do {
            let leases = try leaseState.leases ?? Leases(
                connection: PostgresConnection(conninfo: settings.database, applicationName: "pgk sink leases"),
                scope: "sink \(settings.group)")
            leaseState.leases = leases
            held = try leases.refresh(partitions.keys.sorted())
        } catch {
            // PostgreSQL is away: keep reading what we have; the offset fence
            // stops our writes should another instance take these over.
            Log.warning("sink: partition leases unavailable (\(error)); retrying")
            leaseState.leases = nil
            return
        }
        let chosen = Set(held.compactMap { partitions[$0] })
        guard chosen != leaseState.assigned else { return }
        for partition in leaseState.assigned.subtracting(chosen) { runner.revoke(partition) }
        try consumer.assign(assigned(Array(chosen), consumer: consumer))
        leaseState.assigned = chosen
        let members = (try? leaseState.leases?.members()) ?? 1
        Log.info("sink: reading \(chosen.count) of \(partitions.count) partition(s) of group \(settings.group) "
            + "with \(members) instance(s)")
    }
}

/// The lease bookkeeping of one sink process.
final class SinkLeaseState {
    var leases: Leases?
    var assigned: Set<KafkaTopicPartition> = []
    var lastCheck: Int64 = -leaseCheckFirst

    /// So the first check runs at once.
    private static let leaseCheckFirst: Int64 = 1 << 40

    deinit { leases?.release() }
}
