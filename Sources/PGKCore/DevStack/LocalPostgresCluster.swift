import CLibPQ
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A throwaway PostgreSQL server for `pgk dev` and the integration tests:
/// a fresh initdb in a temp directory, on 127.0.0.1 and a free port, set
/// up for logical decoding, with durability traded for speed.
///
/// Lifetime: `shutdown()` (or deinit) stops the server and deletes the
/// directory. If this process dies without that (crash, SIGKILL, a second
/// Ctrl-C), a small watchdog process notices and does the same; see
/// `ServerWatchdog` for why it is not PR_SET_PDEATHSIG.
final class LocalPostgresCluster: @unchecked Sendable {
    struct Options: Sendable {
        /// Where initdb and postgres live; nil means `locateBinaries()`.
        var binDirectory: String?
        /// Extra postgresql.conf settings; they win over the defaults.
        var settings: [String: String]
        /// How long `start()` waits for the server to accept connections.
        var startTimeoutSeconds: Int
        /// The superuser's password. With one, TCP connections must give it
        /// (scram-sha-256) and only the unix socket, in a directory only
        /// this user can enter, trusts; without, every local user could
        /// connect over loopback as superuser. `pgk dev` always sets one.
        var password: String?

        init(binDirectory: String? = nil, settings: [String: String] = [:], startTimeoutSeconds: Int = 60,
             password: String? = nil) {
            self.binDirectory = binDirectory
            self.settings = settings
            self.startTimeoutSeconds = startTimeoutSeconds
            self.password = password
        }

        /// A random password of letters and digits (URL-safe as it is).
        static func generatedPassword() -> String {
            let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            var generator = SystemRandomNumberGenerator()
            return String((0..<24).map { _ in alphabet.randomElement(using: &generator)! })
        }
    }

    let binDirectory: String
    /// The temp directory: data, server log and the unix socket live here.
    let baseDirectory: String
    /// For libpq's `host=` when connecting over the unix socket.
    var socketDirectory: String { baseDirectory }
    var dataDirectory: String { baseDirectory + "/data" }
    /// The server's stdout and stderr, appended across restarts.
    var logPath: String { baseDirectory + "/server.log" }
    /// TCP port on 127.0.0.1; stays the same across `restart()`.
    var port: Int { lock.withLock { _ in currentPort } }

    private let options: Options
    private let account: ServerAccount
    private let lock = Mutex<Void>(())
    private var currentPort: Int
    private var server: ChildProcess?
    private var watchdog: ServerWatchdog?
    private var isShutDown = false

    /// Creates the directory and runs initdb. Call `start()` next.
    init(options: Options = Options()) throws {
        self.options = options
        binDirectory = try options.binDirectory ?? LocalPostgresCluster.locateBinaries()
        account = try ServerAccount.current()
        baseDirectory = try LocalPostgresCluster.makeBaseDirectory(owner: account)
        currentPort = 0
        do {
            // Before initdb, so even a crash during initdb leaves nothing behind.
            watchdog = try ServerWatchdog(baseDirectory: baseDirectory)
            try initializeDataDirectory()
            currentPort = try freeLoopbackPort()
        } catch {
            watchdog?.dismiss()
            LocalPostgresCluster.removeTree(baseDirectory)
            throw error
        }
    }

    /// Convenience: a new cluster, already running.
    static func started(options: Options = Options()) throws -> LocalPostgresCluster {
        let cluster = try LocalPostgresCluster(options: options)
        do {
            try cluster.start()
        } catch {
            cluster.shutdown()
            throw error
        }
        return cluster
    }

    deinit { shutdown() }

    /// postgresql://postgres[:PASSWORD]@127.0.0.1:PORT/postgres
    var url: String { url(database: "postgres") }

    func url(database: String) -> String {
        let credentials = options.password.map { "postgres:" + $0 } ?? "postgres"
        return "postgresql://\(credentials)@127.0.0.1:\(port)/\(percentEncodedPathSegment(database))"
    }

    var isRunning: Bool { lock.withLock { _ in server != nil && server?.poll() == nil } }

    // MARK: lifecycle

    /// Starts the server and waits until it accepts connections. A first
    /// start retries on a new port if the chosen one was taken meanwhile.
    func start() throws {
        try lock.withLock { _ in
            guard !isShutDown else { throw RuntimeError("this Postgres cluster was shut down") }
            if let running = server {
                if running.poll() == nil { return }
                server = nil // it died on its own; start it again
                watchdog?.track(pid: nil)
            }
            var attempts = 0
            while true {
                attempts += 1
                do {
                    try startLocked()
                    return
                } catch is PortInUse where attempts < 3 && !hasEverStarted {
                    Log.debug("port \(currentPort) was taken before postgres bound it; trying another")
                    currentPort = try freeLoopbackPort()
                }
            }
        }
    }

    /// Stops the server: fast shutdown (SIGINT: clean checkpoint) or
    /// immediate (SIGQUIT: crash-like; the next start runs recovery).
    func stop(immediate: Bool = false) throws {
        try lock.withLock { _ in try stopLocked(immediate: immediate) }
    }

    /// Stops and starts again with the same port and data.
    func restart(immediate: Bool = false) throws {
        try lock.withLock { _ in
            guard !isShutDown else { throw RuntimeError("this Postgres cluster was shut down") }
            try stopLocked(immediate: immediate)
            try startLocked()
        }
    }

    /// Stops the server (immediately: the data is thrown away anyway) and
    /// deletes the directory. Safe to call more than once.
    func shutdown() {
        lock.withLock { _ in
            guard !isShutDown else { return }
            isShutDown = true
            try? stopLocked(immediate: true)
            watchdog?.dismiss()
            watchdog = nil
            LocalPostgresCluster.removeTree(baseDirectory)
        }
    }

    /// Creates a database and returns its URL; the name is used exactly.
    @discardableResult
    /// The last `lines` lines of the server log, for error messages.
    func logTail(lines: Int = 30) -> String {
        LocalPostgresCluster.tail(of: logPath, lines: lines)
    }

    var watchdogForTesting: ServerWatchdog? { lock.withLock { _ in watchdog } }

    // MARK: internals (called with the lock held)

    private var hasEverStarted = false

    /// Startup failed because the port was taken; the message has the log.
    private struct PortInUse: Error, CustomStringConvertible { var description: String }

    private func startLocked() throws {
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw RuntimeError("cannot open \(logPath): \(errnoText())") }
        let logStart = LocalPostgresCluster.fileSize(logPath)
        let process: ChildProcess
        do {
            defer { close(logFD) }
            let postgres = binDirectory + "/postgres"
            process = try account.spawn(postgres, ["-D", dataDirectory, "-p", String(currentPort)],
                                        stdout: .descriptor(logFD), stderr: .descriptor(logFD))
        }
        watchdog?.track(pid: process.pid)
        server = process
        do {
            try waitUntilReady(process)
            hasEverStarted = true
        } catch {
            server = nil
            if process.poll() == nil {
                process.send(signal: SIGQUIT)
                if process.wait(timeoutMilliseconds: 10_000) == nil {
                    process.send(signal: SIGKILL)
                    process.wait()
                }
            }
            watchdog?.track(pid: nil)
            let log = LocalPostgresCluster.tail(of: logPath, lines: 30, from: logStart)
            let message = "\(error)\nserver log (\(logPath)):\n\(log)"
            if log.contains("Address already in use") { throw PortInUse(description: message) }
            throw RuntimeError(message)
        }
    }

    private func waitUntilReady(_ process: ChildProcess) throws {
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + Int64(options.startTimeoutSeconds) * 1000
        let keys = ["host", "port", "dbname", "user", "connect_timeout"]
        let values = ["127.0.0.1", String(currentPort), "postgres", "postgres", "2"]
        while true {
            if let ended = process.poll() {
                throw RuntimeError("postgres on port \(currentPort) \(ended) during startup")
            }
            if ping(keys, values) == PQPING_OK { return }
            if clock.nowMilliseconds >= deadline {
                throw RuntimeError("postgres did not accept connections on port \(currentPort) "
                                   + "within \(options.startTimeoutSeconds) s")
            }
            usleep(50_000)
        }
    }

    private func stopLocked(immediate: Bool) throws {
        guard let process = server else { return }
        server = nil
        defer { watchdog?.track(pid: nil) }
        if process.poll() != nil { return }
        process.send(signal: immediate ? SIGQUIT : SIGINT)
        if process.wait(timeoutMilliseconds: 60_000) == nil {
            process.send(signal: SIGKILL)
            process.wait()
            throw RuntimeError("postgres did not stop within 60 s and was killed; log: \(logPath)")
        }
    }

    private func initializeDataDirectory() throws {
        let initdb = binDirectory + "/initdb"
        var authentication = ["--auth=trust"]
        let passwordFile = baseDirectory + "/pwfile"
        if let password = options.password {
            try LocalPostgresCluster.createPrivateFile(passwordFile, contents: password + "\n")
            if let user = account.user { chown(passwordFile, user.uid, user.gid) }
            authentication = ["--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + passwordFile]
        }
        let (termination, output) = try account.run(initdb, [
            "-D", dataDirectory, "-U", "postgres", "--encoding=UTF8", "--locale=C", "--no-sync",
        ] + authentication, onSpawn: { watchdog?.track(pid: $0) })
        watchdog?.track(pid: nil)
        unlink(passwordFile)
        guard termination.succeeded else {
            throw RuntimeError("initdb \(termination):\n\(output)")
        }
        var settings = LocalPostgresCluster.defaultSettings(socketDirectory: baseDirectory)
        for (key, value) in options.settings { settings[key] = value }
        var text = "\n# Added by pgk for a throwaway cluster.\n"
        for key in settings.keys.sorted() { text += "\(key) = \(settings[key]!)\n" }
        try LocalPostgresCluster.append(text, to: dataDirectory + "/postgresql.conf")
    }

    static func defaultSettings(socketDirectory: String) -> [String: String] {
        [
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "'\(socketDirectory)'",
            "wal_level": "logical",
            "max_wal_senders": "32",
            "max_replication_slots": "32",
            "max_connections": "250",
            // Throwaway data: skip flushing to disk. synchronous_commit
            // stays on so an immediate stop never loses a commit.
            "fsync": "off",
            "full_page_writes": "off",
            // The 64MB default spilled 168MB per slot for a 1M-row transaction.
            "logical_decoding_work_mem": "'256MB'",
            "max_wal_size": "'2GB'",
            "TimeZone": "'UTC'",
            "log_timezone": "'UTC'",
        ]
    }
}

// MARK: - locating the server binaries

extension LocalPostgresCluster {
    /// The directory holding `initdb` and `postgres`: `PGK_PG_BINDIR`, then
    /// `pg_config --bindir`, then `initdb` on PATH, then the highest
    /// `/usr/lib/postgresql/*/bin` (Debian's layout).
    static func locateBinaries() throws -> String {
        func hasServer(_ directory: String) -> Bool {
            access(directory + "/initdb", X_OK) == 0 && access(directory + "/postgres", X_OK) == 0
        }
        if let explicit = getenv("PGK_PG_BINDIR").map({ String(cString: $0) }), !explicit.isEmpty {
            guard hasServer(explicit) else {
                throw RuntimeError("PGK_PG_BINDIR=\(explicit) has no executable initdb and postgres")
            }
            return explicit
        }
        var tried: [String] = []
        if let pgConfig = ChildProcess.findExecutable("pg_config"),
           let (termination, output) = try? ChildProcess.run(pgConfig, ["--bindir"], timeoutMilliseconds: 10_000),
           termination.succeeded {
            let directory = output.split(separator: "\n").first.map(String.init) ?? ""
            if hasServer(directory) { return directory }
            tried.append("pg_config --bindir (\(directory))")
        }
        if let initdb = ChildProcess.findExecutable("initdb"), let resolved = realPath(initdb) {
            let directory = String(resolved[..<(resolved.lastIndex(of: "/") ?? resolved.startIndex)])
            if hasServer(directory) { return directory }
            tried.append("initdb on PATH (\(directory))")
        }
        if let directory = debianBinDirectories().first(where: hasServer) { return directory }
        tried.append("/usr/lib/postgresql/*/bin")
        throw RuntimeError("no PostgreSQL server binaries (initdb, postgres) found; tried "
                           + tried.joined(separator: ", ")
                           + ". Install the server (e.g. apt-get install postgresql) or set PGK_PG_BINDIR.")
    }

    /// `/usr/lib/postgresql/<version>/bin`, highest version first.
    static func debianBinDirectories(root: String = "/usr/lib/postgresql") -> [String] {
        guard let directory = opendir(root) else { return [] }
        defer { closedir(directory) }
        var versions: [(Double, String)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if let version = Double(name) { versions.append((version, name)) }
        }
        return versions.sorted { $0.0 > $1.0 }.map { "\(root)/\($0.1)/bin" }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

// MARK: - files and ports

extension LocalPostgresCluster {
    /// A mkdtemp directory owned by the server account. Short on purpose:
    /// the unix socket path inside it must stay under 108 bytes.
    static func makeBaseDirectory(owner: ServerAccount) throws -> String {
        var parent = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if parent.isEmpty || parent.utf8.count > 60 || owner.switchesUser { parent = "/tmp" }
        var template = Array("\(parent)/pgk-pg-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RuntimeError("cannot create a temp directory in \(parent): \(errnoText())")
        }
        let path = String(cString: created)
        if let user = owner.user, chown(path, user.uid, user.gid) != 0 {
            let reason = errnoText()
            rmdir(path)
            throw RuntimeError("cannot hand \(path) to user \(user.name): \(reason)")
        }
        return path
    }

    static func removeTree(_ path: String) {
        guard path.hasPrefix("/"), path.count > 1, let rm = ChildProcess.findExecutable("rm") else { return }
        _ = try? ChildProcess.run(rm, ["-rf", "--", path], timeoutMilliseconds: 60_000)
    }

    /// A new file only its owner can read (a password for initdb).
    static func createPrivateFile(_ path: String, contents: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RuntimeError("cannot create \(path): \(errnoText())") }
        close(fd)
        try append(contents, to: path)
    }

    static func append(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError("cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw RuntimeError("cannot write \(path): \(errnoText())")
        }
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// The last `lines` lines of a file, reading at most its last 64 KiB.
    static func tail(of path: String, lines: Int, from start: Int = 0) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "(no log at \(path))" }
        defer { close(fd) }
        let size = fileSize(path)
        let offset = max(start, size - 65536)
        var buffer = [UInt8](repeating: 0, count: max(0, size - offset))
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard count > 0 else { return "" }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

/// A port on 127.0.0.1 that was free a moment ago: bind port 0 and ask the
/// kernel which one it gave. Someone may take it before the server binds;
/// `start()` retries for that case.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RuntimeError("socket failed: \(errnoText())") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw RuntimeError("cannot find a free port on 127.0.0.1: \(errnoText())") }
    return Int(UInt16(bigEndian: address.sin_port))
}

func percentEncodedPathSegment(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
             UInt8(ascii: "."), UInt8(ascii: "~"):
            result.append(Character(Unicode.Scalar(byte)))
        default:
            result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }
    }
    return result
}
