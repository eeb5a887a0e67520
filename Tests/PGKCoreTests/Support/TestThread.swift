#if canImport(Glibc)
import Glibc
#endif

/// A plain OS thread for tests that need something to happen while the
/// test's own thread is blocked (a NOTIFY during a wait, a stop()).
/// Blocking work stays off Swift's cooperative pool.
final class TestThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    private init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    /// Starts `body` now; call `join()` before the test ends.
    static func start(_ body: @escaping @Sendable () -> Void) -> TestThread {
        let box = TestThread(body)
        let retained = Unmanaged.passRetained(box).toOpaque()
        let rc = pthread_create(&box.thread, nil, { raw in
            let box = Unmanaged<TestThread>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, retained)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        return box
    }

    func join() { pthread_join(thread, nil) }
}
