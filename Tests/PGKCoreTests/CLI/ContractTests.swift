import Foundation
import Testing
@testable import PGKCore

/// The built binary's contract with scripts: help on stdout with status 0,
/// usage errors on stderr with status 64 and a suggestion.
@Suite struct ContractTests {
    /// A clean environment, so a developer's PGK_* variables cannot change results.
    static let environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]

    /// Every command in-process (fast); the binary itself is checked below.
    @Test(arguments: CommandTable.root.allCommands().map(\.path))
    func helpGoesToStdoutWithStatusZero(path: [String]) throws {
        let result = try InProcessPGK.run(path + ["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("Usage: " + (["pgk"] + path).joined(separator: " ")))
        let viaHelp = try InProcessPGK.run(["help"] + path)
        #expect(viaHelp.status == 0)
        #expect(viaHelp.stdout == result.stdout)
    }

    @Test(arguments: [["sink"], ["cdc", "wal", "run"], ["topics"]])
    func theBinaryPrintsHelpOnStdoutOnly(path: [String]) throws {
        let result = try CommandRunner.pgk(path + ["--help"], environment: Self.environment)
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "stderr: \(result.stderr)")
        #expect(result.stdout == (try InProcessPGK.run(path + ["--help"])).stdout)
    }

    @Test(arguments: CommandTable.root.leaves().map(\.path))
    func badOptionExits64InProcessWithNothingOnStdout(path: [String]) throws {
        let result = try InProcessPGK.run(path + ["--quiett"])
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
    }

    @Test(arguments: CommandTable.root.leaves().map(\.path))
    func badOptionGoesToStderrWithStatus64(path: [String]) throws {
        let result = try CommandRunner.pgk(path + ["--quiett"], environment: Self.environment)
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        let command = (["pgk"] + path).joined(separator: " ")
        #expect(result.stderr == """
            pgk: error: unknown option '--quiett'
            pgk: did you mean '--quiet'?
            Try '\(command) --help' for more information.

            """)
    }

    @Test func unknownCommandSuggests() throws {
        let result = try CommandRunner.pgk(["halp"], environment: Self.environment)
        #expect(result.status == 64)
        #expect(result.stderr.contains("pgk: error: unknown command 'halp' for 'pgk'"))
        #expect(result.stderr.contains("did you mean 'help'?"))
    }

    @Test func versionPrintsLibraryVersions() throws {
        let result = try CommandRunner.pgk(["--version"], environment: Self.environment)
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("pgk \(PGKVersion.number) (librdkafka "))
    }

    @Test func kafkaPropertyListPrintsLibrdkafkasTable() throws {
        let result = try CommandRunner.pgk(["-X", "list"], environment: Self.environment)
        #expect(result.status == 0)
        #expect(result.stdout.contains("bootstrap.servers"))
        #expect(result.stdout.contains("enable.idempotence"))
    }

    @Test func completionScriptsMatchTheCommittedFiles() throws {
        for shell in CompletionRenderer.Shell.allCases {
            let result = try CommandRunner.pgk(["completion", shell.rawValue], environment: Self.environment)
            #expect(result.status == 0)
            let committed = try String(contentsOfFile: RepositoryPaths.path("completions/" + CompletionRenderer.fileName(shell)),
                                       encoding: .utf8)
            #expect(result.stdout == committed)
        }
    }

    @Test func invalidEnvironmentIsAUsageError() throws {
        var environment = Self.environment
        environment["PGK_VERBOSE"] = "loud"
        let result = try CommandRunner.pgk(["completion", "bash"], environment: environment)
        #expect(result.status == 64)
        #expect(result.stderr.contains("environment variable PGK_VERBOSE"))
    }
}
