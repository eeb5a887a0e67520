import CRdKafka

/// What a Kafka failure means to pgk, so that pipelines and commands
/// decide on it without librdkafka's C error codes.
enum KafkaErrorKind: Sendable, Equatable {
    /// The topic or partition does not exist.
    case unknownTopic
    case topicAlreadyExists
    /// No broker answered for longer than the connect timeout.
    case allBrokersDown
    /// A request or a message's delivery timed out.
    case timedOut
    /// pgk stopped a wait (a stop request).
    case interrupted
    /// librdkafka's local queue is full.
    case queueFull
    /// A connection failed, or a broker's address did not resolve.
    case transport
    /// A partition's leader or replicas are moving or short.
    case leaderUnavailable
    /// Messages purged from the queue (a producer being torn down).
    case purged
    /// The broker asks the client to slow down.
    case throttled
    /// The client is unusable (idempotence lost): a fresh one recovers.
    case fatal
    case authentication
    case authorization
    /// The broker (or librdkafka's mock) does not implement the request.
    case unsupported
    case messageTooLarge
    case other
}

extension KafkaError {
    var kind: KafkaErrorKind { KafkaErrorKind(err) }

    /// True when retrying (with a fresh client, after a pause) may succeed.
    var isTransient: Bool {
        switch kind {
        case .allBrokersDown, .timedOut, .transport, .leaderUnavailable, .purged, .throttled, .fatal:
            return true
        case .unknownTopic, .topicAlreadyExists, .interrupted, .queueFull, .authentication, .authorization,
             .unsupported, .messageTooLarge, .other:
            return false
        }
    }

    /// A failure pgk raises itself that has no more specific code.
    static func failure(message: String, operation: String? = nil) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: message, operation: operation)
    }

    /// A topic pgk looked for and did not find.
    static func unknownTopic(_ topic: String, operation: String) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, operation: operation, topic: topic)
    }

    /// A partition the user named that the topic does not have.
    static func unknownPartition(_ partition: Int32, of topic: String, message: String,
                                        operation: String) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, message: message, operation: operation,
                   topic: topic, partition: partition)
    }
}

extension KafkaErrorKind {
    init(_ err: rd_kafka_resp_err_t) {
        switch err {
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
             RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            self = .unknownTopic
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: self = .topicAlreadyExists
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN: self = .allBrokersDown
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            self = .timedOut
        case RD_KAFKA_RESP_ERR__INTR: self = .interrupted
        case RD_KAFKA_RESP_ERR__QUEUE_FULL: self = .queueFull
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__RESOLVE,
             RD_KAFKA_RESP_ERR__NODE_UPDATE:
            self = .transport
        case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
             RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
             RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
            self = .leaderUnavailable
        case RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: self = .purged
        case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED: self = .throttled
        case RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, RD_KAFKA_RESP_ERR__INCONSISTENT:
            self = .fatal
        case RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
             RD_KAFKA_RESP_ERR__SSL:
            self = .authentication
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
             RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
            self = .authorization
        case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION,
             RD_KAFKA_RESP_ERR_INVALID_REQUEST:
            self = .unsupported
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE: self = .messageTooLarge
        default: self = .other
        }
    }
}
