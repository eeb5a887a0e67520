import CRdKafka
import Foundation
import Testing
@testable import PGKCore

/// `pgk topics …` as users run it: the built binary against an in-process
/// mock cluster over the real protocol.
@Suite struct TopicsCommandTests {
    static let environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]

    static func pgk(_ cluster: MockKafkaCluster, _ arguments: [String], stdin: String? = nil) throws -> CommandResult {
        try CommandRunner.pgk(arguments + ["-b", cluster.bootstrapServers], environment: environment,
                              stdin: stdin.map { Data($0.utf8) })
    }

    static func produce(_ cluster: MockKafkaCluster, _ topic: String, _ messages: [(key: String?, value: String?)],
                        partition: Int32 = 0, timestamp: ((Int) -> Int64)? = nil) throws {
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        for (index, message) in messages.enumerated() {
            try producer.produce(topic: topic, partition: partition, key: message.key.map { Array($0.utf8) },
                                 value: message.value.map { Array($0.utf8) }, timestamp: timestamp?(index))
        }
        try producer.flush(timeoutMilliseconds: 10_000)
    }

    @Test func produceThenTailRoundTripsKeysHeadersAndTombstones() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("cli-rt")
        try cluster.createTopic(topic, partitions: 1)
        let produced = try Self.pgk(cluster, ["topics", "produce", topic, "-K", ":", "-H", "src=pgk", "-H", "n=1", "-Z"],
                                    stdin: "k1:v1\nk2:{\"a\": [1, 2]}\nk3:\nno-key-here\n:empty key\n")
        #expect(produced.status == 0, "\(produced.stderr)")

        let tail = try Self.pgk(cluster, ["topics", "tail", topic, "--format", "%o|%k|%s|%h|%K|%S\\n"])
        #expect(tail.status == 0, "\(tail.stderr)")
        #expect(tail.stdout == """
            0|k1|v1|src=pgk,n=1|2|2
            1|k2|{"a": [1, 2]}|src=pgk,n=1|2|13
            2|k3||src=pgk,n=1|2|-1
            3||no-key-here|src=pgk,n=1|-1|11
            4||empty key|src=pgk,n=1|-1|9

            """)

        let json = try Self.pgk(cluster, ["topics", "tail", topic, "--json", "-n", "3"])
        #expect(json.status == 0, "\(json.stderr)")
        let lines = json.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        let first = try JSON.decode(lines[0])
        #expect(first["topic"] == .string(topic))
        #expect(first["partition"] == .int(0))
        #expect(first["offset"] == .int(0))
        #expect(first["key"] == .string("k1"))
        #expect(first["value"] == .string("v1"))
        #expect(first["value_error"]?.stringValue?.contains("json") == true, "v1 is not JSON")
        #expect(first["headers"] == .array([.object(ValueObject([("key", "src"), ("value", "pgk")])),
                                            .object(ValueObject([("key", "n"), ("value", "1")]))]))
        #expect(int(first["timestamp"]) != nil)
        let second = try JSON.decode(lines[1])
        #expect(second["value"] == .object(ValueObject([("a", .array([1, 2]))])))
        #expect(second["value_error"] == nil)
        #expect(try JSON.decode(lines[2])["value"] == .null)
        #expect(json.stderr.contains("1 message(s) could not be decoded"), "\(json.stderr)")
    }

    @Test func tailStopsAtTheEndAndHonoursCountOffsetAndPartition() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("cli-tail")
        try cluster.createTopic(topic, partitions: 3)
        let base: Int64 = 1_700_000_000_000
        try Self.produce(cluster, topic, (0..<6).map { ("k\($0)", "p0-\($0)") }, partition: 0,
                         timestamp: { base + Int64($0) * 1_000 })
        try Self.produce(cluster, topic, (0..<2).map { ("k\($0)", "p2-\($0)") }, partition: 2)

        let all = try Self.pgk(cluster, ["topics", "tail", topic, "--format", "%p:%o:%s\\n"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.split(separator: "\n").sorted() == ["0:0:p0-0", "0:1:p0-1", "0:2:p0-2", "0:3:p0-3", "0:4:p0-4",
                                                             "0:5:p0-5", "2:0:p2-0", "2:1:p2-1"])
        let lastTwo = try Self.pgk(cluster, ["topics", "tail", topic, "-o", "-2", "-p", "0"])
        #expect(lastTwo.stdout == "p0-4\np0-5\n")
        let absolute = try Self.pgk(cluster, ["topics", "tail", topic, "-o", "3", "-p", "0", "-n", "2"])
        #expect(absolute.stdout == "p0-3\np0-4\n")
        let byTime = try Self.pgk(cluster, ["topics", "tail", topic, "-p", "0", "-o", "@\(base + 3_500)"])
        #expect(byTime.stdout == "p0-4\np0-5\n", "\(byTime.stderr)")
        let byRFC3339 = try Self.pgk(cluster, ["topics", "tail", topic, "-p", "0", "-o", "@2023-11-14T22:13:23.500Z"])
        #expect(byRFC3339.stdout == "p0-4\np0-5\n", "\(byRFC3339.stderr)")
        let empty = try Self.pgk(cluster, ["topics", "tail", topic, "-p", "1"])
        #expect(empty.status == 0)
        #expect(empty.stdout.isEmpty)
        let fromEnd = try Self.pgk(cluster, ["topics", "tail", topic, "-o", "end"])
        #expect(fromEnd.status == 0)
        #expect(fromEnd.stdout.isEmpty)

        let noSuchPartition = try Self.pgk(cluster, ["topics", "tail", topic, "-p", "9"])
        #expect(noSuchPartition.status == 1)
        #expect(noSuchPartition.stderr.contains("has no partition 9"), "\(noSuchPartition.stderr)")
        let missing = try Self.pgk(cluster, ["topics", "tail", "absent-\(topic)"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("UNKNOWN_TOPIC_OR_PART"), "\(missing.stderr)")
        let badFormat = try Self.pgk(cluster, ["topics", "tail", topic, "--format", "%z"])
        #expect(badFormat.status == 64)
    }

    @Test func tailFollowWaitsForNewMessages() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("cli-follow")
        try cluster.createTopic(topic, partitions: 2)
        nonisolated(unsafe) var result: CommandResult?
        let done = DispatchSemaphore(value: 0)
        let bootstrap = cluster.bootstrapServers
        Thread {
            result = try? CommandRunner.pgk(["topics", "tail", topic, "-f", "-o", "end", "-n", "3", "-b", bootstrap],
                                            environment: Self.environment, timeoutSeconds: 30)
            done.signal()
        }.start()
        usleep(1_500_000) // let tail assign at the end before producing
        try Self.produce(cluster, topic, [("a", "one"), ("b", "two"), ("c", "three")], partition: 1)
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(result?.status == 0, "\(result?.stderr ?? "")")
        #expect(result?.stdout == "one\ntwo\nthree\n")
    }

    @Test func listDescribeAndGroupsOnTheMock() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("cli-meta")
        let group = KafkaTestSupport.uniqueName("cli-group")
        try cluster.createTopic(topic, partitions: 2)
        try Self.produce(cluster, topic, (0..<7).map { (nil, "m\($0)") }, partition: 1)

        // In-process: the same dispatch as the binary, output captured.
        let list = try InProcessPGK.run(["topics", "list", "-o", "json", "-b", cluster.bootstrapServers])
        #expect(list.status == 0)
        let topics = try JSON.decode(list.stdout)
        #expect(array(topics)?.contains { $0["topic"] == .string(topic) && $0["partitions"] == .int(2) && $0["replicas"] == .int(1) } == true)

        let describe = try Self.pgk(cluster, ["topics", "describe", topic])
        #expect(describe.status == 0, "\(describe.stderr)")
        #expect(describe.stdout.contains("Partitions: 2"))
        #expect(describe.stdout.contains("PARTITION  LEADER  REPLICAS  ISR  LOW  HIGH  MESSAGES"))
        #expect(describe.stderr.contains("configs are not available"), "\(describe.stderr)")
        #expect(describe.stderr.contains("does not support DescribeConfigs"), "\(describe.stderr)")
        let describeJSON = try JSON.decode(
            try InProcessPGK.run(["topics", "describe", topic, "-o", "json", "-b", cluster.bootstrapServers]).stdout)
        #expect(array(describeJSON["partitions"])?.map { $0["high"] } == [.int(0), .int(7)])
        #expect(describeJSON["configs"] == .null)

        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: group)
        try consumer.commit(processed: [KafkaPartitionOffset(topic: topic, partition: 1, offset: 4)])
        consumer.close()
        let groups = try Self.pgk(cluster, ["topics", "groups", group])
        #expect(groups.status == 0, "\(groups.stderr)")
        #expect(groups.stdout.contains("GROUP"))
        let groupsJSON = try JSON.decode(try Self.pgk(cluster, ["topics", "groups", group, "-o", "json"]).stdout)
        #expect(groupsJSON == .array([.object(ValueObject([("group", .string(group)), ("topic", .string(topic)),
                                                           ("partition", 1), ("committed", 5), ("high", 7), ("lag", 2)]))]))
        let allGroups = try Self.pgk(cluster, ["topics", "groups"])
        #expect(allGroups.status == 1)
        #expect(allGroups.stderr.contains("does not support ListGroups"), "\(allGroups.stderr)")
    }

    @Test func adminCommandsFailFastOnTheMockWithTheReason() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("cli-admin")
        try cluster.createTopic(topic, partitions: 1)
        for arguments in [["topics", "create", "new-\(topic)", "--partitions", "3"], ["topics", "delete", topic],
                          ["topics", "alter", topic, "--config", "retention.ms=1"]] {
            let started = Date()
            let result = try Self.pgk(cluster, arguments)
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(result.status == 1)
            #expect(result.stderr.contains("the broker does not support"), "\(result.stderr)")
            #expect(result.stderr.contains("mock cluster"), "\(result.stderr)")
        }
        let exists = try Self.pgk(cluster, ["topics", "create", topic, "--if-not-exists"])
        #expect(exists.status == 0, "\(exists.stderr)")
        #expect(exists.stderr.contains("already exists"))
        let nothing = try Self.pgk(cluster, ["topics", "alter", topic])
        #expect(nothing.status == 64)
    }

    @Test func unreachableBrokerFailsWithinTheTimeout() throws {
        let started = Date()
        let result = try CommandRunner.pgk(["topics", "list", "-b", "127.0.0.1:1", "--timeout", "2s"], environment: Self.environment)
        #expect(Date().timeIntervalSince(started) < 6)
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot reach any Kafka broker of bootstrap.servers=127.0.0.1:1 within 2000 ms"), "\(result.stderr)")
    }

    @Test func produceReportsFailedDeliveriesAndExitsNonZero() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("cli-fail")
        try cluster.createTopic(topic, partitions: 1)
        cluster.failNextRequests(apiKey: 0, error: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, count: 1)
        let result = try Self.pgk(cluster, ["topics", "produce", topic], stdin: "a\n")
        #expect(result.status == 1)
        #expect(result.stderr.contains("TOPIC_AUTHORIZATION_FAILED"), "\(result.stderr)")
        #expect(result.stderr.contains("1 of 1 message(s) were not delivered"), "\(result.stderr)")
        let invalid = try Self.pgk(cluster, ["topics", "produce", topic, "--packing", "json"], stdin: "{\"ok\":1}\nnot json\n[2]\n")
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("line 2: not json"), "\(invalid.stderr)")
        #expect(invalid.stderr.contains("1 of 3 message(s) were not delivered"), "\(invalid.stderr)")
        let msgpack = try Self.pgk(cluster, ["topics", "produce", topic, "--packing", "msgpack"], stdin: "{}\nnot json\n")
        #expect(msgpack.status == 1)
        #expect(msgpack.stderr.contains("line 2: not msgpack"), "\(msgpack.stderr)")
        #expect(msgpack.stderr.contains("1 of 2 message(s) were not delivered"), "\(msgpack.stderr)")
    }

    @Test func kcatInteropBothWays() throws {
        let kcat = "/usr/bin/kcat"
        try #require(FileManager.default.isExecutableFile(atPath: kcat), "kcat is required at \(kcat)")
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("cli-kcat")
        try cluster.createTopic(topic, partitions: 1)
        let input = "k1:v1\nk2:two words\nk3:{\"x\":1}\n"
        let produced = try Self.pgk(cluster, ["topics", "produce", topic, "-K:", "-H", "h=1"], stdin: input)
        #expect(produced.status == 0, "\(produced.stderr)")
        let kcatRead = try CommandRunner.run(kcat, ["-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q",
                                                    "-f", "%k:%s|%h\\n"])
        #expect(kcatRead.stdout == "k1:v1|h=1\nk2:two words|h=1\nk3:{\"x\":1}|h=1\n", "\(kcatRead.stderr)")

        let other = KafkaTestSupport.uniqueName("cli-kcat-in")
        try cluster.createTopic(other, partitions: 1)
        let kcatWrite = try CommandRunner.run(kcat, ["-P", "-b", cluster.bootstrapServers, "-t", other, "-K:"],
                                              stdin: Data(input.utf8))
        #expect(kcatWrite.status == 0, "\(kcatWrite.stderr)")
        let tail = try Self.pgk(cluster, ["topics", "tail", other, "--format", "%k:%s\\n"])
        #expect(tail.stdout == input, "\(tail.stderr)")
    }
}

private func int(_ value: Value?) -> Int64? {
    if case .int(let number)? = value { return number }
    return nil
}

private func array(_ value: Value?) -> [Value]? {
    if case .array(let items)? = value { return items }
    return nil
}

/// `topics tail` into a pipe nobody reads (`| less` left open) keeps its
/// read-ahead bounded.
@Suite struct TopicsTailMemoryTests {
    static func peakRSSMegabytes(_ arguments: [String]) throws -> Double {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw RuntimeError("pipe failed") }
        defer { close(ends[0]) }
        let child = try ChildProcess.spawn(RepositoryPaths.binary, arguments, environment: TopicsCommandTests.environment,
                                           stdout: .descriptor(ends[1]), stderr: .null)
        close(ends[1])
        defer { child.send(signal: SIGKILL); child.wait() }
        var peak = 0.0
        // Long enough for librdkafka to fill whatever read-ahead it is allowed.
        for _ in 0..<16 {
            usleep(500_000)
            let status = (try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)) ?? ""
            if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") {
                peak = max(peak, kilobytes / 1024)
            }
        }
        return peak
    }

    @Test func tailIntoAStalledPipeStaysUnder100MB() throws {
        let cluster = try MockKafkaCluster()
        let topic = KafkaTestSupport.uniqueName("big")
        let partitions: Int32 = 40
        try cluster.createTopic(topic, partitions: Int(partitions))
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster))
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000)
        // 4 MB per partition (the mock keeps about 5), 160 MB in all.
        for index in 0..<(400 * Int(partitions)) {
            try producer.produce(topic: topic, partition: Int32(index) % partitions, key: nil, value: value)
            if index % 2_000 == 1_999 { try producer.flush(timeoutMilliseconds: 30_000) }
        }
        try producer.flush(timeoutMilliseconds: 30_000)
        let peak = try Self.peakRSSMegabytes(["topics", "tail", topic, "-b", cluster.bootstrapServers])
        // Reading ahead without a bound, it held all 160 MB (190 MB RSS).
        print("topics tail into a stalled pipe: peak RSS \(Int(peak)) MB")
        #expect(peak > 0 && peak < 100, "peak RSS \(peak) MB")
    }
}
