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
    /// Output goes through temporary files so no pipe can fill up.
    static func run(_ path: String, _ arguments: [String], input: Data? = nil, timeoutSeconds: Double = 60) throws -> (Int32, Data, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("pgk-run"))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inURL = dir.appendingPathComponent("in"), outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        try (input ?? Data()).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (process.terminationStatus, try Data(contentsOf: outURL), String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
