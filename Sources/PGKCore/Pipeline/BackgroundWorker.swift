#if canImport(Glibc)
import Glibc
#endif

/// One OS thread that runs one job at a time, so a producer stage can
/// prepare the next job while this one runs (double buffering) with at
/// most one job in flight. Blocking work (libpq, librdkafka) runs here and
/// never on Swift's cooperative pool.
///
///     let worker = BackgroundWorker<Batch, Outcome>(name: "writer") { write($0) }
///     if let done = worker.wait() { handle(done) }  // the previous job
///     worker.start(next)
///     …
///     worker.shutdown()
final class BackgroundWorker<Job, Output>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var thread: OSThread?
    private var job: Job?
    private var output: Output?
    private var busy = false
    private var stopping = false
    private let body: (Job) -> Output

    init(name: String, body: @escaping (Job) -> Output) {
        self.body = body
        launch(name)
    }

    private func launch(_ name: String) {
        do { thread = try OSThread(name: name) { self.loop() } } catch { preconditionFailure("\(error)") }
    }

    private func loop() {
        while true {
            let next: Job? = lock.withLock(when: { job != nil || stopping }) {
                defer { job = nil }
                return job
            }
            guard let next else { return }
            let result = body(next)
            lock.withLock {
                output = result
                busy = false
                lock.broadcast()
            }
        }
    }

    /// True while a job is queued or running.
    var isBusy: Bool { lock.withLock { busy } }

    /// Hands a job over. Call `wait()` first: only one job may be in flight.
    func start(_ next: Job) {
        lock.withLock {
            precondition(!busy && !stopping, "BackgroundWorker.start while busy or stopped")
            job = next
            busy = true
            lock.broadcast()
        }
    }

    /// Blocks until the job in flight (if any) is done and returns its
    /// output; nil when there was none to collect.
    func wait() -> Output? {
        lock.withLock(when: { !busy }) {
            defer { output = nil }
            return output
        }
    }

    /// Like `wait()`, but gives up after `milliseconds`: nil both when the
    /// job is still running (`isBusy`) and when there was none.
    func wait(milliseconds: Int) -> Output? {
        lock.withLock {
            if busy { lock.wait(milliseconds: milliseconds) }
            guard !busy else { return nil }
            defer { output = nil }
            return output
        }
    }

    /// The finished job's output, without blocking; nil while it runs or
    /// when there is nothing to collect.
    func poll() -> Output? {
        lock.withLock {
            guard !busy else { return nil }
            defer { output = nil }
            return output
        }
    }

    /// Waits for the job in flight, then ends the thread.
    func shutdown() {
        lock.withLock(when: { !busy }) {
            stopping = true
            lock.broadcast()
        }
        thread?.join()
        thread = nil
    }
}
