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

    @Test func withoutJitterTheDelaysDoubleExactly() {
        var backoff = Backoff(initialMilliseconds: 100, maximumMilliseconds: 1000, jitter: 0)
        #expect((0..<6).map { _ in backoff.nextDelayMilliseconds() } == [100, 200, 400, 800, 1000, 1000])
    }

    /// The pauses run on an injected sleeper: a manual clock moves, no
    /// real time passes.
    @Test func retryPausesOnTheInjectedClock() throws {
        struct Flaky: Error {}
        let clock = ManualClock()
        var slept: [Int] = []
        var retry = Retry(stop: StopToken(), backoff: Backoff(initialMilliseconds: 100, maximumMilliseconds: 1000, jitter: 0),
                          sleep: { slept.append($0); clock.advance(milliseconds: Int64($0)) })
        var attempts = 0
        var retries = 0
        let value = try retry.run("flaky thing", isRetryable: { $0 is Flaky }, onRetry: { _ in retries += 1 }) { () throws -> Int in
            attempts += 1
            if attempts < 5 { throw Flaky() }
            return 7
        }
        #expect(value == 7 && attempts == 5 && retries == 4)
        #expect(slept == [100, 200, 400, 800] && clock.nowMilliseconds == 1500)
        retry.reset()
        #expect(try retry.pause { "again in \($0)" } && slept.last == 100)
    }

    @Test func aStopDuringThePauseRethrowsTheLastError() throws {
        struct Flaky: Error {}
        let stop = StopToken()
        var retry = Retry(stop: stop, backoff: Backoff(initialMilliseconds: 1, jitter: 0), sleep: { _ in stop.stop() })
        var attempts = 0
        #expect(throws: Flaky.self) {
            try retry.run("stopped thing", isRetryable: { _ in true }) { () throws -> Int in
                attempts += 1
                throw Flaky()
            }
        }
        #expect(attempts == 1)
        #expect(try !retry.pause { "no wait in \($0)" }, "stopped: no pause, the caller gives up")
    }

    @Test func transientErrorsAreClassifiedInOnePlace() {
        struct Other: Error {}
        #expect(Retry.isTransient(PostgresError(message: "gone", connectionLost: true)))
        #expect(Retry.isTransient(PostgresError(message: "shutting down", sqlState: "57P01")))
        #expect(!Retry.isTransient(PostgresError(message: "duplicate key", sqlState: "23505")))
        #expect(!Retry.isTransient(PostgresError(message: "serialization", sqlState: "40001")))
        #expect(PostgresError(message: "deadlock", sqlState: "40P01").isSerializationFailure)
        #expect(Retry.isTransient(KafkaError.unknownTopic("t", operation: "x")) == false)
        #expect(Retry.isTransient(RegistryError(.timeout, url: "http://r", "slow")))
        #expect(!Retry.isTransient(RegistryError(.registry(status: 404, code: 40403), url: "http://r", "no such id")))
        #expect(!Retry.isTransient(Other()))
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
