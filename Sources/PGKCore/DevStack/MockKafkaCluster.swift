import CRdKafka

/// librdkafka's in-process mock cluster (rdkafka_mock.h): real Kafka
/// protocol on loopback listeners with random ports, used by tests and
/// `pgk dev`. It keeps ~5 MiB per partition and cannot create topics
/// through the admin API; pre-create big topics with `createTopic`.
final class MockKafkaCluster {
    /// The throwaway client librdkafka requires as the cluster's owner.
    private let owner: OpaquePointer
    private let cluster: OpaquePointer

    /// `bootstrap.servers` for clients, e.g. `127.0.0.1:40123`.
    let bootstrapServers: String
    /// The mock's own listeners (random ports), as its metadata advertises them.
    let brokerAddresses: String
    private var forwarder: LoopbackForwarder?

    /// - Parameter bootstrapPort: also accept clients on this fixed loopback
    ///   port (0 picks a free one), relayed to the first broker. Clients
    ///   still learn and use the brokers' own random ports from metadata,
    ///   so they must run on this host.
    init(brokers: Int = 1, bootstrapPort: UInt16? = nil) throws {
        let conf = rd_kafka_conf_new()
        rd_kafka_conf_set_log_cb(conf) { _, _, facility, buffer in
            Log.trace("mock \(facility.map { String(cString: $0) } ?? ""): \(buffer.map { String(cString: $0) } ?? "")")
        }
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errbuf, errbuf.count) else {
            rd_kafka_conf_destroy(conf)
            throw RuntimeError("cannot create the mock cluster's owner client: "
                + errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        guard let cluster = rd_kafka_mock_cluster_new(owner, Int32(brokers)) else {
            rd_kafka_destroy(owner)
            throw RuntimeError("cannot start the librdkafka mock cluster")
        }
        self.owner = owner
        self.cluster = cluster
        brokerAddresses = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        guard let bootstrapPort else {
            bootstrapServers = brokerAddresses
            return
        }
        let first = brokerAddresses.split(separator: ",").first ?? ""
        guard let colon = first.lastIndex(of: ":"), let target = UInt16(first[first.index(after: colon)...]) else {
            rd_kafka_mock_cluster_destroy(cluster)
            rd_kafka_destroy(owner)
            throw RuntimeError("unexpected mock cluster address '\(brokerAddresses)'")
        }
        do {
            let relay = try LoopbackForwarder(listenPort: bootstrapPort, targetPort: target)
            forwarder = relay
            bootstrapServers = "127.0.0.1:\(relay.port)"
        } catch {
            rd_kafka_mock_cluster_destroy(cluster)
            rd_kafka_destroy(owner)
            throw error
        }
    }

    deinit {
        forwarder?.shutdown()
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    /// Creates `name` with `partitions` partitions (replication factor 1).
    func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, operation: "create mock topic", topic: name)
        }
    }

    /// Makes the next `count` requests of protocol `apiKey` (0 = Produce,
    /// 1 = Fetch, 3 = Metadata, …) fail with `error`.
    func failNextRequests(apiKey: Int16, error: rd_kafka_resp_err_t, count: Int = 1) {
        var errors = [rd_kafka_resp_err_t](repeating: error, count: count)
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, count, &errors)
    }

    /// Takes every broker down (`up: false`) or back up.
    func setBrokersUp(_ up: Bool) {
        if up { _ = rd_kafka_mock_broker_set_up(cluster, -1) } else { _ = rd_kafka_mock_broker_set_down(cluster, -1) }
    }
}
