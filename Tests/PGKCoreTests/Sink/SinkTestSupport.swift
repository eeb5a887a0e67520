import Foundation
import Testing
@testable import PGKCore

/// Runs the built `pgk sink` against an in-process mock Kafka cluster and
/// a test database.
enum SinkTestSupport {
    /// Quick group rejoins on the mock (see shared/ENVIRONMENT.md).
    static let groupProperties = ["-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=500"]

    static func environment(_ cluster: MockKafkaCluster?, _ url: String, extra: [String: String] = [:]) -> [String: String] {
        var environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "PGK_DATABASE": url]
        if let cluster { environment["PGK_BROKERS"] = cluster.bootstrapServers }
        environment.merge(extra) { $1 }
        return environment
    }

    static func sink(_ cluster: MockKafkaCluster?, _ url: String, _ arguments: [String], stdin: String? = nil,
                     extra: [String: String] = [:], timeoutSeconds: Double = 120) throws -> CommandResult {
        try CommandRunner.pgk(["sink"] + arguments + (cluster == nil ? [] : groupProperties),
                              environment: environment(cluster, url, extra: extra),
                              stdin: stdin.map { Data($0.utf8) }, timeoutSeconds: timeoutSeconds)
    }

    /// `pgk sink …` in the background, stderr into `log`.
    static func spawn(_ cluster: MockKafkaCluster, _ url: String, _ arguments: [String], log: String) throws -> ChildProcess {
        try ChildProcess.spawn(RepositoryPaths.binary, ["sink"] + arguments + groupProperties,
                               environment: environment(cluster, url), stdout: .null,
                               stderr: .file(path: log, append: false))
    }

    static func produce(_ cluster: MockKafkaCluster, _ topic: String, _ messages: [(key: [UInt8]?, value: [UInt8]?)],
                        partition: Int32? = nil) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster, [("linger.ms", "5"),
                                                                                  ("sticky.partitioning.linger.ms", "0")]))
        for message in messages {
            try producer.produce(topic: topic, partition: partition, key: message.key, value: message.value)
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        #expect(producer.failedCount == 0, "\(producer.failures.first?.error.map { "\($0)" } ?? "")")
    }

    static func produce(_ cluster: MockKafkaCluster, _ topic: String, values: [String?], keys: [String?]? = nil,
                        partition: Int32? = nil) throws {
        try produce(cluster, topic, values.enumerated().map { index, value in
            (keys?[index].map { Array($0.utf8) }, value.map { Array($0.utf8) })
        }, partition: partition)
    }

    static func scalar(_ url: String, _ sql: String) throws -> String? {
        try PostgresConnection(conninfo: url).query(sql).scalar
    }

    static func rows(_ url: String, _ sql: String) throws -> [[String?]] {
        try PostgresConnection(conninfo: url).query(sql).rows.map(\.values)
    }

    /// Polls `condition` every 100 ms until it holds or time runs out.
    static func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    static func temporaryFile(_ name: String, contents: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgk-sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func log(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
