import CRdKafka

struct KafkaGroupMember: Sendable, Equatable {
    var memberID: String
    var clientID: String
    var clientHost: String
}

struct KafkaGroupSummary: Sendable, Equatable {
    var name: String
    var state: String
    var protocolType: String
    var protocolName: String
    var members: [KafkaGroupMember]
    var error: KafkaError?
}

/// A group's position in one partition against the partition's end.
struct KafkaPartitionLag: Sendable, Equatable {
    var topic: String
    var partition: Int32
    /// The committed next offset to read; nil when the group has none.
    var committed: Int64?
    var low: Int64
    var high: Int64
    /// high − committed; nil without a commit.
    var lag: Int64? { committed.map { max(0, high - $0) } }
}

extension KafkaAdmin {
    /// All consumer groups the brokers know (ListGroups + DescribeGroups).
    func listGroups() throws -> [KafkaGroupSummary] {
        var list: UnsafePointer<rd_kafka_group_list>?
        let err = rd_kafka_list_groups(handle.pointer, nil, &list, Int32(clamping: timeoutMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__PARTIAL, let list else {
            throw requestFailure(api: "ListGroups", err: err, text: nil)
        }
        defer { rd_kafka_group_list_destroy(list) }
        var groups: [KafkaGroupSummary] = []
        for index in 0..<Int(list.pointee.group_cnt) {
            let info = list.pointee.groups[index]
            let members = (0..<Int(info.member_cnt)).map { m in
                let member = info.members[m]
                return KafkaGroupMember(memberID: String(cString: member.member_id),
                                        clientID: String(cString: member.client_id),
                                        clientHost: String(cString: member.client_host))
            }
            let name = String(cString: info.group)
            groups.append(KafkaGroupSummary(
                name: name, state: String(cString: info.state),
                protocolType: String(cString: info.protocol_type), protocolName: String(cString: info.protocol),
                members: members,
                error: info.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(info.err, operation: "describe group \(name)")))
        }
        return groups.sorted { $0.name < $1.name }
    }

    /// Committed offsets of `group` (all its partitions, or those of
    /// `topics`), each with the partition's watermarks and the lag.
    func groupLag(_ group: String, topics: [String]? = nil) throws -> [KafkaPartitionLag] {
        var committed: [KafkaPartitionOffset]
        do {
            committed = try listGroupOffsets(group)
        } catch let error as KafkaError where error.kind == .unsupported {
            committed = []
        }
        // The mock answers "all partitions" OffsetFetch with nothing, so an
        // empty answer is checked partition by partition.
        if committed.isEmpty { committed = try committedThroughConsumer(group, topics: topics) }
        if let topics { committed = committed.filter { topics.contains($0.topic) } }
        var result: [KafkaPartitionLag] = []
        for entry in committed.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
            let marks = try watermarks(topic: entry.topic, partition: entry.partition)
            result.append(KafkaPartitionLag(topic: entry.topic, partition: entry.partition,
                                            committed: entry.offset >= 0 ? entry.offset : nil,
                                            low: marks.low, high: marks.high))
        }
        return result
    }

    /// ListConsumerGroupOffsets for every partition the group committed.
    func listGroupOffsets(_ group: String) throws -> [KafkaPartitionOffset] {
        var requests: [OpaquePointer?] = [rd_kafka_ListConsumerGroupOffsets_new(group, nil)]
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(requests[0]) }
        return try request(api: "ListConsumerGroupOffsets", operation: RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, start: { options, queue in
            requests.withUnsafeMutableBufferPointer {
                rd_kafka_ListConsumerGroupOffsets(handle.pointer, $0.baseAddress, $0.count, options, queue)
            }
        }, read: { event in
            var count = 0
            let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(event), &count)
            guard let groups, count > 0 else { return [] }
            if let error = rd_kafka_group_result_error(groups[0]) {
                throw KafkaError(borrowing: error, operation: "list offsets of group \(group)")
            }
            let (entries, errors) = readPartitionList(rd_kafka_group_result_partitions(groups[0]))
            if let first = errors.first { throw first }
            return entries.filter { $0.offset >= 0 }
        })
    }

    /// Fallback: a consumer with the group's id reads commits for every
    /// partition of `topics` (or all non-internal topics) without joining.
    func committedThroughConsumer(_ group: String, topics: [String]?) throws -> [KafkaPartitionOffset] {
        let md = try metadata()
        let wanted = md.topics.filter { topics?.contains($0.name) ?? !$0.name.hasPrefix("__") }
        let partitions = wanted.flatMap { topic in topic.partitions.map { KafkaTopicPartition(topic: topic.name, partition: $0.id) } }
        let consumer = try KafkaConsumer(config: handle.config, groupID: group, verifyConnection: false)
        defer { consumer.close(timeoutMilliseconds: 1_000) }
        let committed = try consumer.committed(partitions, timeoutMilliseconds: timeoutMilliseconds)
        return committed.map { KafkaPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value) }
    }
}
