import Foundation
@testable import PGKCore

/// Runs a program to completion, capturing stdout and stderr, with a hard
/// timeout so a hung child fails the test instead of the whole run.
///
/// Built on `ChildProcess` (posix_spawn) with file-backed output, not on
/// Foundation's Process and pipes: Process passes on the test runner's
/// blocked signal mask (a child would never see SIGTERM), and its pipe
/// reads trap on EINTR when SIGCHLD lands mid-read.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: Data
}

enum CommandRunner {
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    stdin: Data? = nil, timeoutSeconds: Double = 60) throws -> CommandResult {
        let files = try ScratchFiles()
        try (stdin ?? Data()).write(to: URL(fileURLWithPath: files.input))
        let input = open(files.input, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw RuntimeError("cannot open \(files.input)") }
        defer { close(input) }
        let path = try resolve(executable, environment: environment)
        let child = try ChildProcess.spawn(path, arguments, environment: environment,
                                           stdin: stdin == nil ? .null : .descriptor(input),
                                           stdout: .file(path: files.output, append: false),
                                           stderr: .file(path: files.errors, append: false))
        guard let termination = child.wait(timeoutMilliseconds: Int(timeoutSeconds * 1000)) else {
            child.send(signal: SIGKILL)
            child.wait()
            throw TimeoutError(command: ([executable] + arguments).joined(separator: " "), seconds: timeoutSeconds,
                               stderr: files.read(files.errors))
        }
        let output = (try? Data(contentsOf: URL(fileURLWithPath: files.output))) ?? Data()
        let status: Int32
        switch termination {
        case .exited(let code): status = code
        case .signaled(let signal): status = 128 + signal
        }
        return CommandResult(status: status, stdout: String(decoding: output, as: UTF8.self),
                             stderr: files.read(files.errors), stdoutBytes: output)
    }

    /// Runs the built pgk binary.
    static func pgk(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil,
                    timeoutSeconds: Double = 60) throws -> CommandResult {
        try run(RepositoryPaths.binary, arguments, environment: environment, stdin: stdin,
                timeoutSeconds: timeoutSeconds)
    }

    static func resolve(_ executable: String, environment: [String: String]?) throws -> String {
        if executable.contains("/") { return executable }
        let path = environment?["PATH"] ?? ProcessInfo.processInfo.environment["PATH"]
        guard let found = ChildProcess.findExecutable(executable, path: path) else {
            throw RuntimeError("\(executable) not found on PATH")
        }
        return found
    }

    struct TimeoutError: Error, CustomStringConvertible {
        var command: String
        var seconds: Double
        var stderr: String
        var description: String { "'\(command)' did not finish within \(seconds) s; stderr: \(stderr)" }
    }
}

/// A program running in the background, for tests that signal or kill it
/// while it works. Output goes to files readable at any time.
final class BackgroundProcess: @unchecked Sendable {
    let child: ChildProcess
    private let files: ScratchFiles
    private var finished: Int32?

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        files = try ScratchFiles()
        child = try ChildProcess.spawn(try CommandRunner.resolve(executable, environment: environment), arguments,
                                       environment: environment, stdin: .null,
                                       stdout: .file(path: files.output, append: false),
                                       stderr: .file(path: files.errors, append: false))
    }

    /// The built pgk binary in the background.
    static func pgk(_ arguments: [String], environment: [String: String]? = nil) throws -> BackgroundProcess {
        try BackgroundProcess(RepositoryPaths.binary, arguments, environment: environment)
    }

    deinit {
        if child.poll() == nil {
            child.send(signal: SIGKILL)
            child.wait()
        }
    }

    var pid: pid_t { child.pid }
    var stdout: String { files.read(files.output) }
    var stderr: String { files.read(files.errors) }
    var isRunning: Bool { child.poll() == nil }

    func signal(_ number: Int32) { child.send(signal: number) }

    /// Waits for exit and returns the status (128+N for signal N); nil when
    /// it is still running after `seconds`.
    func wait(seconds: Double) -> Int32? {
        guard let termination = child.wait(timeoutMilliseconds: Int(seconds * 1000)) else { return nil }
        switch termination {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }
}

/// A private temporary directory with input, output and error files,
/// removed when the value is released.
final class ScratchFiles: @unchecked Sendable {
    let directory: String
    var input: String { directory + "/stdin" }
    var output: String { directory + "/stdout" }
    var errors: String { directory + "/stderr" }

    init() throws {
        var template = Array((NSTemporaryDirectory() + "pgk-run-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RuntimeError("mkdtemp failed")
        }
        directory = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
