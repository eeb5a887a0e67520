#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A cooperative stop flag that loops check between bounded waits.
///
/// It also owns a pipe whose read end becomes readable once the token is
/// stopped, so a loop blocked in `poll()` on a socket can include
/// `wakeDescriptor` and wake at once instead of waiting out its timeout.
final class StopToken: @unchecked Sendable {
    private let flag = Atomic<Bool>(false)
    private let pipeRead: Int32
    private let pipeWrite: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 {
            fatalError("pipe failed: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        pipeRead = fds[0]
        pipeWrite = fds[1]
    }

    deinit {
        close(pipeRead)
        close(pipeWrite)
    }

    /// The token that SIGINT and SIGTERM stop, once `installSignalHandlers` ran.
    static let process = StopToken()

    var isStopped: Bool { flag.load(ordering: .acquiring) }

    /// Readable once the token is stopped. Never read from it.
    var wakeDescriptor: Int32 { pipeRead }

    func stop() {
        if !flag.exchange(true, ordering: .acquiringAndReleasing) {
            var byte: UInt8 = 1
            _ = write(pipeWrite, &byte, 1)
        }
    }

    /// Sleeps up to `milliseconds`, returning early when stopped.
    /// Returns true when the full time elapsed without a stop.
    @discardableResult
    func sleep(milliseconds: Int) -> Bool {
        if isStopped { return false }
        var pfd = pollfd(fd: pipeRead, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, Int32(clamping: milliseconds))
        return !isStopped
    }

    /// Waits until `fd` has `events` ready, the token stops, or the timeout
    /// passes. Returns true when `fd` is ready.
    func wait(fd: Int32, events: Int16 = Int16(POLLIN), timeoutMilliseconds: Int) -> Bool {
        if isStopped { return false }
        var fds = [pollfd(fd: fd, events: events, revents: 0),
                   pollfd(fd: pipeRead, events: Int16(POLLIN), revents: 0)]
        let rc = poll(&fds, 2, Int32(clamping: timeoutMilliseconds))
        return rc > 0 && fds[0].revents != 0
    }

    fileprivate var signalWriteDescriptor: Int32 { pipeWrite }
    fileprivate func markStoppedFromSignal() { flag.store(true, ordering: .releasing) }
}

// Signal handlers may only touch async-signal-safe state: an atomic store
// and write(2) on the process token's pipe.
nonisolated(unsafe) private var signalCount: Int32 = 0

enum SignalTrap {
    /// Routes SIGINT and SIGTERM to `StopToken.process`. A second signal
    /// while stopping exits at once, as users expect from Ctrl-C twice.
    static func install() {
        _ = StopToken.process // force creation before any signal arrives
        let handler: @convention(c) (Int32) -> Void = { _ in
            signalCount += 1
            if signalCount > 1 { _exit(130) }
            StopToken.process.markStoppedFromSignal()
            var byte: UInt8 = 1
            _ = write(StopToken.process.signalWriteDescriptor, &byte, 1)
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGPIPE, SIG_IGN)
        // A parent may start us with these blocked (runtimes that spawn from
        // worker threads do), and then a stop request would never arrive.
        var handled = sigset_t()
        sigemptyset(&handled)
        sigaddset(&handled, SIGINT)
        sigaddset(&handled, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }
}
