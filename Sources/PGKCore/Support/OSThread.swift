#if canImport(Glibc)
import Glibc
#endif

/// A joinable OS thread running one closure: for loops that block in C
/// (poll, waitpid, librdkafka) and so must stay off Swift's cooperative pool.
final class OSThread: @unchecked Sendable {
    private var handle = pthread_t()
    private var joined = false

    /// Starts `body` at once; `name` is for the error when the system
    /// refuses another thread.
    init(name: String, _ body: @escaping () -> Void) throws(RuntimeError) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw RuntimeError("cannot start thread \(name): \(String(cString: strerror(rc)))")
        }
    }

    /// Waits for the closure to return. Call it once, from another thread.
    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(handle, nil)
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
}
