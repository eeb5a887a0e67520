#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// `--worker CMD`: one long-lived process per lane that speaks pgk's line
/// protocol. pgk writes one message per line to its stdin (the line
/// `--output` renders); the worker answers each on its stdout, in the
/// order received, with one line: `ok` when done, anything else (say
/// `error no such customer`) when it failed, the text becoming the
/// failure's reason. Up to `window` messages are in flight, so the pipe
/// never runs dry.
///
/// A failure, a worker that dies, or one that stays silent past
/// `--timeout` (it is then killed and restarted) fails the oldest message
/// in flight. That message is retried before anything after it: the ones
/// already sent are sent again after it (their first answers are
/// ignored), so the last time each message is handled follows partition
/// order. Duplicates are possible; loss and reordering are not.
final class WorkerLane: HandlerLane, @unchecked Sendable {
    let queue: JobQueue
    private let index: Int
    private let command: String
    private let environment: [String: String]
    private let policy: HandlerPolicy
    private let completions: HandlerCompletions
    private let window: Int
    private let wakeup: Wakeup
    private let status = Mutex<String?>(nil)
    private var thread: OSThread?

    init(index: Int, count: Int, command: String, environment: [String: String], policy: HandlerPolicy,
         completions: HandlerCompletions, window: Int = 64, capacity: Int = 1_024) throws {
        let wakeup = try Wakeup()
        self.wakeup = wakeup
        queue = JobQueue(capacity: capacity) { wakeup.signal() }
        self.index = index
        self.command = command
        var environment = environment
        environment["PGK_WORKER"] = String(index)
        environment["PGK_WORKERS"] = String(count)
        self.environment = environment
        self.policy = policy
        self.completions = completions
        self.window = window
        thread = try OSThread(name: "worker lane \(index)") { [unowned self] in
            var session = WorkerSession(lane: self)
            session.run()
        }
    }

    var problem: String? { status.withLock { $0 } }

    func join() { thread?.join() }

    fileprivate func setProblem(_ text: String?) { status.withLock { $0 = text } }

    /// The lane's state, owned by its thread.
    private struct WorkerSession {
        let lane: WorkerLane
        var process: WorkerProcess?
        var inFlight: [(job: HandlerJob, sentAt: Int64)] = []
        /// Answers still owed for messages that were sent again after a failure.
        var ignoredAnswers = 0
        var pendingOutput: [UInt8] = []
        var pendingLine: [UInt8] = []
        /// After a failure or a crash nothing is sent before this time.
        var resumeAt: Int64 = 0
        var lastAnswerAt: Int64 = 0
        var answeredWhileClosing = false
        var finished: [HandlerOutcome] = []
        let clock = SystemClock.shared

        init(lane: WorkerLane) { self.lane = lane }

        mutating func run() {
            defer {
                // With nothing in flight the worker may end by itself on EOF;
                // otherwise it is on a message it will not be waited for.
                if inFlight.isEmpty && ignoredAnswers == 0 { process?.stop(graceMilliseconds: 5_000) } else { process?.terminate() }
                // What the worker did not answer is delivered again later.
                lane.completions.add(inFlight.map { .abandoned($0.job) } + drainQueue())
            }
            while true {
                let closing = lane.queue.closed
                // Stopping: the message the worker is on finishes, the ones
                // queued behind it in its pipe are not waited for.
                if closing && (inFlight.isEmpty || answeredWhileClosing) { return }
                if process == nil {
                    if clock.nowMilliseconds < resumeAt { waitForResume(); continue }
                    guard start() else { continue }
                }
                if !closing { fill() }
                exchange()
                lane.completions.add(finished)
                finished.removeAll(keepingCapacity: true)
            }
        }

        private func drainQueue() -> [HandlerOutcome] {
            lane.queue.drop { _ in true }.map { .abandoned($0) }
        }

        private mutating func waitForResume() {
            var descriptor = pollfd(fd: lane.wakeup.descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, Int32(clamping: max(1, resumeAt - clock.nowMilliseconds)))
            lane.wakeup.drain()
            if lane.queue.closed { resumeAt = 0 }
        }

        private mutating func start() -> Bool {
            do {
                process = try WorkerProcess(command: lane.command, environment: lane.environment)
                lastAnswerAt = clock.nowMilliseconds
                return true
            } catch {
                lane.setProblem("worker \(lane.index) cannot start: \(error)")
                Log.warning("subscribe: worker \(lane.index) cannot start: \(error)")
                resumeAt = clock.nowMilliseconds + max(lane.policy.backoffMilliseconds, 100)
                return false
            }
        }

        /// Moves queued messages into the pipe while the window has room.
        private mutating func fill() {
            let now = clock.nowMilliseconds
            guard now >= resumeAt else { return }
            while inFlight.count < lane.window, let job = lane.queue.take(wait: false) {
                inFlight.append((job, now))
                pendingOutput += job.input
            }
        }

        /// One poll round: write what is pending, read answers, enforce the timeout.
        private mutating func exchange() {
            guard let process else { return }
            let now = clock.nowMilliseconds
            var wait: Int64 = 1_000
            if let deadline = deadline { wait = min(wait, max(0, deadline - now)) }
            if resumeAt > now { wait = min(wait, resumeAt - now) }
            var descriptors = [
                pollfd(fd: lane.wakeup.descriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: process.output, events: Int16(POLLIN), revents: 0),
                pollfd(fd: pendingOutput.isEmpty ? -1 : process.input, events: Int16(POLLOUT), revents: 0),
            ]
            _ = poll(&descriptors, nfds_t(descriptors.count), Int32(clamping: wait))
            if descriptors[0].revents != 0 { lane.wakeup.drain() }
            if descriptors[2].revents != 0 { write(process) }
            if descriptors[1].revents != 0 {
                switch process.read() {
                case .bytes(let bytes): answer(bytes)
                case .closed: crashed(reason: nil)
                case .nothing: break
                }
            }
            if let deadline, clock.nowMilliseconds >= deadline, self.process != nil {
                crashed(reason: "timed out after \(lane.policy.timeoutMilliseconds ?? 0) ms and was killed")
            }
        }

        /// When the oldest message in flight times out: `--timeout` after it
        /// was sent or after the previous answer, whichever is later.
        private var deadline: Int64? {
            guard let timeout = lane.policy.timeoutMilliseconds, let first = inFlight.first else { return nil }
            return max(first.sentAt, lastAnswerAt) + timeout
        }

        private mutating func write(_ process: WorkerProcess) {
            let written = pendingOutput.withUnsafeBytes { Glibc.write(process.input, $0.baseAddress, $0.count) }
            if written > 0 { pendingOutput.removeFirst(written) }
            // EPIPE: the worker is gone; reading its stdout tells how.
        }

        private mutating func answer(_ bytes: ArraySlice<UInt8>) {
            var start = bytes.startIndex
            while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                pendingLine += bytes[start..<newline]
                start = newline + 1
                var line = String(decoding: pendingLine, as: UTF8.self)
                pendingLine.removeAll(keepingCapacity: true)
                if line.hasSuffix("\r") { line.removeLast() }
                let previousAnswerAt = lastAnswerAt
                lastAnswerAt = clock.nowMilliseconds
                if ignoredAnswers > 0 { ignoredAnswers -= 1; continue }
                guard !inFlight.isEmpty else {
                    Log.warning("subscribe: worker \(lane.index) answered a message it was not sent: \(line.prefix(200))")
                    crashed(reason: "broke the protocol (an answer too many) and was restarted")
                    return
                }
                let (job, sentAt) = inFlight.removeFirst()
                if lane.queue.closed { answeredWhileClosing = true }
                if line == "ok" || line.hasPrefix("ok ") {
                    lane.setProblem(nil)
                    let began = max(sentAt, previousAnswerAt)
                    finished.append(.done(job, seconds: Double(lastAnswerAt - began) / 1000))
                } else {
                    failed(job, status: "worker \(lane.index) answered: \(line.prefix(200))",
                           detail: String(line.prefix(ExecHandler.stderrTailBytes)))
                }
            }
            pendingLine += bytes[start...]
        }

        /// The worker exited, timed out or broke the protocol: the oldest
        /// message in flight fails, the others are sent again to a new worker.
        private mutating func crashed(reason: String?) {
            guard let process else { return }
            // Without a reason it closed its stdout, so it is exiting: let it, to report how.
            let termination = process.stop(graceMilliseconds: reason == nil ? 2_000 : 0)
            self.process = nil
            pendingOutput.removeAll()
            pendingLine.removeAll()
            ignoredAnswers = 0
            let why = reason ?? termination.description
            lane.setProblem("worker \(lane.index) \(why); restarting")
            Log.warning("subscribe: worker \(lane.index) \(why); restarting it")
            resumeAt = clock.nowMilliseconds + min(lane.policy.backoffMilliseconds, 5_000)
            guard !inFlight.isEmpty else { return }
            let job = inFlight.removeFirst().job
            failed(job, status: "worker \(lane.index) \(why)", detail: "")
        }

        /// Retries `job` (and re-sends what followed it) or gives up on it.
        private mutating func failed(_ job: HandlerJob, status: String, detail: String) {
            var job = job
            job.attempts.append(.init(status: status, stderrTail: detail, atMilliseconds: unixMilliseconds()))
            let followers = inFlight.map(\.job)
            if process != nil { ignoredAnswers += followers.count }
            inFlight.removeAll()
            let final = job.attempts.count > lane.policy.retries
            if final && lane.policy.stopOnFailure { lane.queue.close() }
            let closing = lane.queue.closed
            if !final && !closing {
                Log.warning("subscribe: \(status) for \(job.place); retry \(job.attempts.count) of "
                    + "\(lane.policy.retries) in \(lane.policy.backoffMilliseconds) ms")
                lane.queue.requeue([job] + followers)
                resumeAt = max(resumeAt, clock.nowMilliseconds + lane.policy.backoffMilliseconds)
            } else {
                finished.append(final ? .failed(job) : .abandoned(job))
                if closing { finished += followers.map { .abandoned($0) } } else { lane.queue.requeue(followers) }
            }
        }
    }
}

/// A worker process and our ends of its stdin and stdout pipes.
final class WorkerProcess {
    enum Read { case bytes(ArraySlice<UInt8>), closed, nothing }

    private(set) var input: Int32
    let output: Int32
    private let child: ChildProcess
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var stopped: ChildProcess.Termination?

    init(command: String, environment: [String: String]) throws {
        let toWorker = try Self.pipePair()
        let fromWorker: [Int32]
        do { fromWorker = try Self.pipePair() } catch {
            close(toWorker[0]); close(toWorker[1])
            throw error
        }
        defer { close(toWorker[0]); close(fromWorker[1]) }
        do {
            // Its own process group, so a timeout kills what the shell started too.
            child = try ChildProcess.spawn("/bin/sh", ["-c", command], environment: environment,
                                           stdin: .descriptor(toWorker[0]), stdout: .descriptor(fromWorker[1]),
                                           stderr: .inherit, newProcessGroup: true)
        } catch {
            close(toWorker[1]); close(fromWorker[0])
            throw error
        }
        input = toWorker[1]
        output = fromWorker[0]
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
        _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        stop(graceMilliseconds: 0)
        close(output)
    }

    /// A pipe whose ends are close-on-exec (the spawn dups what the child gets).
    static func pipePair() throws -> [Int32] {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw RuntimeError("pipe: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return ends
    }

    func read() -> Read {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress, $0.count) }
        if count > 0 { return .bytes(buffer[0..<count]) }
        if count == 0 { return .closed }
        return errno == EAGAIN || errno == EINTR ? .nothing : .closed
    }

    /// Ends a worker that is busy: SIGTERM to its process group, SIGKILL
    /// after two seconds.
    func terminate() {
        guard stopped == nil, child.poll() == nil else { return }
        _ = kill(-child.pid, SIGTERM)
        stop(graceMilliseconds: 2_000)
    }

    /// Ends the worker: its stdin is closed, so a well-behaved worker exits
    /// by itself; after `graceMilliseconds` its process group gets SIGKILL.
    @discardableResult
    func stop(graceMilliseconds: Int) -> ChildProcess.Termination {
        if let stopped { return stopped }
        if input >= 0 {
            close(input)
            input = -1
        }
        if let done = child.wait(timeoutMilliseconds: graceMilliseconds) {
            stopped = done
            return done
        }
        _ = kill(-child.pid, SIGKILL)
        let done = child.wait() ?? .signaled(SIGKILL)
        stopped = done
        return done
    }
}

/// A self-pipe that wakes a thread blocked in poll(2).
final class Wakeup: @unchecked Sendable {
    let descriptor: Int32
    private let writeEnd: Int32

    init() throws {
        let ends = try WorkerProcess.pipePair()
        descriptor = ends[0]
        writeEnd = ends[1]
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        close(descriptor)
        close(writeEnd)
    }

    /// A full pipe already means "wake up", so a failed write is fine.
    func signal() {
        var byte: UInt8 = 1
        _ = Glibc.write(writeEnd, &byte, 1)
    }

    func drain() {
        var scratch = [UInt8](repeating: 0, count: 256)
        while scratch.withUnsafeMutableBytes({ Glibc.read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
    }
}
