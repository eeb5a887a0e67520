import Foundation
import Testing
@testable import PGKCore

/// The man pages and completions are generated from the command table and
/// committed. These tests fail when the committed copies are stale; run
/// `PGK_UPDATE_GENERATED=1 swift test --filter GeneratedFilesTests` to
/// rewrite them; that run always fails (as swift-argument-parser's
/// snapshot recording does), so it can never pass in place of the check.
@Suite struct GeneratedFilesTests {
    static let update = ProcessInfo.processInfo.environment["PGK_UPDATE_GENERATED"] == "1"

    func check(directory: String, expected: [(fileName: String, text: String)]) throws {
        let folder = RepositoryPaths.path(directory)
        let manager = FileManager.default
        if Self.update {
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let present = (try? manager.contentsOfDirectory(atPath: folder)) ?? []
            var changed: [String] = []
            for name in present where !expected.contains(where: { $0.fileName == name }) {
                try manager.removeItem(atPath: folder + "/" + name)
                changed.append("removed " + name)
            }
            for file in expected {
                let path = folder + "/" + file.fileName
                guard (try? String(contentsOfFile: path, encoding: .utf8)) != file.text else { continue }
                try file.text.write(toFile: path, atomically: true, encoding: .utf8)
                changed.append("wrote " + file.fileName)
            }
            // Update mode never passes, so it cannot stand in for the check:
            // run again without PGK_UPDATE_GENERATED to see the result.
            let summary = changed.isEmpty ? "no changes" : changed.joined(separator: ", ")
            Issue.record("PGK_UPDATE_GENERATED=1 updated \(directory)/ (\(summary)); rerun without it to check")
            return
        }
        let present = Set((try? manager.contentsOfDirectory(atPath: folder)) ?? [])
        let wanted = Set(expected.map(\.fileName))
        #expect(present == wanted, "\(directory)/ differs from the command table: extra \(present.subtracting(wanted).sorted()), missing \(wanted.subtracting(present).sorted())")
        for file in expected {
            let committed = try? String(contentsOfFile: folder + "/" + file.fileName, encoding: .utf8)
            #expect(committed == file.text, "\(directory)/\(file.fileName) is stale; regenerate with PGK_UPDATE_GENERATED=1")
        }
    }

    @Test func manPagesAreCurrent() throws {
        try check(directory: "man", expected: ManPageRenderer.pages(root: CommandTable.root))
    }

    @Test func completionsAreCurrent() throws {
        let scripts = CompletionRenderer.Shell.allCases.map {
            (CompletionRenderer.fileName($0), CompletionRenderer.render($0, root: CommandTable.root))
        }
        try check(directory: "completions", expected: scripts)
    }

    @Test func completionScriptsAreValidShell() throws {
        let checks: [(shell: String, args: [String], file: String)] = [
            ("bash", ["-n"], "completions/pgk.bash"),
            ("zsh", ["-n"], "completions/_pgk"),
            ("fish", ["--no-execute"], "completions/pgk.fish"),
        ]
        for check in checks {
            guard let shell = which(check.shell) else {
                Issue.record("\(check.shell) not found; the README's test command installs it")
                continue
            }
            let result = try CommandRunner.run(shell, check.args + [RepositoryPaths.path(check.file)])
            #expect(result.status == 0, "\(check.shell) rejects \(check.file): \(result.stderr)")
        }
    }

    @Test func manPagesPassMandocLint() throws {
        guard let mandoc = which("mandoc") else {
            Issue.record("mandoc not found; the README's test command installs it")
            return
        }
        let pages = try FileManager.default.contentsOfDirectory(atPath: RepositoryPaths.path("man"))
            .filter { $0.hasSuffix(".1") }.sorted().map { RepositoryPaths.path("man/" + $0) }
        let result = try CommandRunner.run(mandoc, ["-T", "lint", "-W", "warning"] + pages)
        let text = result.stdout + result.stderr
        #expect(text.isEmpty && result.status == 0, "mandoc -T lint: \(text)")
    }

    func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func bashCompletionOffersSubcommandsOptionsAndChoices() throws {
        let script = RepositoryPaths.path("completions/pgk.bash")
        func complete(_ words: [String]) throws -> [String] {
            let quoted = words.map { "'\($0)'" }.joined(separator: " ")
            let program = """
            source '\(script)'
            COMP_WORDS=(pgk \(quoted)); COMP_CWORD=\(words.count)
            _pgk; printf '%s\\n' "${COMPREPLY[@]}"
            """
            return try CommandRunner.run("/bin/bash", ["-c", program]).stdout
                .split(separator: "\n").map(String.init)
        }
        #expect(try complete(["comp"]) == ["completion"])
        #expect(try complete(["-b", "x", "he"]) == ["help"])
        #expect(try complete(["completion", "--he"]) == ["--help"])
        #expect(try complete(["--verb"]) == ["--verbose"])
    }
}

/// Rules every command in the real table must follow.
@Suite struct CommandTableLintTests {
    @Test func namesAreUniqueAlongEveryCommandPath() {
        let globals = CommandTable.root.options.filter(\.isGlobal)
        for (path, command) in CommandTable.root.allCommands() {
            let options = (path.isEmpty ? [] : command.options) + globals
            let longs = options.flatMap { [$0.long] + $0.aliases + ($0.isNegatable ? ["no-" + $0.long] : []) }
            #expect(Set(longs).count == longs.count, "duplicate long option under pgk \(path): \(longs)")
            let shorts = options.compactMap(\.short)
            #expect(Set(shorts).count == shorts.count, "duplicate short option under pgk \(path): \(shorts)")
            let subs = command.subcommands.flatMap { [$0.name] + $0.aliases }
            #expect(Set(subs).count == subs.count, "duplicate subcommand under pgk \(path)")
            let arguments = command.arguments.map(\.name)
            #expect(Set(arguments).count == arguments.count)
            #expect(!longs.contains("help") && !shorts.contains("h"), "-h/--help is reserved (pgk \(path))")
        }
    }

    @Test func everythingHasHelpText() {
        for (path, command) in CommandTable.root.allCommands() {
            #expect(!command.summary.isEmpty, "pgk \(path) has no summary")
            #expect(command.summary.first?.isLowercase == true && !command.summary.hasSuffix("."),
                    "pgk \(path) summary should be lower case without a period: \(command.summary)")
            for option in command.options {
                #expect(!option.help.isEmpty, "--\(option.long) of pgk \(path) has no help")
            }
            for argument in command.arguments {
                #expect(!argument.help.isEmpty, "\(argument.name) of pgk \(path) has no help")
            }
            #expect(command.isGroup || command.run != nil, "leaf pgk \(path) has nothing to run")
        }
    }

    @Test func helpFitsEightyColumns() {
        for (path, _) in CommandTable.root.allCommands() {
            let help = HelpRenderer.render(root: CommandTable.root, path: path)
            for line in help.split(separator: "\n") {
                #expect(line.count <= 80, "pgk \(path.joined(separator: " ")) --help has a \(line.count)-column line: \(line)")
            }
        }
    }

    @Test func environmentVariablesDoNotCollideWithinACommand() {
        let globals = CommandTable.root.options.filter(\.isGlobal)
        for (path, command) in CommandTable.root.allCommands() {
            let names = ((path.isEmpty ? [] : command.options) + globals).flatMap(\.environmentVariables)
            #expect(Set(names).count == names.count, "pgk \(path): \(names)")
        }
    }
}

@Suite struct HelpSnapshotTests {
    @Test func leafHelpSnapshot() {
        let help = HelpRenderer.render(root: fixtureRoot, path: ["topics", "tail"])
        let expected = """
        Usage: pgk topics tail [OPTIONS] TOPIC

        Tail a topic.

        Arguments:
          TOPIC                     topic

        Options:
          -n, --count N             count
          -f, --follow              follow
          -o, --offset OFFSET       offset [default: beginning]
              --packing P           packing [default: json]
          -H, --header K=V          header
              --timeout T           timeout

        Global options:
          -b, --brokers HOST:PORT   Kafka bootstrap servers, comma-separated [default:
                                    localhost:9092]
          -X, --kafka-property KEY=VALUE
                                    librdkafka property, passed through verbatim
                                    (repeatable); '-X list' prints every property
          -d, --database CONNINFO   PostgreSQL conninfo or URL; unset, libpq's PG*
                                    variables apply
              --registry URL        Confluent Schema Registry URL, for Avro (http:// or
                                    https://)
              --registry-ca FILE    CA bundle (PEM) to verify an https:// registry with,
                                    instead of the system's
              --registry-cert FILE  Client certificate (PEM) for an https:// registry
              --registry-key FILE   The client certificate's private key (PEM)
          -v, --verbose             More diagnostics on stderr (repeat for more)
          -q, --quiet               Only errors on stderr
          -h, --help                Show this help

        """
        #expect(help == expected)
    }

    @Test func groupHelpListsCommands() {
        let help = HelpRenderer.render(root: fixtureRoot, path: ["topics"])
        #expect(help.hasPrefix("Usage: pgk topics COMMAND [OPTIONS]\n"))
        #expect(help.contains("Commands:\n  tail   tail a topic\n"))
        #expect(help.contains("Run 'pgk topics COMMAND --help' for more on a command."))
    }

    @Test func negatableFlagsAndAliasesAreShown() {
        let help = HelpRenderer.render(root: fixtureRoot, path: ["sink"])
        #expect(help.contains("--[no-]create"))
        #expect(help.contains("[alias: --lookup]"))
    }

    @Test func manPageForALeafIsWellFormedMdoc() {
        let pages = ManPageRenderer.pages(root: fixtureRoot)
        #expect(pages.map(\.fileName) == ["pgk.1", "pgk-topics-tail.1", "pgk-sink.1", "pgk-run.1"])
        let tail = pages[1].text
        #expect(tail.contains(".Dd \(PGKVersion.manDate)\n.Dt PGK-TOPICS-TAIL 1\n"))
        #expect(tail.contains(".It Fl n , Fl \\-count Ar N\n"))
        #expect(tail.contains(".It Ev PGK_COUNT\nSets \\-\\-count."))
    }
}
