/// Exponential backoff with jitter, for reconnecting to a broker or a
/// database that went away. Outages are retried, logged and survived;
/// only the caller decides what is not retryable.
public struct Backoff: Sendable {
    public var initialMilliseconds: Int
    public var maximumMilliseconds: Int
    public private(set) var attempt = 0

    public init(initialMilliseconds: Int = 250, maximumMilliseconds: Int = 30_000) {
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
    }

    /// The next pause: doubling from the initial value up to the maximum,
    /// with ±20% jitter so several instances don't retry in lockstep.
    public mutating func nextDelayMilliseconds() -> Int {
        let exponent = min(attempt, 20)
        attempt += 1
        let base = min(maximumMilliseconds, initialMilliseconds << exponent)
        let jitter = Int(Double(base) * Double.random(in: -0.2...0.2))
        return max(1, min(maximumMilliseconds, base + jitter))
    }

    public mutating func reset() { attempt = 0 }
}

public enum Retry {
    /// Runs `body` until it succeeds, retrying errors that `isRetryable`
    /// accepts after a backoff pause and a log line naming `what` failed.
    /// A stop request ends the wait and rethrows the last error.
    public static func run<T>(_ what: String, stop: StopToken, backoff: Backoff = Backoff(),
                              isRetryable: (Error) -> Bool, onRetry: (Error) -> Void = { _ in },
                              _ body: () throws -> T) throws -> T {
        var backoff = backoff
        while true {
            do {
                return try body()
            } catch {
                guard isRetryable(error), !stop.isStopped else { throw error }
                let delay = backoff.nextDelayMilliseconds()
                Log.warning("\(what) failed, retrying in \(formatDuration(delay)): \(error)")
                onRetry(error)
                if !stop.sleep(milliseconds: delay) { throw error }
            }
        }
    }

    static func formatDuration(_ milliseconds: Int) -> String {
        milliseconds < 1000 ? "\(milliseconds) ms" : "\(Double(milliseconds / 100) / 10) s"
    }
}
