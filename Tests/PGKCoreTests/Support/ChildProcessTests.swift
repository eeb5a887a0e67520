import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import PGKCore

@Suite struct ChildProcessTests {
    private func shell() throws -> String { try #require(ChildProcess.findExecutable("sh")) }

    @Test func runCapturesOutputAndStatus() throws {
        let (termination, output) = try ChildProcess.run(try shell(), ["-c", "echo out; echo err >&2; exit 3"])
        #expect(termination == .exited(3))
        #expect(!termination.succeeded)
        #expect(output.contains("out\n"))
        #expect(output.contains("err\n"))
    }

    @Test func runPassesExactlyTheGivenEnvironment() throws {
        let (termination, output) = try ChildProcess.run(try shell(), ["-c", "echo \"[$ONLY_THIS][$HOME]\""],
                                                         environment: ["ONLY_THIS": "yes it is"])
        #expect(termination.succeeded)
        #expect(output == "[yes it is][]\n")
    }

    @Test func childInheritsNoStrayDescriptors() throws {
        // A descriptor we leave open without close-on-exec, numbered above
        // the ones the child may list (open() may hand out 3 or 4 when free)…
        let opened = open("/dev/null", O_RDONLY)
        try #require(opened >= 0)
        let leaky = fcntl(opened, F_DUPFD, 50)
        close(opened)
        try #require(leaky >= 50)
        defer { close(leaky) }
        var fds: [Int32] = [-1, -1]
        try makeCloseOnExecPipe(&fds)
        defer { close(fds[0]) }
        // …must not reach the child; an explicitly passed one must, as fd 3.
        let child = try ChildProcess.spawn(try shell(), ["-c", "ls /proc/self/fd >&3"],
                                           stdout: .null, stderr: .null, extraDescriptors: [3: fds[1]])
        close(fds[1])
        #expect(child.wait(timeoutMilliseconds: 10_000) == .exited(0))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fds[0], &buffer, buffer.count)
        let listed = Set(String(decoding: buffer[0..<max(0, count)], as: UTF8.self).split(separator: "\n").map(String.init))
        #expect(listed.contains("3"))
        #expect(!listed.contains(String(leaky)), "fd \(leaky) leaked into the child: \(listed)")
        #expect(listed.isSubset(of: ["0", "1", "2", "3", "4"]), "\(listed)") // 4: ls's own directory handle
    }

    @Test func signalsAndTimeouts() throws {
        let child = try ChildProcess.spawn(try shell(), ["-c", "sleep 30"], newProcessGroup: true)
        #expect(child.poll() == nil)
        #expect(child.wait(timeoutMilliseconds: 100) == nil)
        child.send(signal: SIGTERM)
        let ended = child.wait(timeoutMilliseconds: 10_000)
        #expect(ended == .signaled(SIGTERM))
        #expect(ended?.description == "killed by signal \(SIGTERM)")
        child.send(signal: SIGKILL) // reaped already: must not signal a reused pid
        #expect(child.poll() == .signaled(SIGTERM))
    }

    @Test func runKillsWhatOutlivesItsTimeout() throws {
        let started = SystemClock.shared.nowMilliseconds
        #expect(throws: RuntimeError.self) {
            try ChildProcess.run(try shell(), ["-c", "echo partial; exec sleep 30"], timeoutMilliseconds: 300)
        }
        #expect(SystemClock.shared.nowMilliseconds - started < 5_000)
    }

    @Test func findsExecutablesOnPath() {
        #expect(ChildProcess.findExecutable("sh", path: "/nonexistent:/bin:/usr/bin") != nil)
        #expect(ChildProcess.findExecutable("surely-not-a-command-pgk") == nil)
        #expect(ChildProcess.findExecutable("/bin/sh") == "/bin/sh")
    }

    @Test func reportsMissingExecutables() {
        #expect(throws: RuntimeError.self) { try ChildProcess.spawn("/nonexistent/program", []) }
    }
}
