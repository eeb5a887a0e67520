import CRdKafka

struct KafkaConfigEntry: Sendable, Equatable {
    var name: String
    /// nil when unset or sensitive.
    var value: String?
    /// librdkafka's source name, e.g. DYNAMIC_TOPIC_CONFIG or DEFAULT_CONFIG.
    var source: String
    var isDefault: Bool
    var isReadOnly: Bool
    var isSensitive: Bool
    /// Set on the topic itself (not inherited from the broker or defaults).
    var isTopicOverride: Bool { source == "DYNAMIC_TOPIC_CONFIG" }
}

extension KafkaAdmin {
    /// Every config entry of `topic`, as the broker reports it.
    func describeTopicConfigs(_ topic: String) throws -> [KafkaConfigEntry] {
        var resources: [OpaquePointer?] = [rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)]
        defer { rd_kafka_ConfigResource_destroy(resources[0]) }
        return try request(api: "DescribeConfigs", operation: RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, start: { options, queue in
            resources.withUnsafeMutableBufferPointer {
                rd_kafka_DescribeConfigs(handle.pointer, $0.baseAddress, $0.count, options, queue)
            }
        }, read: { event in
            var count = 0
            let results = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &count)
            guard let results, count > 0 else { return [] }
            let resource = results[0]
            let err = rd_kafka_ConfigResource_error(resource)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(err, message: rd_kafka_ConfigResource_error_string(resource).map { String(cString: $0) },
                                 operation: "describe configs", topic: topic)
            }
            var entryCount = 0
            guard let entries = rd_kafka_ConfigResource_configs(resource, &entryCount) else { return [] }
            return (0..<entryCount).map { index in
                let entry = entries[index]
                return KafkaConfigEntry(
                    name: String(cString: rd_kafka_ConfigEntry_name(entry)),
                    value: rd_kafka_ConfigEntry_value(entry).map { String(cString: $0) },
                    source: String(cString: rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(entry))),
                    isDefault: rd_kafka_ConfigEntry_is_default(entry) != 0,
                    isReadOnly: rd_kafka_ConfigEntry_is_read_only(entry) != 0,
                    isSensitive: rd_kafka_ConfigEntry_is_sensitive(entry) != 0)
            }.sorted { $0.name < $1.name }
        })
    }

    /// Sets (and removes) topic-level overrides, keeping the others.
    ///
    /// IncrementalAlterConfigs does exactly that, when both the loaded
    /// librdkafka (2.2+) and the broker have it; some brokers (Tansu) have
    /// nothing else. Otherwise the replacing AlterConfigs is used, so the
    /// current overrides are read first and sent back merged with the changes.
    func alterTopicConfigs(_ topic: String, set changes: [(String, String)], remove: [String] = []) throws {
        do {
            if try incrementallyAlterTopicConfigs(topic, set: changes, remove: remove) { return }
        } catch let error as KafkaError where error.kind == .unsupported {
            Log.debug("falling back to AlterConfigs: \(error)")
        }
        try replaceTopicConfigs(topic, set: changes, remove: remove)
    }

    private func replaceTopicConfigs(_ topic: String, set changes: [(String, String)], remove: [String]) throws {
        var merged: [(String, String)] = []
        for entry in try describeTopicConfigs(topic) where entry.isTopicOverride {
            if remove.contains(entry.name) || changes.contains(where: { $0.0 == entry.name }) { continue }
            guard let value = entry.value else {
                throw KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG,
                                 message: "cannot keep sensitive override \(entry.name): the broker hides its value",
                                 operation: "alter configs", topic: topic)
            }
            merged.append((entry.name, value))
        }
        merged += changes
        var resources: [OpaquePointer?] = [rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)]
        defer { rd_kafka_ConfigResource_destroy(resources[0]) }
        for (key, value) in merged {
            let err = rd_kafka_ConfigResource_set_config(resources[0], key, value)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, operation: "set config \(key)", topic: topic) }
        }
        try request(api: "AlterConfigs", operation: RD_KAFKA_ADMIN_OP_ALTERCONFIGS, start: { options, queue in
            resources.withUnsafeMutableBufferPointer {
                rd_kafka_AlterConfigs(handle.pointer, $0.baseAddress, $0.count, options, queue)
            }
        }, read: { event in
            var count = 0
            let results = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(event), &count)
            guard let results else { return }
            for index in 0..<count {
                let err = rd_kafka_ConfigResource_error(results[index])
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw KafkaError(err, message: rd_kafka_ConfigResource_error_string(results[index]).map { String(cString: $0) },
                                     operation: "alter configs", topic: topic)
                }
            }
        })
    }
}
