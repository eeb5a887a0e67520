#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A process started with posix_spawn (safe in a multithreaded program,
/// unlike fork). The child gets only stdin/stdout/stderr and the
/// descriptors passed explicitly; every other descriptor is closed, so
/// pipes that signal EOF to their readers are never leaked into it.
/// The owner must reap it (`wait`/`poll`); dropping it does not kill it.
final class ChildProcess: @unchecked Sendable {
    enum Redirect: Sendable {
        case inherit
        case null
        /// Opened in the child; `append` false truncates.
        case file(path: String, append: Bool)
        /// One of the parent's descriptors, duplicated into place.
        case descriptor(Int32)
    }

    enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var succeeded: Bool { self == .exited(0) }
        var description: String {
            switch self {
            case .exited(let status): return "exited with status \(status)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    let pid: pid_t
    let executable: String
    private let termination = Mutex<Termination?>(nil)

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    /// Starts `executable` (an absolute path; see `findExecutable`).
    /// `environment` nil inherits ours. `extraDescriptors` maps a child
    /// descriptor number (3, 4, …) to one of ours. `newProcessGroup` keeps
    /// a terminal's Ctrl-C from reaching the child directly.
    static func spawn(_ executable: String, _ arguments: [String],
                             environment: [String: String]? = nil,
                             stdin: Redirect = .null, stdout: Redirect = .inherit, stderr: Redirect = .inherit,
                             extraDescriptors: [Int32: Int32] = [:],
                             newProcessGroup: Bool = false) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        // Work on high, close-on-exec copies of the parent's descriptors so
        // one dup2 can never clobber the source of another.
        var temporaries: [Int32] = []
        defer { temporaries.forEach { close($0) } }
        func highCopy(_ fd: Int32) throws -> Int32 {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 100)
            guard copy >= 0 else { throw RuntimeError("cannot spawn \(executable): bad descriptor \(fd): \(errnoText())") }
            temporaries.append(copy)
            return copy
        }
        func redirect(_ target: Int32, _ how: Redirect) throws {
            switch how {
            case .inherit:
                break
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path, let append):
                let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
                posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o644)
            case .descriptor(let source):
                posix_spawn_file_actions_adddup2(&actions, try highCopy(source), target)
            }
        }
        try redirect(0, stdin)
        try redirect(1, stdout)
        try redirect(2, stderr)
        for (target, source) in extraDescriptors.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_adddup2(&actions, try highCopy(source), target)
        }
        let firstToClose = max(3, (extraDescriptors.keys.max() ?? 2) + 1)
        if let closeFrom = GNUCalls.spawnAddCloseFrom {
            _ = closeFrom(&actions, firstToClose)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        // We ignore SIGPIPE and trap SIGINT/SIGTERM; the child must not
        // inherit that.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environmentPairs = (environment ?? currentEnvironment()).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { environmentPairs.forEach { free($0) } }

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environmentPairs)
        guard rc == 0 else {
            throw RuntimeError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid, executable: executable)
    }

    /// Sends `signal` unless the process was already reaped (its pid may
    /// belong to someone else by then).
    func send(signal: Int32) {
        termination.withLock { done in
            if done == nil { _ = kill(pid, signal) }
        }
    }

    /// The termination if the process has ended; never blocks.
    func poll() -> Termination? {
        termination.withLock { done in
            if let done { return done }
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid {
                done = ChildProcess.decode(status)
            } else if rc < 0 && errno == ECHILD {
                done = .exited(-1) // reaped elsewhere; its status is lost
            }
            return done
        }
    }

    /// Waits up to `timeoutMilliseconds` (nil: forever) for the process to
    /// end. Returns nil if it is still running.
    @discardableResult
    func wait(timeoutMilliseconds: Int? = nil) -> Termination? {
        let clock = SystemClock.shared
        let deadline = timeoutMilliseconds.map { clock.nowMilliseconds + Int64($0) }
        var pause: UInt32 = 1_000
        while true {
            if let done = poll() { return done }
            if let deadline, clock.nowMilliseconds >= deadline { return nil }
            // waitpid cannot time out, so poll it with a short, growing pause.
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    private static func decode(_ status: Int32) -> Termination {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// Runs a program to completion, capturing stdout and stderr together.
    /// Kills it if it outlives the timeout. `onSpawn` learns the pid
    /// while it runs (e.g. to hand it to a watchdog).
    static func run(_ executable: String, _ arguments: [String],
                           environment: [String: String]? = nil,
                           timeoutMilliseconds: Int = 120_000,
                           onSpawn: (pid_t) -> Void = { _ in }) throws -> (termination: Termination, output: String) {
        var fds: [Int32] = [-1, -1]
        try makeCloseOnExecPipe(&fds)
        let child: ChildProcess
        do {
            child = try spawn(executable, arguments, environment: environment,
                              stdout: .descriptor(fds[1]), stderr: .descriptor(fds[1]))
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        defer { close(fds[0]) }
        onSpawn(child.pid)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + Int64(timeoutMilliseconds)
        while true {
            let remaining = deadline - clock.nowMilliseconds
            var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            let ready = remaining > 0 ? Glibc.poll(&pfd, 1, Int32(clamping: remaining)) : 0
            if ready == 0 {
                child.send(signal: SIGKILL)
                child.wait()
                throw RuntimeError("\(executable) did not finish within \(timeoutMilliseconds / 1000) s; output: "
                                   + String(decoding: output.suffix(2000), as: UTF8.self))
            }
            if ready < 0 { if errno == EINTR { continue }; break }
            let count = chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output += chunk[0..<count]
        }
        let termination = child.wait()!
        return (termination, String(decoding: output, as: UTF8.self))
    }

    /// The first executable `name` on PATH, or nil.
    static func findExecutable(_ name: String, path: String? = nil) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let searchPath = path ?? (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin")
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let pointer = entry?.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry = entry?.advanced(by: 1)
        }
        return result
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// A pipe whose ends are close-on-exec from birth, so a process another
/// thread spawns meanwhile cannot inherit them and hold off EOF.
func makeCloseOnExecPipe(_ fds: inout [Int32]) throws {
    let rc: Int32
    if let pipe2 = GNUCalls.pipe2 {
        rc = fds.withUnsafeMutableBufferPointer { pipe2($0.baseAddress, O_CLOEXEC) }
    } else {
        rc = pipe(&fds)
        if rc == 0 { for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) } }
    }
    guard rc == 0 else { throw RuntimeError("pipe failed: \(errnoText())") }
}

/// glibc functions that Swift's Glibc module hides (it is imported without
/// _GNU_SOURCE), looked up at run time with their C calling convention.
enum GNUCalls {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    /// posix_spawn_file_actions_addclosefrom_np, glibc 2.34+.
    static let spawnAddCloseFrom: AddCloseFrom? = lookup("posix_spawn_file_actions_addclosefrom_np")
    static let pipe2: Pipe2? = lookup("pipe2")

    private static func lookup<F>(_ name: String) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
    }
}
