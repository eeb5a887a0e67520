import Testing
@testable import PGKCore

@Suite struct BatcherTests {
    @Test func fillsByCountBytesOrAge() {
        let clock = ManualClock()
        var batcher = Batcher<Int>(maxItems: 3, maxBytes: 100, maxAgeMilliseconds: 50, clock: clock)
        #expect(!batcher.isDue && batcher.millisecondsUntilDue == nil)
        batcher.append(1, bytes: 10)
        clock.advance(milliseconds: 20)
        #expect(!batcher.isDue && batcher.millisecondsUntilDue == 30)
        batcher.append(2, bytes: 10)
        clock.advance(milliseconds: 30)
        #expect(batcher.isDue && !batcher.isFull)
        #expect(batcher.drain() == [1, 2])
        #expect(batcher.isEmpty && batcher.byteCount == 0 && batcher.millisecondsUntilDue == nil)
        batcher.append(3, bytes: 100)
        #expect(batcher.isFull)
        _ = batcher.drain()
        for i in 0..<3 { batcher.append(i) }
        #expect(batcher.isFull && batcher.isDue)
    }
}

@Suite struct BackoffTests {
    @Test func growsToTheCapWithJitter() {
        var backoff = Backoff(initialMilliseconds: 100, maximumMilliseconds: 1000)
        let delays = (0..<8).map { _ in backoff.nextDelayMilliseconds() }
        #expect((80...120).contains(delays[0]))
        #expect((160...240).contains(delays[1]))
        #expect(delays.suffix(3).allSatisfy { (800...1000).contains($0) })
        backoff.reset()
        #expect((80...120).contains(backoff.nextDelayMilliseconds()))
    }

    @Test func retryRetriesOnlyWhatIsRetryable() throws {
        struct Flaky: Error {}
        struct Fatal: Error {}
        var attempts = 0
        let value = try Retry.run("flaky thing", stop: StopToken(), backoff: Backoff(initialMilliseconds: 1, maximumMilliseconds: 2),
                                  isRetryable: { $0 is Flaky }) { () throws -> Int in
            attempts += 1
            if attempts < 3 { throw Flaky() }
            return 42
        }
        #expect(value == 42 && attempts == 3)
        attempts = 0
        #expect(throws: Fatal.self) {
            try Retry.run("fatal thing", stop: StopToken(), isRetryable: { $0 is Flaky }) { () throws -> Int in
                attempts += 1
                throw Fatal()
            }
        }
        #expect(attempts == 1)
    }

    @Test func aStopEndsTheRetryLoop() {
        struct Flaky: Error {}
        let stop = StopToken()
        stop.stop()
        #expect(throws: Flaky.self) {
            try Retry.run("stopped thing", stop: stop, isRetryable: { _ in true }) { () throws -> Int in throw Flaky() }
        }
    }
}
