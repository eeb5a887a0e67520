import Foundation
import Testing
@testable import PGKCore

enum KafkaTestSupport {
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UInt32.random(in: 0...UInt32.max))-\(UInt16.random(in: 0...UInt16.max))"
    }

    static func config(_ cluster: MockKafkaCluster, _ properties: [(String, String)] = []) -> KafkaConfig {
        KafkaConfig(brokers: cluster.bootstrapServers, properties: properties)
    }

    /// Polls until `count` messages arrived or `timeoutMilliseconds` passed.
    static func consume(_ consumer: KafkaConsumer, count: Int, timeoutMilliseconds: Int = 15_000) throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = SystemClock.shared.nowMilliseconds + Int64(timeoutMilliseconds)
        while messages.count < count, SystemClock.shared.nowMilliseconds < deadline {
            if case .message(let message)? = try consumer.poll(timeoutMilliseconds: 100) {
                messages.append(message)
            }
        }
        return messages
    }

    /// Runs a program with `input` on stdin; returns (status, stdout, stderr).
    static func run(_ path: String, _ arguments: [String], input: Data? = nil, timeoutSeconds: Double = 60) throws -> (Int32, Data, String) {
        let result = try CommandRunner.run(path, arguments, stdin: input ?? Data(), timeoutSeconds: timeoutSeconds)
        return (result.status, result.stdoutBytes, result.stderr)
    }

}
