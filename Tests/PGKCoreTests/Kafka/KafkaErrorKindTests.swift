import CRdKafka
import Testing
@testable import PGKCore

/// librdkafka's codes, read once into Swift kinds that pipelines decide on.
@Suite struct KafkaErrorKindTests {
    @Test func codesMapToKinds() {
        let kinds: [(rd_kafka_resp_err_t, KafkaErrorKind)] = [
            (RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, .unknownTopic),
            (RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, .unknownTopic),
            (RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, .topicAlreadyExists),
            (RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, .allBrokersDown),
            (RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, .timedOut),
            (RD_KAFKA_RESP_ERR__INTR, .interrupted),
            (RD_KAFKA_RESP_ERR__QUEUE_FULL, .queueFull),
            (RD_KAFKA_RESP_ERR__TRANSPORT, .transport),
            (RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, .leaderUnavailable),
            (RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, .authentication),
            (RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, .authorization),
            (RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, .unsupported),
            (RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION, .unsupported),
            (RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, .messageTooLarge),
            (RD_KAFKA_RESP_ERR__FAIL, .other),
        ]
        for (code, kind) in kinds {
            #expect(KafkaError(code).kind == kind, "\(KafkaError(code).name)")
        }
    }

    /// Exactly what the outbox retried before the kinds existed.
    @Test func transientErrorsAreTheOnesWorthRetrying() {
        let transient: [rd_kafka_resp_err_t] = [
            RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
            RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
            RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, RD_KAFKA_RESP_ERR__INCONSISTENT,
            RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED, RD_KAFKA_RESP_ERR__NODE_UPDATE,
        ]
        for code in transient { #expect(KafkaError(code).isTransient, "\(KafkaError(code).name)") }
        let permanent: [rd_kafka_resp_err_t] = [
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR__INTR,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__FAIL, RD_KAFKA_RESP_ERR_INVALID_MSG,
        ]
        for code in permanent { #expect(!KafkaError(code).isTransient, "\(KafkaError(code).name)") }
    }

    @Test func localErrorsKeepTheirNames() {
        let failure = KafkaError.failure(message: "could not encode", operation: "produce")
        #expect(failure.kind == .other && failure.description == "produce: could not encode [_FAIL]")
        let topic = KafkaError.unknownTopic("orders", operation: "describe topic")
        #expect(topic.kind == .unknownTopic && topic.name == "UNKNOWN_TOPIC_OR_PART" && topic.topic == "orders")
        let partition = KafkaError.unknownPartition(7, of: "orders", message: "no partition 7", operation: "tail")
        #expect(partition.kind == .unknownTopic && partition.name == "_UNKNOWN_PARTITION" && partition.partition == 7)
    }
}
