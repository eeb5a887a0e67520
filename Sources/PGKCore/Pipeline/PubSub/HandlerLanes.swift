/// The parts `pgk subscribe` hands messages to handlers with: a lane is one
/// thread with its own queue that handles its messages strictly in order
/// (an `--exec` process per message, or one `--worker` process), retrying
/// a failure before it takes the next. The consumer thread routes each
/// message to a lane by partition (or key), so that order holds per
/// partition (or key) while `--concurrency` lanes run side by side, and
/// reads what became of each message from `HandlerCompletions`.

/// One accepted message on its way through a lane.
struct HandlerJob: Sendable {
    /// The original record: the dead-letter topic gets it unchanged.
    var message: KafkaMessage
    var schema: String
    /// What the handler reads: the rendered line, newline included.
    var input: [UInt8]
    /// Each failed attempt so far, for retries and the dead letter.
    var attempts: [DeadLetterPublisher.Attempt] = []

    var topicPartition: KafkaTopicPartition { message.topicPartition }
    var place: String { "\(message.topic)[\(message.partition)] offset \(message.offset)" }
}

/// What became of a job; the consumer thread acts on it.
enum HandlerOutcome: Sendable {
    /// Handled; `seconds` is the successful attempt's duration.
    case done(HandlerJob, seconds: Double)
    /// Every attempt failed (`attempts` holds each one).
    case failed(HandlerJob)
    /// Not handled by this process (stopping, or its lane was closed while
    /// it waited for a retry): it must be delivered again, so it is never
    /// committed past.
    case abandoned(HandlerJob)

    var job: HandlerJob {
        switch self {
        case .done(let job, _), .failed(let job), .abandoned(let job): return job
        }
    }
}

/// How a lane treats failures.
struct HandlerPolicy: Sendable {
    var retries = 0
    var backoffMilliseconds: Int64 = 1_000
    /// Per message; nil waits for ever.
    var timeoutMilliseconds: Int64?
    /// `--on-error stop`: after a message fails for good the lane takes no
    /// more (the run is ending without committing past it).
    var stopOnFailure = false
}

/// Lanes report here; the consumer thread takes the reports in batches.
final class HandlerCompletions: @unchecked Sendable {
    private let lock = ConditionLock()
    private var outcomes: [HandlerOutcome] = []

    func add(_ outcome: HandlerOutcome) { add([outcome]) }

    func add(_ batch: [HandlerOutcome]) {
        guard !batch.isEmpty else { return }
        lock.withLock {
            outcomes += batch
            lock.broadcast()
        }
    }

    /// Everything reported so far, waiting up to `milliseconds` for the first.
    func take(waitingUpTo milliseconds: Int) -> [HandlerOutcome] {
        lock.withLock {
            if outcomes.isEmpty && milliseconds > 0 { lock.wait(milliseconds: milliseconds) }
            defer { outcomes.removeAll(keepingCapacity: true) }
            return outcomes
        }
    }
}

/// A lane's bounded inbox. `offer` refuses when full, so the consumer
/// thread keeps serving completions (and stops fetching) instead of
/// blocking; requeued jobs go back to the front regardless of the bound.
final class JobQueue: @unchecked Sendable {
    let capacity: Int
    private let lock = ConditionLock()
    private var jobs: [HandlerJob] = []
    private var head = 0
    private var isClosed = false
    /// Called after a job arrives or the queue closes (a worker lane's poll wake-up).
    private let wake: @Sendable () -> Void

    init(capacity: Int, wake: @escaping @Sendable () -> Void = {}) {
        self.capacity = capacity
        self.wake = wake
    }

    var count: Int { lock.withLock { jobs.count - head } }
    var closed: Bool { lock.withLock { isClosed } }

    func offer(_ job: HandlerJob) -> Bool {
        let accepted = lock.withLock { () -> Bool in
            guard !isClosed, jobs.count - head < capacity else { return false }
            jobs.append(job)
            lock.broadcast()
            return true
        }
        if accepted { wake() }
        return accepted
    }

    /// Puts jobs back before everything queued, in their order.
    func requeue(_ returned: [HandlerJob]) {
        guard !returned.isEmpty else { return }
        lock.withLock {
            jobs = returned + jobs[head...]
            head = 0
        }
    }

    /// The next job; with `wait`, blocks until there is one. nil once the
    /// queue is closed: what is left in it is for the closer to drop.
    func take(wait: Bool) -> HandlerJob? {
        lock.withLock {
            while wait && head == jobs.count && !isClosed { lock.wait() }
            guard head < jobs.count, !isClosed else { return nil }
            let job = jobs[head]
            head += 1
            if head > 256 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    /// Removes the queued jobs `matching` says to and returns them.
    func drop(where matching: (HandlerJob) -> Bool) -> [HandlerJob] {
        lock.withLock {
            let remaining = jobs[head...]
            let dropped = remaining.filter(matching)
            guard !dropped.isEmpty else { return [] }
            jobs = remaining.filter { !matching($0) }
            head = 0
            return dropped
        }
    }

    /// No more jobs will come: `take(wait:)` returns nil once it is empty.
    func close() {
        lock.withLock {
            isClosed = true
            lock.broadcast()
        }
        wake()
    }

    /// Sleeps up to `milliseconds` unless the queue is closed first;
    /// false when it was closed (a retry is then abandoned).
    func pause(milliseconds: Int64) -> Bool {
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + milliseconds
        return lock.withLock {
            while !isClosed {
                let left = deadline - clock.nowMilliseconds
                if left <= 0 { return true }
                lock.wait(milliseconds: Int(min(left, 1_000)))
            }
            return false
        }
    }
}

/// One lane: a thread and its queue.
protocol HandlerLane: AnyObject, Sendable {
    var queue: JobQueue { get }
    /// nil while the lane can handle messages, else why not (for /healthz).
    var problem: String? { get }
    /// Waits for the lane's thread after `queue.close()`: the job in hand
    /// finishes (within the timeout), queued ones must have been dropped.
    func join()
}

/// Which lane a message goes to. Hashes are stable (FNV-1a), so a key
/// always lands on the same lane.
enum LaneOrder: String, CaseIterable, Sendable {
    case partition, key

    func lane(for message: KafkaMessage, lanes: Int) -> Int {
        guard lanes > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        if self == .key, let key = message.key {
            mix(key)
        } else {
            mix(message.topic.utf8)
            mix(withUnsafeBytes(of: message.partition.littleEndian) { Array($0) })
        }
        return Int(hash % UInt64(lanes))
    }
}

/// `--exec`: one process per message, on the lane's thread.
final class ExecLane: HandlerLane, @unchecked Sendable {
    let queue: JobQueue
    private let handler: ExecHandler
    private let policy: HandlerPolicy
    private let completions: HandlerCompletions
    private var thread: OSThread?

    init(index: Int, handler: ExecHandler, policy: HandlerPolicy, completions: HandlerCompletions,
         capacity: Int = 16) throws {
        queue = JobQueue(capacity: capacity)
        self.handler = handler
        self.policy = policy
        self.completions = completions
        thread = try OSThread(name: "exec lane \(index)") { [unowned self] in
            while let job = queue.take(wait: true) {
                let outcome = handle(job)
                if case .failed = outcome, policy.stopOnFailure { queue.close() }
                completions.add(outcome)
            }
        }
    }

    var problem: String? { nil }

    func join() { thread?.join() }

    private func handle(_ job: HandlerJob) -> HandlerOutcome {
        var job = job
        while true {
            let started = ContinuousClock.now
            let outcome: ExecHandler.Outcome
            do {
                outcome = try handler.run(ExecHandler.Message(
                    topic: job.message.topic, partition: job.message.partition, offset: job.message.offset,
                    key: job.message.key, schema: job.schema, input: job.input))
            } catch {
                outcome = .failed(status: "could not start: \(error)", stderrTail: "")
            }
            switch outcome {
            case .done:
                return .done(job, seconds: (ContinuousClock.now - started).seconds)
            case .failed(let status, let stderrTail):
                job.attempts.append(.init(status: status, stderrTail: stderrTail, atMilliseconds: unixMilliseconds()))
                guard job.attempts.count <= policy.retries else { return .failed(job) }
                Log.warning("subscribe: handler \(status) for \(job.place); retry \(job.attempts.count) of "
                    + "\(policy.retries) in \(policy.backoffMilliseconds) ms")
                guard queue.pause(milliseconds: policy.backoffMilliseconds) else { return .abandoned(job) }
            }
        }
    }
}
