import CRdKafka
#if canImport(Glibc)
import Glibc
#endif

/// IncrementalAlterConfigs (KIP-339), which librdkafka has since 2.2.0.
///
/// pgk is compiled against headers that may predate it (Debian ships
/// 2.0.2), so the functions are looked up in the loaded librdkafka at run
/// time. Brokers that dropped the replacing AlterConfigs (Tansu) need it.
enum IncrementalAlterConfigsCalls {
    typealias AddConfig = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?) -> OpaquePointer?
    typealias Alter = @convention(c) (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?, Int, OpaquePointer?, OpaquePointer?) -> Void
    typealias EventResult = @convention(c) (OpaquePointer?) -> OpaquePointer?
    typealias ResultResources = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<OpaquePointer?>?

    /// rd_kafka_AlterConfigOpType_t values.
    static let set: Int32 = 0
    static let delete: Int32 = 1

    struct Functions {
        var addConfig: AddConfig
        var alter: Alter
        var eventResult: EventResult
        var resultResources: ResultResources
    }

    /// nil when the loaded librdkafka is older than 2.2.0.
    static let functions: Functions? = {
        guard let addConfig: AddConfig = lookup("rd_kafka_ConfigResource_add_incremental_config"),
              let alter: Alter = lookup("rd_kafka_IncrementalAlterConfigs"),
              let eventResult: EventResult = lookup("rd_kafka_event_IncrementalAlterConfigs_result"),
              let resultResources: ResultResources = lookup("rd_kafka_IncrementalAlterConfigs_result_resources")
        else { return nil }
        return Functions(addConfig: addConfig, alter: alter, eventResult: eventResult, resultResources: resultResources)
    }()

    private static func lookup<F>(_ name: String) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
    }
}

extension KafkaAdmin {
    /// Sets and deletes topic overrides in one IncrementalAlterConfigs
    /// request. Returns false, without sending anything, when the loaded
    /// librdkafka lacks the call.
    func incrementallyAlterTopicConfigs(_ topic: String, set changes: [(String, String)], remove: [String]) throws -> Bool {
        guard let calls = IncrementalAlterConfigsCalls.functions else { return false }
        var resources: [OpaquePointer?] = [rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)]
        defer { rd_kafka_ConfigResource_destroy(resources[0]) }
        let operations = changes.map { ($0.0, IncrementalAlterConfigsCalls.set, Optional($0.1)) }
            + remove.map { ($0, IncrementalAlterConfigsCalls.delete, String?.none) }
        for (key, operation, value) in operations {
            if let error = calls.addConfig(resources[0], key, operation, value) {
                throw KafkaError(consuming: error, operation: "set config \(key)", topic: topic)
            }
        }
        // RD_KAFKA_ADMIN_OP_ANY: the 2.0.2 headers have no enum value for this call.
        try request(api: "IncrementalAlterConfigs", operation: RD_KAFKA_ADMIN_OP_ANY, start: { options, queue in
            resources.withUnsafeMutableBufferPointer {
                calls.alter(handle.pointer, $0.baseAddress, $0.count, options, queue)
            }
        }, read: { event in
            var count = 0
            guard let results = calls.resultResources(calls.eventResult(event), &count) else { return }
            for index in 0..<count {
                let err = rd_kafka_ConfigResource_error(results[index])
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(err, message: rd_kafka_ConfigResource_error_string(results[index]).map { String(cString: $0) },
                                     operation: "alter configs", topic: topic)
                }
            }
        })
        return true
    }
}
