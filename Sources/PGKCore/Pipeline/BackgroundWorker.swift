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
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var thread = pthread_t()
    private var job: Job?
    private var output: Output?
    private var busy = false
    private var stopping = false
    private var started = false
    private let body: (Job) -> Output

    init(name: String, body: @escaping (Job) -> Output) {
        self.body = body
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        launch(name)
    }

    private func launch(_ name: String) {
        // A C thread entry cannot mention generic types; a plain box can.
        let entry = ThreadEntry { self.loop() }
        let retained = Unmanaged.passRetained(entry).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadEntry>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, retained)
        precondition(rc == 0, "pthread_create failed for \(name): \(rc)")
        started = true
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    private func loop() {
        pthread_mutex_lock(&mutex)
        while true {
            while job == nil && !stopping { pthread_cond_wait(&condition, &mutex) }
            guard let next = job else { break }
            job = nil
            pthread_mutex_unlock(&mutex)
            let result = body(next)
            pthread_mutex_lock(&mutex)
            output = result
            busy = false
            pthread_cond_broadcast(&condition)
        }
        pthread_mutex_unlock(&mutex)
    }

    /// True while a job is queued or running.
    var isBusy: Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return busy
    }

    /// Hands a job over. Call `wait()` first: only one job may be in flight.
    func start(_ next: Job) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        precondition(!busy && !stopping, "BackgroundWorker.start while busy or stopped")
        job = next
        busy = true
        pthread_cond_broadcast(&condition)
    }

    /// Blocks until the job in flight (if any) is done and returns its
    /// output; nil when there was none to collect.
    func wait() -> Output? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while busy { pthread_cond_wait(&condition, &mutex) }
        let result = output
        output = nil
        return result
    }

    /// The finished job's output, without blocking; nil while it runs or
    /// when there is nothing to collect.
    func poll() -> Output? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard !busy else { return nil }
        let result = output
        output = nil
        return result
    }

    /// Waits for the job in flight, then ends the thread.
    func shutdown() {
        pthread_mutex_lock(&mutex)
        while busy { pthread_cond_wait(&condition, &mutex) }
        stopping = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
        if started {
            pthread_join(thread, nil)
            started = false
        }
    }
}

private final class ThreadEntry {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
