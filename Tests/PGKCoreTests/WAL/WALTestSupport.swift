import Foundation
import Testing
@testable import PGKCore

/// One WAL test's world: its own database on the shared throwaway cluster
/// (or a private one), its own mock Kafka cluster, and a slot, publication
/// and topic prefix no other test uses. `close()` drops the slot: slots are
/// cluster-wide and hold WAL.
final class WALFixture {
    let url: String
    let db: PostgresConnection
    let kafka: MockKafkaCluster
    let slot: String
    let publication = "pgk"
    let prefix: String
    let cluster: LocalPostgresCluster?

    init(_ label: String, cluster: LocalPostgresCluster? = nil) throws {
        self.cluster = cluster
        if let cluster {
            let name = "w_\(label)_\(UInt32.random(in: 0...UInt32.max))"
            url = try cluster.createDatabase(name)
        } else {
            url = try TestPostgres.freshDatabase(label)
        }
        db = try PostgresConnection(conninfo: url)
        kafka = try MockKafkaCluster()
        let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        slot = "w_" + tag
        prefix = "wal" + tag
    }

    func close() {
        _ = try? db.execute("""
            SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL
            """, [slot])
        for _ in 0..<50 {
            if (try? db.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot])) != nil { break }
            usleep(100_000)
        }
    }

    static let environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]

    /// `pgk cdc wal <verb> …` against this fixture.
    func arguments(_ verb: String, _ extra: [String] = []) -> [String] {
        var arguments = ["cdc", "wal", verb, "-d", url, "-b", kafka.bootstrapServers, "--slot", slot,
                         "--publication", publication]
        if verb == "run" { arguments += ["--topic-prefix", prefix] }
        return arguments + extra
    }

    @discardableResult
    func pgk(_ verb: String, _ extra: [String] = [], timeoutSeconds: Double = 120) throws -> CommandResult {
        try CommandRunner.pgk(arguments(verb, extra), environment: WALFixture.environment, timeoutSeconds: timeoutSeconds)
    }

    /// Runs and requires exit status 0.
    @discardableResult
    func pgkOK(_ verb: String, _ extra: [String] = [], timeoutSeconds: Double = 120,
               sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let result = try pgk(verb, extra, timeoutSeconds: timeoutSeconds)
        try #require(result.status == 0, "pgk cdc wal \(verb) failed (\(result.status)): \(result.stderr)",
                     sourceLocation: sourceLocation)
        return result
    }

    func setup(_ tables: String) throws { try pgkOK("setup", ["--tables", tables]) }

    func topic(_ table: String, schema: String = "public") -> String {
        CDCTopicNaming.topic(prefix: prefix, schema: schema, table: table)
    }

    /// Every message of `topic`, each partition in order (partitions one
    /// after another; one-partition topics give the production order).
    func messages(_ topic: String) throws -> [KafkaMessage] {
        try WALKafka.readAll(kafka, topic)
    }

    /// The JSON values (tombstones skipped) of `topic`.
    func events(_ topic: String) throws -> [Value] {
        try messages(topic).compactMap { message in try message.value.map { try JSON.decode($0) } }
    }

    func scalar(_ sql: String, _ params: [String?] = []) throws -> String? { try db.query(sql, params).scalar }

    func slotConfirmed() throws -> LSN? {
        try scalar("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", [slot]).flatMap(LSN.init)
    }

    func currentLSN() throws -> LSN { LSN(try scalar("SELECT pg_current_wal_lsn()::text")!)! }
}

enum WALKafka {
    /// Reads `topic` up to its current end.
    static func readAll(_ kafka: MockKafkaCluster, _ topic: String) throws -> [KafkaMessage] {
        let config = KafkaConfig(brokers: kafka.bootstrapServers)
        let admin = try KafkaAdmin(config: config)
        guard let info = try admin.metadata(topic: topic).topic(topic), info.error == nil else { return [] }
        var ends: [Int32: Int64] = [:]
        for partition in info.partitions {
            let marks = try admin.watermarks(topic: topic, partition: partition.id)
            if marks.high > marks.low { ends[partition.id] = marks.high }
        }
        guard !ends.isEmpty else { return [] }
        let consumer = try KafkaConsumer(config: config, groupID: nil)
        defer { consumer.close(timeoutMilliseconds: 1000) }
        try consumer.assign(Dictionary(uniqueKeysWithValues: ends.keys.map {
            (KafkaTopicPartition(topic: topic, partition: $0), KafkaStartOffset.beginning)
        }))
        var byPartition: [Int32: [KafkaMessage]] = [:]
        var remaining = ends
        let deadline = Date().addingTimeInterval(60)
        while !remaining.isEmpty && Date() < deadline {
            guard case .message(let message)? = try consumer.poll(timeoutMilliseconds: 100) else { continue }
            byPartition[message.partition, default: []].append(message)
            if let end = remaining[message.partition], message.offset + 1 >= end { remaining[message.partition] = nil }
        }
        try #require(remaining.isEmpty, "could not read \(topic) to its end")
        return byPartition.keys.sorted().flatMap { byPartition[$0]! }
    }

    static func count(_ kafka: MockKafkaCluster, _ topic: String) throws -> Int64 {
        let admin = try KafkaAdmin(config: KafkaConfig(brokers: kafka.bootstrapServers))
        guard let info = try admin.metadata(topic: topic).topic(topic), info.error == nil else { return 0 }
        return try info.partitions.reduce(0) { $0 + (try admin.watermarks(topic: topic, partition: $1.id).high) }
    }
}

/// Polls `condition` until true or the timeout; returns its last result.
@discardableResult
func eventually(seconds: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(100_000)
    }
    return try condition()
}

extension Value {
    /// Object member lookup through a path, for terse assertions.
    subscript(path first: String, _ rest: String...) -> Value? {
        var current = self[first]
        for key in rest { current = current?[key] }
        return current
    }
}
