import Foundation
import Testing
@testable import PGKCore

/// `pgk subscribe` as a long-running process: SIGINT, a kill -9 in the
/// middle of a load with other members taking over, and `--metrics`.
@Suite struct SubscribeLifecycleTests {
    typealias F = SubscribeCommandTests.Fixture
    typealias W = SubscribeWorkerTests.Worker

    static func background(_ fx: F, _ arguments: [String]) throws -> BackgroundProcess {
        var environment = TopicsCommandTests.environment
        environment["PGK_SCHEMAS"] = fx.publish.schemas
        return try BackgroundProcess.pgk(["subscribe"] + arguments + ["-b", fx.cluster.bootstrapServers]
                                         + SinkTestSupport.groupProperties, environment: environment)
    }

    static func lines(_ path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    @Test func sigintLetsTheMessageInHandFinishCommitsAndExitsZero() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("sigint")
        try fx.cluster.createTopic(topic, partitions: 1)
        try fx.produce(topic, SubscribeWorkerTests.envelopes(1...5))
        let worker = try W(#"""
            while IFS= read -r line; do
              printf '%s\n' "$line" >> "$DIR/started"; sleep 1
              printf '%s\n' "$line" >> "$LOG"; echo ok
            done
            """#)
        let group = KafkaTestSupport.uniqueName("g")
        let child = try Self.background(fx, [topic, "-g", group, "--worker", worker.command, "-o", "data"])
        #expect(SinkTestSupport.waitUntil(seconds: 30) { !Self.lines(worker.directory + "/started").isEmpty },
                "\(child.stderr)")
        child.signal(SIGINT)
        #expect(child.wait(seconds: 10) == 0, "\(child.stderr)")
        let finished = SubscribeWorkerTests.ids(try worker.records())
        #expect(finished == [1], "the message in hand finishes, nothing after it is waited for: \(finished)")
        let next = try W(SubscribeWorkerTests.acknowledging)
        let rerun = try fx.subscribe([topic, "-g", group, "--worker", next.command, "-o", "data", "--until-end"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(SubscribeWorkerTests.ids(try next.records()) == [2, 3, 4, 5], "committed through the finished one only")
    }

    /// Two members share a load; one is killed with -9 and a third joins.
    /// Nothing is lost, and a message is only ever seen twice when the
    /// killed member had it without committing it.
    @Test func killDashNineDuringALoadLosesNothingAndRedeliversOnlyWhatWasNotCommitted() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("kill9")
        try fx.cluster.createTopic(topic, partitions: 4)
        let total = 3_000
        let producer = try KafkaProducer(config: KafkaTestSupport.config(fx.cluster))
        let group = KafkaTestSupport.uniqueName("g")
        let arguments = [topic, "-g", group, "-o", "record", "-v"]
        let first = try Self.background(fx, arguments)
        let second = try Self.background(fx, arguments)
        var third: BackgroundProcess?
        defer { for member in [first, second, third].compactMap({ $0 }) where member.isRunning { member.signal(SIGKILL) } }
        for id in 0..<total {
            try producer.produce(topic: topic, partition: Int32(id % 4), key: nil,
                                 value: Array(#"{"schema":"Order:1","data":{"id":\#(id)}}"#.utf8))
            if id % 100 == 99 {
                try producer.flush(timeoutMilliseconds: 10_000)
                usleep(60_000)
            }
            if id == 199 {
                // Both members joined and have their share before the load goes on.
                #expect(SinkTestSupport.waitUntil(seconds: 60) { !first.stdout.isEmpty && !second.stdout.isEmpty },
                        "\(first.stderr)\n\(second.stderr)")
            }
            if id == 1_000 { first.signal(SIGKILL) }
            if id == 2_000 { third = try Self.background(fx, arguments) }
        }
        try producer.flush(timeoutMilliseconds: 10_000)
        func ids(_ member: BackgroundProcess?) -> [Int64] {
            (member?.stdout ?? "").split(separator: "\n").compactMap { line in
                guard case .int(let id)? = (try? JSON.decode(String(line)))?["data"]?["id"] else { return nil }
                return id
            }
        }
        let all = SinkTestSupport.waitUntil(seconds: 90) {
            Set(ids(first) + ids(second) + ids(third)).count == total
        }
        second.signal(SIGTERM)
        third?.signal(SIGTERM)
        #expect(second.wait(seconds: 30) == 0, "\(second.stderr.suffix(2_000))")
        #expect(third?.wait(seconds: 30) == 0, "\(third?.stderr.suffix(2_000) ?? "")")
        #expect(first.wait(seconds: 5) == 128 + SIGKILL)
        let killed = ids(first), survivors = ids(second) + ids(third)
        #expect(all, "lost: \(Set(0..<Int64(total)).subtracting(killed + survivors).sorted().prefix(20))")
        #expect(!killed.isEmpty && !ids(second).isEmpty && !ids(third).isEmpty,
                "every member should have had a share: \(killed.count) \(ids(second).count) \(ids(third).count)")
        let members = [("first", killed), ("second", ids(second)), ("third", ids(third))]
        for (name, seen) in members {
            #expect(Set(seen).count == seen.count, "\(name) handled a message twice")
        }
        // A message two members saw is one the earlier owner had not
        // committed when the partition moved (killed; or revoked while the
        // mock broker refuses commits during a rebalance): the tail of the
        // earlier owner's share of that partition and the head of the next.
        for (index, (nameX, x)) in members.enumerated() {
            for (nameY, y) in members[(index + 1)...] {
                for partition in Int64(0)..<4 {
                    let xp = x.filter { $0 % 4 == partition }, yp = y.filter { $0 % 4 == partition }
                    let overlap = Set(xp).intersection(yp)
                    guard !overlap.isEmpty else { continue }
                    let inX = xp.filter(overlap.contains), inY = yp.filter(overlap.contains)
                    let handedOver = (inX == Array(xp.suffix(inX.count)) && inY == Array(yp.prefix(inY.count)))
                        || (inY == Array(yp.suffix(inY.count)) && inX == Array(xp.prefix(inX.count)))
                    let detail = "\(nameX)/\(nameY) partition \(partition): \(overlap.count) seen by both, "
                        + "not at a handover: \(inX.prefix(20)) / \(inY.prefix(20))"
                    #expect(handedOver, "\(detail)")
                }
            }
        }
        let rerun = try fx.subscribe([topic, "-g", group, "--until-end"])
        #expect(rerun.status == 0 && rerun.stdout.isEmpty, "the group committed everything: \(rerun.stdout.prefix(300))")
    }

    @Test func metricsCountMessagesHandlerTimesRebalancesAndHealth() throws {
        let fx = F()
        let topic = KafkaTestSupport.uniqueName("smetrics")
        try fx.cluster.createTopic(topic, partitions: 1)
        let dlq = topic + ".dlq"
        try fx.cluster.createTopic(dlq, partitions: 1)
        try fx.produce(topic, SubscribeWorkerTests.envelopes(1...40) + ["not json"])
        let worker = try W(SubscribeWorkerTests.acknowledging)
        let child = try Self.background(fx, [topic, "-g", KafkaTestSupport.uniqueName("g"), "--worker", worker.command,
                                             "--dead-letter", dlq, "--metrics", "127.0.0.1:0"])
        defer { if child.isRunning { child.signal(SIGKILL) } }
        let base = try #require(MetricsScrape.announcedURL { child.stderr }, "\(child.stderr)")
        let delivered = MetricsScrape.key("pgk_subscribe_messages_total",
                                          ["topic": topic, "partition": "0", "result": "delivered"])
        let samples = MetricsScrape.waitFor(base) {
            $0[delivered] == 40 && $0[MetricsScrape.key("pgk_subscribe_consumer_lag_messages",
                                                        ["topic": topic, "partition": "0"])] == 0
        }
        #expect(samples[delivered] == 40, "\(samples)")
        #expect(samples[MetricsScrape.key("pgk_subscribe_messages_total",
                                          ["topic": topic, "partition": "0", "result": "not-json"])] == 1)
        #expect(samples[MetricsScrape.key("pgk_subscribe_dead_letters_total", ["topic": dlq])] == 1)
        #expect(samples["pgk_subscribe_handler_seconds_count"] == 40)
        #expect((samples["pgk_subscribe_rebalances_total"] ?? 0) >= 1)
        #expect(samples["pgk_subscribe_assigned_partitions"] == 1)
        #expect(samples["pgk_subscribe_healthy_handler_lanes"] == 1)
        #expect(try MetricsScrape.get(base, "/healthz").status == 200)
        child.signal(SIGTERM)
        #expect(child.wait(seconds: 20) == 0, "\(child.stderr)")
    }
}
