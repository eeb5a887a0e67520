import Foundation
import Testing
@testable import PGKCore

/// `pgk subscribe --worker`: the line protocol, failures, crashes and
/// timeouts of long-lived workers, and `--concurrency` lanes keeping each
/// partition's (or key's) order while committing only contiguous prefixes.
@Suite struct SubscribeWorkerTests {
    typealias F = SubscribeCommandTests.Fixture

    /// A worker script in a private directory, with a log it appends to.
    final class Worker {
        let directory: String
        var log: String { directory + "/log" }
        var script: String { directory + "/worker.sh" }

        init(_ body: String) throws {
            directory = try SinkTestSupport.temporaryFile("worker", contents: "") + ".d"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: log, contents: nil)
            try ("#!/bin/sh\nLOG=\(log)\nDIR=\(directory)\n" + body).write(toFile: script, atomically: true, encoding: .utf8)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        var command: String { "sh " + script }

        /// Each logged line parsed as JSON (the worker logs what it read).
        func records() throws -> [Value] {
            try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map { try JSON.decode(String($0)) }
        }
    }

    static func envelopes(_ ids: ClosedRange<Int>) -> [String?] {
        ids.map { #"{"schema":"Order:1","data":{"id":\#($0),"customer":"c","lines":[]}}"# }
    }

    static func ids(_ records: [Value]) -> [Int64] {
        records.compactMap { record -> Int64? in
            if case .int(let id)? = record["data"]?["id"] { return id }
            if case .int(let id)? = record["id"] { return id }
            return nil
        }
    }

    /// Order envelopes `{"id":N}` for `ids`, each to the partition and key given.
    static func produceOrders(_ fx: F, _ topic: String, _ ids: some Sequence<Int>,
                              partition: (Int) -> Int32 = { _ in 0 }, key: (Int) -> String? = { _ in nil }) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        for id in ids {
            try producer.produce(topic: topic, partition: partition(id), key: key(id).map { Array($0.utf8) },
                                 value: Array(#"{"schema":"Order:1","data":{"id":\#(id)}}"#.utf8))
        }
        try producer.flush(timeoutMilliseconds: 10_000)
    }

    /// Logs "<lane> <line>" per message and acknowledges it.
    static let loggingLane = #"while IFS= read -r line; do printf '%s %s\n' "$PGK_WORKER" "$line" >> "$LOG"; echo ok; done"#

    static let acknowledging = #"while IFS= read -r line; do printf '%s\n' "$line" >> "$LOG"; echo ok; done"#

    @Test func aWorkerAcknowledgesEachMessageInOrderAndTheGroupCommits() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("worker")
        try fx.cluster.createTopic(topic, partitions: 1)
        try fx.produce(topic, Self.envelopes(1...300))
        let worker = try Worker(Self.acknowledging)
        let group = KafkaTestSupport.uniqueName("g")
        let run = try fx.subscribe([topic, "-g", group, "--worker", worker.command, "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty, "with a worker nothing goes to stdout")
        let records = try worker.records()
        // --worker defaults to record lines: where each message came from.
        #expect(records.map { $0["offset"] } == (0..<300).map { .int(Int64($0)) })
        #expect(records.first?["topic"] == .string(topic) && records.first?["schema"] == "Order:1")
        #expect(Self.ids(records) == Array(1...300))
        let again = try fx.subscribe([topic, "-g", group, "--worker", worker.command, "--until-end"])
        #expect(again.status == 0 && again.stderr.contains("0 msgs"), "everything was committed: \(again.stderr)")
    }

    @Test func aWorkersErrorAnswerIsRetriedThenDeadLetteredAndLaterMessagesAreHandledAfterIt() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("werr")
        try fx.cluster.createTopic(topic, partitions: 1)
        let dlq = topic + ".dlq"
        try fx.cluster.createTopic(dlq, partitions: 1)
        try fx.produce(topic, Self.envelopes(1...10))
        let worker = try Worker(#"""
            while IFS= read -r line; do
              printf '%s\n' "$line" >> "$LOG"
              case "$line" in *'"id":3,'*) echo "error cannot bill 3";; *) echo ok;; esac
            done
            """#)
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--worker", worker.command,
                                    "-o", "data", "--retries", "1", "--backoff", "10ms", "--dead-letter", dlq,
                                    "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        let letter = try #require(try fx.publish.read(dlq, count: 1).first)
        #expect(SubscribeCommandTests.header(letter, "pgk-source-offset") == "2")
        let history = try JSON.decode(try #require(SubscribeCommandTests.header(letter, "pgk-retry-history")))
        guard case .array(let attempts) = history else { Issue.record("no history: \(history)"); return }
        #expect(attempts.count == 2)
        #expect(attempts.allSatisfy { $0["stderr"] == "error cannot bill 3" }, "\(attempts)")
        // Messages sent after 3 are handled again after its retry: the last
        // time each is handled follows the partition's order.
        let seen = Self.ids(try worker.records())
        var lastSeen: [Int64: Int] = [:]
        for (index, id) in seen.enumerated() { lastSeen[id] = index }
        #expect(Set(seen) == Set(1...10))
        #expect((1...10).map { lastSeen[Int64($0)]! } == (1...10).map { lastSeen[Int64($0)]! }.sorted(), "\(seen)")
        #expect(run.stderr.contains("1 dead-lettered"), "\(run.stderr)")
    }

    @Test func aWorkerThatDiesIsRestartedAndItsMessageRetried() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("wdie")
        try fx.cluster.createTopic(topic, partitions: 1)
        try fx.produce(topic, Self.envelopes(1...20))
        let worker = try Worker(#"""
            while IFS= read -r line; do
              case "$line" in *'"id":4,'*) [ -e "$DIR/died" ] || { touch "$DIR/died"; exit 7; };; esac
              printf '%s\n' "$line" >> "$LOG"; echo ok
            done
            """#)
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--worker", worker.command,
                                    "--retries", "2", "--backoff", "10ms", "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("exited with status 7; restarting"), "\(run.stderr)")
        let seen = Self.ids(try worker.records())
        #expect(Set(seen) == Set(1...20) && seen.last == 20, "\(seen)")
    }

    @Test func aSilentWorkerIsKilledAtTheTimeoutAndThatCountsAsAFailure() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("whang")
        try fx.cluster.createTopic(topic, partitions: 1)
        let dlq = topic + ".dlq"
        try fx.cluster.createTopic(dlq, partitions: 1)
        try fx.produce(topic, Self.envelopes(1...5))
        let worker = try Worker(#"""
            while IFS= read -r line; do
              case "$line" in *'"id":2,'*) sleep 30;; esac
              printf '%s\n' "$line" >> "$LOG"; echo ok
            done
            """#)
        let started = Date()
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--worker", worker.command,
                                    "--timeout", "300ms", "--backoff", "10ms", "--dead-letter", dlq, "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 25, "the silent worker was not killed")
        let letter = try #require(try fx.publish.read(dlq, count: 1).first)
        #expect(SubscribeCommandTests.header(letter, "pgk-source-offset") == "1")
        #expect((SubscribeCommandTests.header(letter, "pgk-retry-history") ?? "").contains("timed out after 300 ms"))
        #expect(Self.ids(try worker.records()) == [1, 3, 4, 5])
    }

    @Test func concurrentLanesKeepEachPartitionsOrderAndHandleEverything() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("lanes")
        try fx.cluster.createTopic(topic, partitions: 4)
        try Self.produceOrders(fx, topic, 0..<800, partition: { Int32($0 % 4) })
        let worker = try Worker(Self.loggingLane)
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--worker", worker.command,
                                    "--concurrency", "4", "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        var offsets: [Int64: [Int64]] = [:]
        var lanes: Set<Substring> = []
        for line in try String(contentsOfFile: worker.log, encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            lanes.insert(parts[0])
            let record = try JSON.decode(String(parts[1]))
            guard case .int(let partition)? = record["partition"], case .int(let offset)? = record["offset"] else {
                Issue.record("bad record \(line)"); continue
            }
            offsets[partition, default: []].append(offset)
        }
        #expect(offsets.keys.sorted() == [0, 1, 2, 3])
        #expect(offsets.values.allSatisfy { $0 == Array(0..<200) }, "each partition in order, once: \(offsets)")
        #expect(lanes.count > 1, "the partitions should have spread over the lanes: \(lanes)")
    }

    @Test func orderByKeyKeepsEachKeysOrderAcrossLanes() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("keys")
        try fx.cluster.createTopic(topic, partitions: 1)
        try Self.produceOrders(fx, topic, 0..<400, key: { "k\($0 % 8)" })
        let worker = try Worker(Self.loggingLane)
        let run = try fx.subscribe([topic, "-g", KafkaTestSupport.uniqueName("g"), "--worker", worker.command,
                                    "-c", "4", "--order", "key", "--until-end"])
        #expect(run.status == 0, "\(run.stderr)")
        var byKey: [String: [Int64]] = [:]
        var lanes: Set<Substring> = []
        for line in try String(contentsOfFile: worker.log, encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            lanes.insert(parts[0])
            let record = try JSON.decode(String(parts[1]))
            guard case .string(let key)? = record["key"], case .int(let id)? = record["data"]?["id"] else {
                Issue.record("bad record \(line)"); continue
            }
            byKey[key, default: []].append(id)
        }
        #expect(byKey.count == 8)
        for (key, ids) in byKey {
            let n = Int64(key.dropFirst())!
            #expect(ids == Array(stride(from: n, to: 400, by: 8)), "key \(key) out of order: \(ids)")
        }
        #expect(lanes.count > 1, "one partition's keys should have spread over the lanes: \(lanes)")
    }

    @Test func nothingIsCommittedPastAFailureEvenWhenLaterMessagesFinishedFirst() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("prefix")
        try fx.cluster.createTopic(topic, partitions: 1)
        try Self.produceOrders(fx, topic, 1...40, key: { $0 % 2 == 0 ? "even" : "odd" })
        // The odd lane is slow and fails on 5; the even lane races ahead.
        let failing = try Worker(#"""
            while IFS= read -r line; do
              case "$line" in *'"key":"odd"'*) sleep 0.05;; esac
              printf '%s\n' "$line" >> "$LOG"
              case "$line" in *'"id":5}'*) echo "error no"; continue;; esac
              echo ok
            done
            """#)
        let group = KafkaTestSupport.uniqueName("g")
        let first = try fx.subscribe([topic, "-g", group, "--worker", failing.command, "-c", "2", "--order", "key",
                                      "--until-end"])
        #expect(first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("\(topic)[0] offset 4") && first.stderr.contains("stopping without committing"),
                "\(first.stderr)")
        let handledFirst = Self.ids(try failing.records())
        #expect(handledFirst.contains { $0 > 6 && $0 % 2 == 0 }, "the even lane should have run past the failure: \(handledFirst)")
        let worker = try Worker(Self.acknowledging)
        let second = try fx.subscribe([topic, "-g", group, "--worker", worker.command, "--until-end"])
        #expect(second.status == 0, "\(second.stderr)")
        let offsets = try worker.records().map { $0["offset"] }
        #expect(offsets.first == .int(4), "the next run starts at the failed message: \(offsets)")
        #expect(offsets == (4..<40).map { .int(Int64($0)) })
    }

    @Test func execAndWorkerExcludeEachOtherAndLaneOptionsNeedAHandler() throws {
        let both = try CommandRunner.pgk(["subscribe", "t", "-g", "g", "--exec", "cat", "--worker", "cat"])
        #expect(both.status == 64 && both.stderr.contains("exclude each other"), "\(both.stderr)")
        let lanes = try CommandRunner.pgk(["subscribe", "t", "-g", "g", "--concurrency", "4"])
        #expect(lanes.status == 64 && lanes.stderr.contains("--concurrency needs a handler"), "\(lanes.stderr)")
        let order = try CommandRunner.pgk(["subscribe", "t", "-g", "g", "--worker", "cat", "--order", "offset"])
        #expect(order.status == 64 && order.stderr.contains("partition"), "\(order.stderr)")
    }
}
