import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// Who runs initdb and the server. initdb and postgres refuse to run as
/// root, so as root we switch to the `postgres` account with `setpriv`:
/// unlike `runuser`/`su` it opens no PAM session and execs in place, so the
/// pid we hold is the server's own and our signals reach it directly.
struct ServerAccount: Sendable {
    struct User: Sendable {
        var name: String
        var uid: uid_t
        var gid: gid_t
    }

    /// Set when we must switch users (we are root).
    let user: User?
    private let setpriv: String?

    var switchesUser: Bool { user != nil }

    static func current() throws -> ServerAccount {
        guard geteuid() == 0 else { return ServerAccount(user: nil, setpriv: nil) }
        guard let user = lookUpUser("postgres") else {
            throw RuntimeError("running as root, but PostgreSQL refuses to run as root and there is no "
                               + "'postgres' user to run it as; create one (useradd --system postgres) "
                               + "or run as an ordinary user")
        }
        guard let setpriv = ChildProcess.findExecutable("setpriv") else {
            throw RuntimeError("running as root needs setpriv (util-linux) to start PostgreSQL as 'postgres'")
        }
        return ServerAccount(user: user, setpriv: setpriv)
    }

    private static func lookUpUser(_ name: String) -> User? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        let rc = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return User(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// A small, predictable environment: no PG* variables from the caller
    /// (PGPORT, PGDATA…) can leak into the server, and the C locale.
    private var environment: [String: String] {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        return ["PATH": path, "LC_ALL": "C", "LANG": "C"]
    }

    private func command(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        guard let user, let setpriv else { return (executable, arguments) }
        return (setpriv, ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", executable] + arguments)
    }

    func spawn(_ executable: String, _ arguments: [String],
               stdout: ChildProcess.Redirect, stderr: ChildProcess.Redirect) throws -> ChildProcess {
        let (program, argv) = command(executable, arguments)
        // Own process group: a terminal's Ctrl-C goes to pgk, which then
        // shuts the server down in order, rather than to the server too.
        return try ChildProcess.spawn(program, argv, environment: environment,
                                      stdout: stdout, stderr: stderr, newProcessGroup: true)
    }

    func run(_ executable: String, _ arguments: [String],
             onSpawn: (pid_t) -> Void = { _ in }) throws -> (termination: ChildProcess.Termination, output: String) {
        let (program, argv) = command(executable, arguments)
        return try ChildProcess.run(program, argv, environment: environment, onSpawn: onSpawn)
    }
}

/// Kills the server and deletes its directory if this process dies
/// without shutting the cluster down.
///
/// Why not PR_SET_PDEATHSIG (`setpriv --pdeathsig`): it fires when the
/// parent *thread* exits, not the process. The cluster is often started
/// from a pool or worker thread, and the server would die when that thread
/// retires. It also cannot delete the directory.
///
/// Instead a /bin/sh child reads commands from a socket whose other end
/// only we hold (close-on-exec, so no other child inherits it). When the
/// process dies for any reason, even SIGKILL, the kernel closes our end,
/// the shell reads EOF, stops the server it was told about and removes the
/// directory. On a normal shutdown we tell it to exit first, so it never
/// signals a pid that may have been reused.
final class ServerWatchdog {
    private let process: ChildProcess
    private var socketFD: Int32

    private static let script = """
        pg=
        while IFS= read -r line; do
          case "$line" in
            "pid "*) pg=${line#pid } ;;
            none) pg= ;;
            exit) exit 0 ;;
          esac
        done
        if [ -n "$pg" ]; then
          kill -QUIT "$pg" 2>/dev/null
          n=0
          # Stop waiting once it is gone or a zombie nobody reaps yet.
          while kill -0 "$pg" 2>/dev/null && [ "$n" -lt 100 ] &&
                ! grep -q '^State:[[:space:]]*Z' "/proc/$pg/status" 2>/dev/null; do
            sleep 0.1; n=$((n+1))
          done
          kill -KILL "$pg" 2>/dev/null
        fi
        rm -rf -- "$1"
        """

    init(baseDirectory: String) throws {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw RuntimeError("socketpair failed: \(errnoText())")
        }
        defer { close(fds[1]) }
        do {
            process = try ChildProcess.spawn("/bin/sh", ["-c", ServerWatchdog.script, "pgk-pg-watchdog", baseDirectory],
                                             environment: ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin"],
                                             stdin: .descriptor(fds[1]), stdout: .null, stderr: .null,
                                             newProcessGroup: true)
        } catch {
            close(fds[0])
            throw error
        }
        socketFD = fds[0]
    }

    deinit { dismiss() }

    /// Tells the watchdog which server pid to stop (nil: none running).
    func track(pid: pid_t?) {
        send(pid.map { "pid \($0)\n" } ?? "none\n")
    }

    /// Normal shutdown: the watchdog exits without touching anything.
    func dismiss() {
        guard socketFD >= 0 else { return }
        send("exit\n")
        close(socketFD)
        socketFD = -1
        if process.wait(timeoutMilliseconds: 5_000) == nil {
            process.send(signal: SIGKILL)
            process.wait()
        }
    }

    /// For tests: drop our end as a dying process would, without "exit".
    func simulateOwnerDeath() {
        guard socketFD >= 0 else { return }
        close(socketFD)
        socketFD = -1
        process.wait(timeoutMilliseconds: 20_000)
    }

    private func send(_ text: String) {
        guard socketFD >= 0 else { return }
        let bytes = Array(text.utf8)
        // MSG_NOSIGNAL: a dead watchdog must not SIGPIPE us.
        _ = bytes.withUnsafeBytes { Glibc.send(socketFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// PQpingParams with NULL-terminated keyword/value arrays.
func ping(_ keys: [String], _ values: [String]) -> PGPing {
    let keyCopies = keys.map { strdup($0) }
    let valueCopies = values.map { strdup($0) }
    defer { (keyCopies + valueCopies).forEach { free($0) } }
    let keyPointers = keyCopies.map { UnsafePointer($0) } + [nil]
    let valuePointers = valueCopies.map { UnsafePointer($0) } + [nil]
    return keyPointers.withUnsafeBufferPointer { k in
        valuePointers.withUnsafeBufferPointer { v in PQpingParams(k.baseAddress, v.baseAddress, 0) }
    }
}
