import Foundation
import Testing
@testable import PGKCore

/// A writer whose outcome the test decides. It records every batch and
/// can hold one until released, so a later writer can finish first.
final class ScriptedBatchWriter: BatchWriting, @unchecked Sendable {
    private let condition = NSCondition()
    private var received: [StagedBatch] = []
    private var finishedCount = 0
    private var holding = false
    /// The outcome for a batch; by default every claim commits.
    var respond: @Sendable (StagedBatch) -> WriteOutcome = ScriptedBatchWriter.commitEverything

    static let commitEverything: @Sendable (StagedBatch) -> WriteOutcome = { batch in
        var outcome = WriteOutcome()
        outcome.committed = batch.claims
        return outcome
    }

    init(holding: Bool = false) { self.holding = holding }

    func write(_ batch: StagedBatch) -> WriteOutcome {
        condition.lock()
        received.append(batch)
        while holding { condition.wait() }
        condition.unlock()
        let outcome = respond(batch)
        condition.lock()
        finishedCount += 1
        condition.broadcast()
        condition.unlock()
        return outcome
    }

    func release() {
        condition.lock()
        holding = false
        condition.broadcast()
        condition.unlock()
    }

    var batches: [StagedBatch] {
        condition.lock()
        defer { condition.unlock() }
        return received
    }

    /// Blocks (bounded) until `count` batches have come back from `write`.
    func waitUntilFinished(_ count: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(5)
        while finishedCount < count {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }
}

/// `SinkRunner`'s orchestration with fake writers and a manual clock: no
/// PostgreSQL, no Kafka, no binary; each test runs in milliseconds.
@Suite struct SinkRunnerOrchestrationTests {
    static let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    static let p1 = KafkaTopicPartition(topic: "t", partition: 1)

    /// A runner over `writers`, with partitions 0 and 1 of topic "t" assigned
    /// (nothing stored yet), recording what it commits and fences.
    final class Harness {
        let clock = ManualClock()
        let runner: SinkRunner
        var committed: [OffsetClaim] = []
        var fenced: [(KafkaTopicPartition, Int64?)] = []

        init(_ writers: [ScriptedBatchWriter], batchTimeoutMilliseconds: Int64 = 1_000) throws {
            let settings = SinkSettings(topics: ["t"], table: try QualifiedName.parse("t"),
                                        map: BuiltinMaps.named("json")!,
                                        batchTimeoutMilliseconds: batchTimeoutMilliseconds)
            runner = try SinkRunner(settings: settings, writers: writers, registry: nil, stop: StopToken(), clock: clock)
            runner.assign(SinkRunnerOrchestrationTests.p0, stored: nil)
            runner.assign(SinkRunnerOrchestrationTests.p1, stored: nil)
            runner.onCommitted = { [unowned self] in committed += $0 }
            runner.onFenced = { [unowned self] in fenced.append(($0, $1)) }
        }

        func offer(partition: Int32, offsets: ClosedRange<Int64>) {
            for offset in offsets {
                runner.offer(FakeMessage(partition: partition, offset: offset, value: "{\"n\":\(offset)}"), topic: "t")
            }
        }
    }

    static func partitions(of batch: StagedBatch) -> Set<Int32> { Set(batch.rows.map(\.partition)) }

    @Test func fencedBatchReportsTheStoredOffsetAndConfirmsNothingForThatPartition() throws {
        let writer = ScriptedBatchWriter()
        writer.respond = { batch in
            var outcome = WriteOutcome()
            outcome.committed = batch.claims.filter { $0.topicPartition != Self.p0 }
            outcome.fenced = [Self.p0: 42]
            return outcome
        }
        let harness = try Harness([writer])
        harness.offer(partition: 0, offsets: 0...2)
        harness.offer(partition: 1, offsets: 0...1)
        harness.runner.flush(wait: true)

        #expect(harness.fenced.count == 1)
        #expect(harness.fenced.first?.0 == Self.p0 && harness.fenced.first?.1 == 42)
        #expect(harness.committed == [OffsetClaim(topicPartition: Self.p1, expected: nil, next: 2)])
        let slot = try #require(harness.runner.book.slot(of: Self.p0))
        // Read again from the other consumer's offset: earlier offsets are ignored.
        #expect(slot.stored == 42 && slot.planned == 42 && slot.position == 42)
        harness.offer(partition: 0, offsets: 3...3)
        #expect(harness.runner.bufferedCount == 0)
    }

    @Test func fenceDropsThePartitionsMessagesStagedSinceTheBatchWasSealed() throws {
        let writer = ScriptedBatchWriter(holding: true)
        writer.respond = { batch in
            var outcome = WriteOutcome()
            outcome.fenced = [Self.p0: nil]
            outcome.committed = batch.claims.filter { $0.topicPartition != Self.p0 }
            return outcome
        }
        let harness = try Harness([writer])
        harness.offer(partition: 0, offsets: 0...1)
        harness.runner.flush(wait: false)
        // Staged while the fenced batch is being written.
        harness.offer(partition: 0, offsets: 2...3)
        harness.offer(partition: 1, offsets: 0...0)
        writer.release()
        harness.runner.drain()

        #expect(harness.fenced.count == 1 && harness.fenced.first?.1 == nil)
        #expect(harness.runner.bufferedCount == 1)
        writer.respond = ScriptedBatchWriter.commitEverything
        harness.runner.flush(wait: true)
        let second = try #require(writer.batches.last)
        #expect(Self.partitions(of: second) == [1])
        #expect(second.claims.map(\.topicPartition) == [Self.p1])
        #expect(harness.committed == [OffsetClaim(topicPartition: Self.p1, expected: nil, next: 1)])
    }

    @Test func revokeMidBatchDropsItsStagedMessagesAndClaimsNothingForIt() throws {
        let writer = ScriptedBatchWriter()
        let harness = try Harness([writer])
        harness.offer(partition: 0, offsets: 0...2)
        harness.offer(partition: 1, offsets: 0...1)
        harness.runner.revoke(Self.p0)
        #expect(harness.runner.bufferedCount == 2)
        harness.offer(partition: 0, offsets: 3...4)  // no longer ours
        harness.runner.flush(wait: true)

        let batch = try #require(writer.batches.first)
        #expect(Self.partitions(of: batch) == [1])
        #expect(batch.claims == [OffsetClaim(topicPartition: Self.p1, expected: nil, next: 2)])
        #expect(harness.committed.map(\.topicPartition) == [Self.p1])
        #expect(harness.runner.book.slot(of: Self.p0)?.stored == nil)
    }

    @Test func outcomesConfirmOldestFirstEvenWhenALaterWriterFinishesFirst() throws {
        let slow = ScriptedBatchWriter(holding: true)
        let fast = ScriptedBatchWriter()
        let harness = try Harness([slow, fast])
        harness.offer(partition: 0, offsets: 0...1)
        harness.runner.flush(wait: false)
        harness.offer(partition: 0, offsets: 2...3)
        harness.runner.flush(wait: false)
        #expect(fast.waitUntilFinished(1))
        harness.runner.collect()
        #expect(harness.committed.isEmpty, "a later batch must not be confirmed before an earlier one")
        #expect(harness.runner.book.slot(of: Self.p0)?.stored == nil)

        slow.release()
        harness.runner.drain()
        #expect(harness.committed == [OffsetClaim(topicPartition: Self.p0, expected: nil, next: 2),
                                      OffsetClaim(topicPartition: Self.p0, expected: 2, next: 4)])
        #expect(harness.runner.book.slot(of: Self.p0)?.stored == 4)
        #expect(slow.batches.first?.sequence == 0 && fast.batches.first?.sequence == 1)
    }

    @Test func withEveryWriterBusyFlushWaitsForTheOldestBatch() throws {
        let first = ScriptedBatchWriter(holding: true)
        let harness = try Harness([first])
        harness.offer(partition: 0, offsets: 0...0)
        harness.runner.flush(wait: false)
        harness.offer(partition: 0, offsets: 1...1)
        let releaser = TestThread.start { [first] in
            usleep(20_000)
            first.release()
        }
        harness.runner.flush(wait: false)  // blocks until the first batch is back
        releaser.join()
        #expect(harness.committed == [OffsetClaim(topicPartition: Self.p0, expected: nil, next: 1)])
        harness.runner.drain()
        #expect(first.batches.count == 2 && first.batches[1].claims.first?.expected == 1)
    }

    @Test func batchTimeoutSealsByTheManualClock() throws {
        let writer = ScriptedBatchWriter()
        let harness = try Harness([writer], batchTimeoutMilliseconds: 1_000)
        harness.offer(partition: 1, offsets: 0...0)
        harness.runner.flushIfDue()
        #expect(harness.runner.millisecondsUntilDue == 1_000)

        harness.clock.advance(milliseconds: 999)
        harness.runner.flushIfDue()
        #expect(harness.runner.bufferedCount == 1 && harness.runner.millisecondsUntilDue == 1)

        harness.clock.advance(milliseconds: 1)
        harness.runner.flushIfDue()
        #expect(harness.runner.bufferedCount == 0)
        harness.runner.drain()
        #expect(writer.batches.count == 1 && writer.batches[0].rows.count == 1)
        #expect(harness.committed == [OffsetClaim(topicPartition: Self.p1, expected: nil, next: 1)])
    }

    @Test func aFailedBatchStopsFurtherWritesAndConfirmsNothing() throws {
        let writer = ScriptedBatchWriter()
        writer.respond = { _ in
            var outcome = WriteOutcome()
            outcome.failure = SinkFailure("relation does not exist")
            return outcome
        }
        let harness = try Harness([writer])
        harness.offer(partition: 0, offsets: 0...1)
        harness.runner.flush(wait: true)
        #expect(harness.runner.isFailed && harness.committed.isEmpty)
        harness.offer(partition: 0, offsets: 2...3)
        harness.runner.flush(wait: true)
        #expect(writer.batches.count == 1 && harness.runner.bufferedCount == 0)
    }
}
