import Foundation
@testable import PGKCore

/// Runs a pgk command line inside the test process, with stdout going to a
/// temporary file: the same parse, dispatch and exit status as the binary,
/// without spawning it. Diagnostics still go to the process's stderr.
enum InProcessPGK {
    struct Result {
        var status: Int32
        var stdout: String
    }

    static func run(_ arguments: [String], environment: [String: String] = ContractTests.environment,
                    stop: StopToken = StopToken()) throws -> Result {
        var template = Array((NSTemporaryDirectory() + "/pgk-stdout-XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { throw RuntimeError("mkstemp failed: errno \(errno)") }
        let path = String(cString: template)
        defer {
            close(fd)
            unlink(path)
        }
        let status = PGK.run(arguments, environment: environment, stop: stop,
                             output: OutputSink(fileDescriptor: fd))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Result(status: status, stdout: text)
    }
}
