import Foundation
import Testing
@testable import PGKCore
#if canImport(Glibc)
import Glibc
#endif

/// The real-broker tier: pgk's admin commands against Tansu, a
/// Kafka-compatible broker, because librdkafka's mock cluster lacks
/// CreateTopics, DeleteTopics and the config requests.
///
/// Off unless PGK_TEST_TANSU=1. When on, missing prerequisites fail the
/// tests; they never skip.
enum RealBrokerTier {
    static let isEnabled = ProcessInfo.processInfo.environment["PGK_TEST_TANSU"] == "1"
    static let disabledReason: Comment = "set PGK_TEST_TANSU=1 to run pgk against a Tansu broker (scripts/tansu-env)"

    /// What `scripts/tansu-env` provides.
    struct Setup: Sendable {
        var tansu: String
        /// Holds librdkafka.so.1 new enough for Tansu; first on pgk's LD_LIBRARY_PATH.
        var libraryPath: String
        /// A Python whose confluent_kafka speaks to Tansu (the committing consumer).
        var python: String
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// Taken from PGK_TANSU_* when all are set, else from running
    /// scripts/tansu-env once (it installs the wheels if missing).
    static let setup: Result<Setup, SetupError> = {
        let environment = ProcessInfo.processInfo.environment
        var values: [String: String] = [:]
        let keys = ["PGK_TANSU_BIN", "PGK_TANSU_LIBRARY_PATH", "PGK_TANSU_PYTHON"]
        if keys.allSatisfy({ environment[$0] != nil }) {
            for key in keys { values[key] = environment[key] }
        } else {
            let script = RepositoryPaths.path("scripts/tansu-env")
            let result: CommandResult
            do {
                result = try CommandRunner.run("/bin/bash", [script], timeoutSeconds: 600)
            } catch {
                return .failure(SetupError(description: "PGK_TEST_TANSU=1 but \(script) failed: \(error)"))
            }
            guard result.status == 0 else {
                return .failure(SetupError(description:
                    "PGK_TEST_TANSU=1 but \(script) exited \(result.status): \(result.stderr)"))
            }
            for line in result.stdout.split(separator: "\n") where line.hasPrefix("export ") {
                let assignment = line.dropFirst("export ".count)
                guard let equals = assignment.firstIndex(of: "=") else { continue }
                values[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
            }
        }
        guard let tansu = values["PGK_TANSU_BIN"], FileManager.default.isExecutableFile(atPath: tansu) else {
            return .failure(SetupError(description: "no executable Tansu broker (PGK_TANSU_BIN=\(values["PGK_TANSU_BIN"] ?? "unset"))"))
        }
        guard let libraryPath = values["PGK_TANSU_LIBRARY_PATH"],
              FileManager.default.fileExists(atPath: libraryPath + "/librdkafka.so.1") else {
            return .failure(SetupError(description:
                "no librdkafka.so.1 in PGK_TANSU_LIBRARY_PATH=\(values["PGK_TANSU_LIBRARY_PATH"] ?? "unset")"))
        }
        guard let python = values["PGK_TANSU_PYTHON"], FileManager.default.isExecutableFile(atPath: python) else {
            return .failure(SetupError(description: "no Python at PGK_TANSU_PYTHON=\(values["PGK_TANSU_PYTHON"] ?? "unset")"))
        }
        // Debian's librdkafka 2.0.2 fails Tansu's ApiVersions reply ("Read
        // underflow"); make sure pgk really loads the newer one.
        let version: CommandResult
        do {
            version = try CommandRunner.pgk(["--version"], environment: ["LD_LIBRARY_PATH": libraryPath])
        } catch {
            return .failure(SetupError(description: "pgk --version failed: \(error)"))
        }
        let loaded = version.stdout.split(separator: "librdkafka ").last?.split(separator: ",").first ?? ""
        let parts = loaded.split(separator: ".").compactMap { Int($0) }
        guard parts.count >= 2, (parts[0], parts[1]) >= (2, 2) else {
            return .failure(SetupError(description:
                "pgk with LD_LIBRARY_PATH=\(libraryPath) loads librdkafka '\(loaded)'; Tansu needs 2.2 or later (\(version.stdout)\(version.stderr))"))
        }
        return .success(Setup(tansu: tansu, libraryPath: libraryPath, python: python))
    }()
}

/// One Tansu broker with in-memory storage on a free loopback port,
/// stopped when the value goes away.
final class TansuBroker {
    let setup: RealBrokerTier.Setup
    let port: UInt16
    let bootstrap: String
    private let process: ChildProcess
    private let logURL: URL

    init() throws {
        setup = try RealBrokerTier.setup.get()
        var lastFailure = ""
        // A port found free can be taken before Tansu binds it: retry.
        for _ in 0..<3 {
            let port = try Self.freePort()
            let logURL = FileManager.default.temporaryDirectory
                .appendingPathComponent("tansu-\(port)-\(UInt32.random(in: 0...UInt32.max)).log")
            let url = "tcp://127.0.0.1:\(port)"
            // ChildProcess, not Foundation's Process: it resets the signal
            // mask, which the test runner's threads block, so SIGTERM works.
            let process = try ChildProcess.spawn(
                setup.tansu, ["broker", "--listener-url", url, "--advertised-listener-url", url,
                              "--storage-engine", "memory://tansu/"],
                environment: ["PATH": "/usr/bin:/bin"],
                stdout: .file(path: logURL.path, append: true), stderr: .file(path: logURL.path, append: true))
            if Self.waitUntilListening(port: port, process: process, seconds: 15) {
                self.port = port
                self.bootstrap = "127.0.0.1:\(port)"
                self.process = process
                self.logURL = logURL
                return
            }
            Self.stop(process)
            lastFailure = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: logURL)
        }
        throw RealBrokerTier.SetupError(description: "Tansu did not start listening on 127.0.0.1: \(lastFailure)")
    }

    deinit {
        Self.stop(process)
        try? FileManager.default.removeItem(at: logURL)
    }

    private static func stop(_ process: ChildProcess) {
        process.send(signal: SIGTERM)
        if process.wait(timeoutMilliseconds: 5_000) == nil {
            process.send(signal: SIGKILL)
            process.wait()
        }
    }

    /// The end of the broker's log, for failure messages.
    var log: String {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return String(text.suffix(2_000))
    }

    /// pgk's environment: nothing inherited but the newer librdkafka.
    var pgkEnvironment: [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LD_LIBRARY_PATH": setup.libraryPath]
    }

    /// Runs the built pgk against this broker.
    func pgk(_ arguments: [String], stdin: String? = nil, timeoutSeconds: Double = 60) throws -> CommandResult {
        try CommandRunner.pgk(arguments + ["-b", bootstrap], environment: pgkEnvironment,
                              stdin: stdin.map { Data($0.utf8) }, timeoutSeconds: timeoutSeconds)
    }

    /// Runs a Python script with `arguments` in sys.argv[1:], bootstrap first.
    func python(_ script: String, _ arguments: [String], timeoutSeconds: Double = 120) throws -> CommandResult {
        try CommandRunner.run(setup.python, ["-c", script, bootstrap] + arguments,
                              environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()],
                              timeoutSeconds: timeoutSeconds)
    }

    private static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RealBrokerTier.SetupError(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw RealBrokerTier.SetupError(description: "cannot bind a loopback port: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func waitUntilListening(port: UInt16, process: ChildProcess, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && process.poll() == nil {
            if canConnect(port: port) { return true }
            usleep(20_000)
        }
        return false
    }

    private static func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
