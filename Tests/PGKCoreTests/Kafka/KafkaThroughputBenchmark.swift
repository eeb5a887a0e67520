import Foundation
import Testing
@testable import PGKCore

/// Rough producer/consumer rates against kcat on the same mock cluster.
/// Prints numbers, asserts only correctness (counts). Opt-in because it
/// needs a release build to mean anything:
///   PGK_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter KafkaThroughputBenchmark
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PGK_BENCH"] != nil, "set PGK_BENCH=1 to run"))
struct KafkaThroughputBenchmark {
    static let count = Int(ProcessInfo.processInfo.environment["PGK_BENCH_COUNT"] ?? "") ?? 2_000_000
    static let partitions = 128

    static func rate(_ count: Int, _ milliseconds: Int64) -> String {
        String(format: "%.0f msgs/s (%d ms)", Double(count) * 1000 / Double(max(milliseconds, 1)), milliseconds)
    }

    @Test func produceAndConsumeAgainstKcat() throws {
        let cluster = try MockKafkaCluster()
        let ours = KafkaTestSupport.uniqueName("bench-ours")
        let theirs = KafkaTestSupport.uniqueName("bench-kcat")
        try cluster.createTopic(ours, partitions: Self.partitions)
        try cluster.createTopic(theirs, partitions: Self.partitions)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        let clock = SystemClock.shared

        // Produce: ours.
        // Sticky partitioning (librdkafka's default for null keys) fills one
        // partition for 10 ms at a time, past the mock's per-partition cap;
        // both clients spread messages per message instead.
        let producer = try KafkaProducer(config: KafkaTestSupport.config(cluster, [("sticky.partitioning.linger.ms", "0")]))
        var t0 = clock.nowMilliseconds
        try value.withUnsafeBytes { buffer in
            for _ in 0..<Self.count { try producer.produce(topic: ours, key: nil, value: buffer) }
        }
        try producer.flush(timeoutMilliseconds: 120_000)
        let ourProduce = clock.nowMilliseconds - t0
        #expect(producer.deliveredCount == Self.count)
        let admin = try KafkaAdmin(config: KafkaTestSupport.config(cluster))
        let marks = try admin.watermarks(topic: ours)
        print("BENCH watermarks: sum(high)=\(marks.map(\.watermarks.high).reduce(0, +)) sum(low)=\(marks.map(\.watermarks.low).reduce(0, +)) max(high)=\(marks.map(\.watermarks.high).max() ?? 0)")

        // Produce: kcat, same messages from stdin.
        var input = Data(capacity: Self.count * 101)
        let line = Data(value + [10])
        for _ in 0..<Self.count { input.append(line) }
        t0 = clock.nowMilliseconds
        let (status, _, stderr) = try KafkaTestSupport.run("/usr/bin/kcat", ["-P", "-b", cluster.bootstrapServers, "-t", theirs, "-X", "sticky.partitioning.linger.ms=0"], input: input, timeoutSeconds: 300)
        let kcatProduce = clock.nowMilliseconds - t0
        #expect(status == 0, "\(stderr)")

        // Consume: ours, assign-only, batch API, touching every value.
        let consumer = try KafkaConsumer(config: KafkaTestSupport.config(cluster), groupID: nil, partitionEOF: true)
        var starts: [KafkaTopicPartition: KafkaStartOffset] = [:]
        for p in 0..<Int32(Self.partitions) { starts[KafkaTopicPartition(topic: ours, partition: p)] = .beginning }
        t0 = clock.nowMilliseconds
        try consumer.assign(starts)
        var consumed = 0, bytes = 0, ends = Set<Int32>()
        while ends.count < Self.partitions {
            try consumer.pollBatch(maxMessages: 10_000, timeoutMilliseconds: 1_000) { record in
                switch record {
                case .message(let view): consumed += 1; bytes &+= view.value?.count ?? 0
                case .partitionEnd(let end): ends.insert(end.partition)
                }
            }
        }
        let ourConsume = clock.nowMilliseconds - t0
        #expect(consumed == Self.count)

        // Consume: kcat, to /dev/null-like temp file.
        t0 = clock.nowMilliseconds
        let (kstatus, out, kerr) = try KafkaTestSupport.run("/usr/bin/kcat", ["-C", "-b", cluster.bootstrapServers, "-t", ours, "-o", "beginning", "-e", "-q"], timeoutSeconds: 300)
        let kcatConsume = clock.nowMilliseconds - t0
        #expect(kstatus == 0, "\(kerr)")
        #expect(out.count == Self.count * 101)

        print("""
        BENCH messages=\(Self.count) value=100B partitions=\(Self.partitions)
        BENCH produce  pgk:  \(Self.rate(Self.count, ourProduce))
        BENCH produce  kcat: \(Self.rate(Self.count, kcatProduce))  ratio pgk/kcat \(String(format: "%.2f", Double(kcatProduce) / Double(ourProduce)))
        BENCH consume  pgk:  \(Self.rate(Self.count, ourConsume))
        BENCH consume  kcat: \(Self.rate(Self.count, kcatConsume))  ratio pgk/kcat \(String(format: "%.2f", Double(kcatConsume) / Double(ourConsume)))
        """)
    }

    /// The release `pgk topics produce|tail` binary against kcat -P|-C.
    @Test func topicsProduceAndTailAgainstKcat() throws {
        let pgk = RepositoryPaths.path(".build/release/pgk")
        try #require(FileManager.default.isExecutableFile(atPath: pgk), "build it first: swift build -c release")
        let cluster = try MockKafkaCluster()
        let ours = KafkaTestSupport.uniqueName("bench-cli-ours")
        let theirs = KafkaTestSupport.uniqueName("bench-cli-kcat")
        try cluster.createTopic(ours, partitions: Self.partitions)
        try cluster.createTopic(theirs, partitions: Self.partitions)
        var input = Data(capacity: Self.count * 101)
        let line = Data([UInt8](repeating: UInt8(ascii: "x"), count: 100) + [10])
        for _ in 0..<Self.count { input.append(line) }
        let clock = SystemClock.shared
        let spread = "sticky.partitioning.linger.ms=0"

        var t0 = clock.nowMilliseconds
        let produced = try KafkaTestSupport.run(pgk, ["topics", "produce", ours, "-b", cluster.bootstrapServers, "-X", spread],
                                                input: input, timeoutSeconds: 300)
        let ourProduce = clock.nowMilliseconds - t0
        #expect(produced.0 == 0, "\(produced.2)")
        t0 = clock.nowMilliseconds
        let kcatProduced = try KafkaTestSupport.run("/usr/bin/kcat", ["-P", "-b", cluster.bootstrapServers, "-t", theirs, "-X", spread],
                                                    input: input, timeoutSeconds: 300)
        let kcatProduce = clock.nowMilliseconds - t0
        #expect(kcatProduced.0 == 0, "\(kcatProduced.2)")

        t0 = clock.nowMilliseconds
        let tailed = try KafkaTestSupport.run(pgk, ["topics", "tail", ours, "-b", cluster.bootstrapServers], timeoutSeconds: 300)
        let ourTail = clock.nowMilliseconds - t0
        #expect(tailed.1.count == Self.count * 101, "\(tailed.2)")
        t0 = clock.nowMilliseconds
        let kcatTailed = try KafkaTestSupport.run("/usr/bin/kcat", ["-C", "-b", cluster.bootstrapServers, "-t", ours, "-o", "beginning", "-e", "-q"],
                                                  timeoutSeconds: 300)
        let kcatTail = clock.nowMilliseconds - t0
        #expect(kcatTailed.1.count == Self.count * 101)

        print("""
        BENCH-CLI messages=\(Self.count) value=100B partitions=\(Self.partitions) (whole process, stdin/stdout through files)
        BENCH-CLI topics produce: \(Self.rate(Self.count, ourProduce))  kcat -P: \(Self.rate(Self.count, kcatProduce))  ratio \(String(format: "%.2f", Double(kcatProduce) / Double(ourProduce)))
        BENCH-CLI topics tail:    \(Self.rate(Self.count, ourTail))  kcat -C: \(Self.rate(Self.count, kcatTail))  ratio \(String(format: "%.2f", Double(kcatTail) / Double(ourTail)))
        """)
    }
}
