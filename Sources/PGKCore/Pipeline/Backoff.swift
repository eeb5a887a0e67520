/// Exponential backoff with jitter, for reconnecting to a broker or a
/// database that went away. Outages are retried, logged and survived;
/// only the caller decides what is not retryable.
struct Backoff: Sendable {
    var initialMilliseconds: Int
    var maximumMilliseconds: Int
    /// The random spread, as a fraction of the delay, so several instances
    /// don't retry in lockstep; 0 makes delays exact (for tests).
    var jitter: Double
    private(set) var attempt = 0

    init(initialMilliseconds: Int = 250, maximumMilliseconds: Int = 30_000, jitter: Double = 0.2) {
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
        self.jitter = jitter
    }

    /// The next pause: doubling from the initial value up to the maximum,
    /// give or take `jitter`.
    mutating func nextDelayMilliseconds() -> Int {
        let exponent = min(attempt, 20)
        attempt += 1
        let base = min(maximumMilliseconds, initialMilliseconds << exponent)
        let spread = jitter > 0 ? Int(Double(base) * Double.random(in: -jitter...jitter)) : 0
        return max(1, min(maximumMilliseconds, base + spread))
    }

    mutating func reset() { attempt = 0 }
}

/// The one retry policy: a failure that may go away (`isTransient`) is
/// logged and retried after a backoff pause; a stop request ends the wait.
/// Loops with a shape of their own (a batch transaction, a replication
/// reconnect) keep a `Retry` and call `pause`; single calls use `run`.
struct Retry {
    /// Waits between attempts. By default the stop token's interruptible
    /// sleep; tests pass one that advances a `ManualClock`, the WAL one that
    /// keeps serving Kafka's delivery reports meanwhile.
    typealias Sleep = (_ milliseconds: Int) throws -> Void

    private(set) var backoff: Backoff
    let stop: StopToken
    private let sleep: Sleep

    init(stop: StopToken, backoff: Backoff = Backoff(), sleep: Sleep? = nil) {
        self.stop = stop
        self.backoff = backoff
        self.sleep = sleep ?? { _ = stop.sleep(milliseconds: $0) }
    }

    /// True when retrying may succeed: a broken database connection, an
    /// unreachable broker or schema registry.
    static func isTransient(_ error: Error) -> Bool {
        switch error {
        case let error as PostgresError: return error.isTransient
        case let error as KafkaError: return error.isTransient
        case let error as RegistryError: return error.isTransient
        default: return false
        }
    }

    /// After a success: the next failure pauses briefly again.
    mutating func reset() { backoff.reset() }

    /// Logs `describe(delay)` and waits the next backoff delay. False when
    /// stopped, before or during the wait: the caller gives up then.
    mutating func pause(_ describe: (_ delay: String) -> String) throws -> Bool {
        if stop.isStopped { return false }
        let delay = backoff.nextDelayMilliseconds()
        Log.warning(describe(Retry.formatDuration(delay)))
        try sleep(delay)
        return !stop.isStopped
    }

    /// Runs `body` until it succeeds, retrying errors that `isRetryable`
    /// accepts after a pause and a log line naming `what` failed. A stop
    /// request ends the wait and rethrows the last error. `onRetry` runs
    /// before each new attempt (to drop a broken connection, say).
    mutating func run<T>(_ what: String, isRetryable: (Error) -> Bool = Retry.isTransient,
                                onRetry: (Error) -> Void = { _ in }, _ body: () throws -> T) throws -> T {
        while true {
            do {
                return try body()
            } catch {
                guard isRetryable(error), try pause({ "\(what) failed, retrying in \($0): \(error)" }) else {
                    throw error
                }
                onRetry(error)
            }
        }
    }

    /// `run` with a fresh policy.
    static func run<T>(_ what: String, stop: StopToken, backoff: Backoff = Backoff(),
                              isRetryable: (Error) -> Bool = Retry.isTransient, onRetry: (Error) -> Void = { _ in },
                              _ body: () throws -> T) throws -> T {
        var retry = Retry(stop: stop, backoff: backoff)
        return try retry.run(what, isRetryable: isRetryable, onRetry: onRetry, body)
    }

    static func formatDuration(_ milliseconds: Int) -> String {
        milliseconds < 1000 ? "\(milliseconds) ms" : "\(Double(milliseconds / 100) / 10) s"
    }
}
