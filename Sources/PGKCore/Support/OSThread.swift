#if canImport(Glibc)
import Glibc
#endif

/// A joinable OS thread running one closure: for loops that block in C
/// (poll, waitpid, librdkafka) and so must stay off Swift's cooperative pool.
final class OSThread: @unchecked Sendable {
    private var handle = pthread_t()
    private var joined = false

    /// Starts `body` at once, on a thread called `name` (in `top -H`,
    /// `perf` and gdb; also in the error when the system refuses another thread).
    init(name: String, _ body: @escaping () -> Void) throws(RuntimeError) {
        let box = Unmanaged.passRetained(Body(body, name: name)).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            OSThread.nameCurrentThread(body.name)
            body.run()
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
        let name: String
        init(_ run: @escaping () -> Void, name: String) {
            self.run = run
            self.name = name
        }
    }

    /// Names the calling thread: its first 15 bytes, all Linux keeps.
    /// Swift's Glibc module leaves pthread_setname_np out (it is a GNU
    /// extension), so it is looked up; without it, threads stay unnamed.
    static func nameCurrentThread(_ name: String) {
        typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
        guard let symbol = dlsym(nil, "pthread_setname_np") else { return }
        let setName = unsafeBitCast(symbol, to: SetName.self)
        let bytes = Array(name.utf8.prefix(15)).map { CChar(bitPattern: $0) } + [0]
        _ = setName(pthread_self(), bytes)
    }
}
