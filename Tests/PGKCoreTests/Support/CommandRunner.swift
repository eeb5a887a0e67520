import Foundation

/// Runs a program to completion, capturing stdout and stderr, with a hard
/// timeout so a hung child fails the test instead of the whole run.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: Data
}

enum CommandRunner {
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    stdin: Data? = nil, timeoutSeconds: Double = 60) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            try input.fileHandleForWriting.write(contentsOf: stdin)
            try input.fileHandleForWriting.close()
        }
        // Drain both pipes concurrently so a chatty child never blocks.
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            usleep(200_000)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            group.wait()
            throw TimeoutError(command: ([executable] + arguments).joined(separator: " "), seconds: timeoutSeconds,
                               stderr: String(decoding: errData, as: UTF8.self))
        }
        process.waitUntilExit()
        group.wait()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self),
                             stdoutBytes: outData)
    }

    /// Runs the built pgk binary.
    static func pgk(_ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil,
                    timeoutSeconds: Double = 60) throws -> CommandResult {
        try run(RepositoryPaths.binary, arguments, environment: environment, stdin: stdin,
                timeoutSeconds: timeoutSeconds)
    }

    struct TimeoutError: Error, CustomStringConvertible {
        var command: String
        var seconds: Double
        var stderr: String
        var description: String { "'\(command)' did not finish within \(seconds) s; stderr: \(stderr)" }
    }
}
