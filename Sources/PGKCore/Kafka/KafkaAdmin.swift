import CRdKafka

/// One topic's outcome in a multi-topic admin call.
struct KafkaTopicOutcome: Sendable, Equatable {
    var topic: String
    /// nil on success.
    var error: KafkaError?
}

struct KafkaNewTopic: Sendable {
    var name: String
    /// -1 lets the broker choose (num.partitions).
    var partitions: Int
    /// -1 lets the broker choose (default.replication.factor).
    var replicationFactor: Int
    var configs: [KafkaProperty]
    init(name: String, partitions: Int = -1, replicationFactor: Int = -1, configs: [(String, String)] = []) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs.map { KafkaProperty(key: $0.0, value: $0.1) }
    }
}

/// Cluster administration: metadata, topics, configs, groups, watermarks.
/// Calls the broker lacks (the mock cluster has no CreateTopics,
/// DeleteTopics or DescribeConfigs) fail at once with a message saying so.
final class KafkaAdmin {
    let handle: KafkaHandle
    /// Bounds each admin request and wait.
    var timeoutMilliseconds: Int
    private var knownBrokerIDs: Set<Int32>?
    private var knownController: Int32?

    init(config: KafkaConfig, verifyConnection: Bool = true) throws {
        // A producer handle never joins groups; it must not auto-create topics
        // merely because `topics describe` asked about one.
        let native = try config.makeNative(defaults: [KafkaProperty(key: "allow.auto.create.topics", value: "false")])
        handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, config: config, native: native, state: KafkaClientState())
        timeoutMilliseconds = config.connectTimeoutMilliseconds
        if verifyConnection { try handle.verifyReachable(timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// Brokers and topics (one topic, or all when nil). Internal topics
    /// such as `__consumer_offsets` are included when the broker lists them.
    func metadata(topic: String? = nil) throws -> KafkaClusterMetadata {
        try handle.metadata(topic: topic, timeoutMilliseconds: timeoutMilliseconds)
    }

    func watermarks(topic: String, partition: Int32) throws -> KafkaWatermarks {
        try handle.watermarks(topic: topic, partition: partition, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Watermarks of every partition of `topic`, in partition order.
    func watermarks(topic: String) throws -> [(partition: Int32, watermarks: KafkaWatermarks)] {
        try handle.partitions(of: topic, timeoutMilliseconds: timeoutMilliseconds).map { partition in
            (partition, try watermarks(topic: topic, partition: partition))
        }
    }

    var isMockCluster: Bool { PGKCore.isMockCluster(handle.pointer, timeoutMilliseconds: timeoutMilliseconds) }

    func createTopics(_ topics: [KafkaNewTopic], validateOnly: Bool = false) throws -> [KafkaTopicOutcome] {
        var newTopics: [OpaquePointer?] = []
        defer { for nt in newTopics { rd_kafka_NewTopic_destroy(nt) } }
        for topic in topics {
            var errbuf = [CChar](repeating: 0, count: 512)
            guard let nt = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor),
                                                 &errbuf, errbuf.count) else {
                throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG,
                                 message: errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) },
                                 operation: "create topic", topic: topic.name)
            }
            newTopics.append(nt)
            for config in topic.configs {
                let err = rd_kafka_NewTopic_set_config(nt, config.key, config.value)
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(err, operation: "set topic config \(config.key)", topic: topic.name)
                }
            }
        }
        return try request(api: "CreateTopics", operation: RD_KAFKA_ADMIN_OP_CREATETOPICS, withOperationTimeout: true,
                           validateOnly: validateOnly, start: { options, queue in
            newTopics.withUnsafeMutableBufferPointer {
                rd_kafka_CreateTopics(handle.pointer, $0.baseAddress, $0.count, options, queue)
            }
        }, read: { event in
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
            return Self.topicOutcomes(results, count, operation: "create topic")
        })
    }

    func deleteTopics(_ names: [String]) throws -> [KafkaTopicOutcome] {
        var deletions: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
        defer { for d in deletions { rd_kafka_DeleteTopic_destroy(d) } }
        return try request(api: "DeleteTopics", operation: RD_KAFKA_ADMIN_OP_DELETETOPICS, withOperationTimeout: true,
                           start: { options, queue in
            deletions.withUnsafeMutableBufferPointer {
                rd_kafka_DeleteTopics(handle.pointer, $0.baseAddress, $0.count, options, queue)
            }
        }, read: { event in
            var count = 0
            let results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &count)
            return Self.topicOutcomes(results, count, operation: "delete topic")
        })
    }

    static func topicOutcomes(_ results: UnsafeMutablePointer<OpaquePointer?>?, _ count: Int, operation: String) -> [KafkaTopicOutcome] {
        guard let results else { return [] }
        return (0..<count).map { index in
            let result = results[index]
            let name = String(cString: rd_kafka_topic_result_name(result))
            let err = rd_kafka_topic_result_error(result)
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return KafkaTopicOutcome(topic: name, error: nil) }
            let text = rd_kafka_topic_result_error_string(result).map { String(cString: $0) }
            return KafkaTopicOutcome(topic: name, error: KafkaError(err, message: text, operation: operation, topic: name))
        }
    }

    /// Runs one admin request on a private queue and waits (bounded) for
    /// its result event. A request-level error that means "this broker
    /// does not implement `api`" becomes an explicit, immediate failure.
    func request<T>(api: String, operation: rd_kafka_admin_op_t, withOperationTimeout: Bool = false,
                    validateOnly: Bool = false,
                    start: (OpaquePointer, OpaquePointer) -> Void,
                    read: (OpaquePointer) throws -> T) throws -> T {
        let rk = handle.pointer
        let options = rd_kafka_AdminOptions_new(rk, operation)!
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errbuf = [CChar](repeating: 0, count: 256)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(clamping: timeoutMilliseconds), &errbuf, errbuf.count)
        if withOperationTimeout {
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, Int32(clamping: timeoutMilliseconds), &errbuf, errbuf.count)
        }
        if validateOnly { _ = rd_kafka_AdminOptions_set_validate_only(options, 1, &errbuf, errbuf.count) }
        if let broker = try fallbackBrokerWithoutController() {
            _ = rd_kafka_AdminOptions_set_broker(options, broker, &errbuf, errbuf.count)
        }
        let queue = rd_kafka_queue_new(rk)!
        defer { rd_kafka_queue_destroy(queue) }
        start(options, queue)
        // librdkafka enforces the request timeout; the margin only guards
        // against a result that never comes.
        guard let event = rd_kafka_queue_poll(queue, Int32(clamping: timeoutMilliseconds + 5_000)) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, message: "no \(api) result within \(timeoutMilliseconds) ms",
                             operation: api)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) }
            throw requestFailure(api: api, err: err, text: text)
        }
        handle.state.noteTraffic()
        return try read(event)
    }

    /// Admin requests go to the controller by default; a cluster whose
    /// metadata names no live controller (librdkafka's mock says broker 0,
    /// which does not exist) would leave them waiting out their whole
    /// timeout. Sending them to a known broker instead makes an
    /// unsupported request fail at once with UNSUPPORTED_FEATURE.
    private func fallbackBrokerWithoutController() throws -> Int32? {
        if let known = knownBrokerIDs, knownController.map(known.contains) == true { return nil }
        let md = try handle.metadata(topic: nil, timeoutMilliseconds: timeoutMilliseconds)
        let brokers = Set(md.brokers.map(\.id))
        let controller = rd_kafka_controllerid(handle.pointer, 0)
        knownBrokerIDs = brokers
        knownController = controller
        return brokers.contains(controller) ? nil : md.brokers.first?.id
    }

    func requestFailure(api: String, err: rd_kafka_resp_err_t, text: String?) -> KafkaError {
        let original = KafkaError(err, message: text)
        if KafkaErrorKind(err) == .unsupported {
            var hint: String? = nil
            if isMockCluster {
                hint = "the embedded mock cluster (librdkafka's, as used by `pgk dev`) does not implement \(api)"
                    + (Self.mockAlternatives[api].map { "; " + $0 } ?? "")
            }
            return KafkaError(err, message: "the broker does not support \(api) (\(original.name): \(original.message))",
                              operation: api, hint: hint)
        }
        if err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT {
            var error = handle.unreachable(err, waitedMilliseconds: timeoutMilliseconds)
            error.operation = api
            return error
        }
        return KafkaError(err, message: text, operation: api)
    }

    static let mockAlternatives: [String: String] = [
        "CreateTopics": "topics are auto-created (4 partitions) on first produce",
        "DeleteTopics": "restart the mock cluster (`pgk dev down`) to drop its topics",
        "DescribeConfigs": "it keeps no topic configs",
        "AlterConfigs": "it keeps no topic configs",
        "ListGroups": "name the group explicitly to see its offsets",
    ]
}
