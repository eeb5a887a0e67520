#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `--exec CMD`: runs CMD through /bin/sh once per message, the message on
/// its stdin and where it came from in PGK_TOPIC, PGK_PARTITION,
/// PGK_OFFSET, PGK_KEY and PGK_SCHEMA. Exit status 0 means done; anything
/// else, a signal or running past the timeout is a failure, never done.
struct ExecHandler {
    struct Message {
        var topic: String
        var partition: Int32
        var offset: Int64
        var key: [UInt8]?
        var schema: String
        var input: [UInt8]
    }

    enum Outcome: Equatable {
        case done
        /// `status` says how it ended; `stderrTail` is its last output there.
        case failed(status: String, stderrTail: String)
    }

    let command: String
    let environment: [String: String]
    let timeoutMilliseconds: Int64?
    /// How much of a failing handler's stderr is kept for the dead letter.
    static let stderrTailBytes = 2048

    func run(_ message: Message) throws -> Outcome {
        let scratch = try HandlerScratch()
        try Data(message.input).write(to: URL(fileURLWithPath: scratch.input))
        let input = open(scratch.input, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw RuntimeError("cannot open \(scratch.input): \(String(cString: strerror(errno)))") }
        defer { close(input) }
        var environment = self.environment
        environment["PGK_TOPIC"] = message.topic
        environment["PGK_PARTITION"] = String(message.partition)
        environment["PGK_OFFSET"] = String(message.offset)
        environment["PGK_KEY"] = message.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
        environment["PGK_SCHEMA"] = message.schema
        // Its own process group, so a timeout kills what the shell started too.
        let child = try ChildProcess.spawn("/bin/sh", ["-c", command], environment: environment,
                                           stdin: .descriptor(input), stdout: .inherit,
                                           stderr: .file(path: scratch.errors, append: false), newProcessGroup: true)
        let termination: ChildProcess.Termination
        if let finished = child.wait(timeoutMilliseconds: timeoutMilliseconds.map { Int($0) }) {
            termination = finished
        } else {
            _ = kill(-child.pid, SIGKILL)
            child.wait()
            return .failed(status: "timed out after \(timeoutMilliseconds ?? 0) ms and was killed",
                           stderrTail: scratch.stderrTail(Self.stderrTailBytes))
        }
        if termination.succeeded { return .done }
        return .failed(status: termination.description, stderrTail: scratch.stderrTail(Self.stderrTailBytes))
    }
}

/// A private directory for one handler run's stdin and stderr files.
private final class HandlerScratch {
    let directory: String
    var input: String { directory + "/stdin" }
    var errors: String { directory + "/stderr" }

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/pgk-exec-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw RuntimeError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func stderrTail(_ limit: Int) -> String {
        guard let data = FileManager.default.contents(atPath: errors) else { return "" }
        return String(decoding: data.suffix(limit), as: UTF8.self)
    }
}
