#if canImport(Glibc)
import Glibc
#endif

/// `pgk dev up` and `pgk dev run`: try pgk with nothing else running.
enum DevCommands {
    static let createTopic: Option<[(name: String, partitions: Int)]> = .parsedList(
        "create-topic", name: "NAME[:PARTITIONS]",
        help: "Pre-create a topic in the mock cluster (repeatable); auto-created topics get 4 partitions") { text in
            guard let topic = DevStack.parseTopic(text) else { throw UsageError("expected NAME or NAME:PARTITIONS") }
            return topic
        }
    static var topicOption: OptionSpec { createTopic.spec }

    static let spec = CommandSpec(
        name: "dev",
        summary: "run an embedded PostgreSQL, Kafka and schema registry",
        discussion: """
        Starts a throwaway PostgreSQL cluster (from the local PostgreSQL \
        install, wal_level=logical, on a free loopback port), librdkafka's \
        mock Kafka cluster and a Confluent-compatible schema registry. \
        Everything lives in a temporary directory and is removed on exit.
        """,
        subcommands: [up, run])

    static let up = CommandSpec(
        name: "up",
        summary: "start the embedded stack in the foreground",
        discussion: """
        Prints 'export PGK_BROKERS=… PGK_DATABASE=… PGK_REGISTRY=…' lines on \
        stdout, then runs until Ctrl-C or SIGTERM, when it removes everything.
        """,
        options: [topicOption],
        examples: [Example("pgk dev up --create-topic events:8",
                           "Start the stack with an 8-partition topic; paste the export lines into another shell.")],
        run: { invocation in
            let stack = try startStack(invocation)
            defer { stack.shutdown() }
            let exports = stack.environment.map { "export \($0.name)=\(shellQuote($0.value))" }
            try invocation.output.write(exports.joined(separator: "\n") + "\n")
            try invocation.output.flush()
            Log.info("dev: PostgreSQL in \(stack.postgres.baseDirectory), Kafka at \(stack.kafka.bootstrapServers), "
                + "registry at \(stack.registry.url); Ctrl-C stops and removes everything")
            while !invocation.stop.isStopped {
                invocation.stop.sleep(milliseconds: 1000)
                if !stack.postgres.isRunning {
                    throw RuntimeError("dev: PostgreSQL stopped unexpectedly; log tail:\n\(stack.postgres.logTail())")
                }
            }
            Log.info("dev: stopping")
            return ExitStatus.ok
        })

    static let run = CommandSpec(
        name: "run",
        summary: "run a command against a fresh embedded stack",
        discussion: """
        Starts the stack, runs COMMAND with PGK_BROKERS, PGK_DATABASE and \
        PGK_REGISTRY set and this pgk first on PATH, tears the stack down and \
        exits with the command's status (128+N when it was killed by signal N).
        """,
        arguments: [ArgumentSpec("COMMAND", help: "The program and its arguments", arity: .oneOrMore,
                                 completion: .command, capturesRest: true)],
        options: [topicOption],
        examples: [
            Example("pgk dev run -- psql -c 'select version()'",
                    "Run psql against a throwaway cluster (PGK_DATABASE is a URL psql accepts)."),
            Example("pgk dev run -- sh -c 'pgk topics produce t < data.ndjson && pgk topics tail t'",
                    "Try produce and tail without a broker."),
        ],
        run: { invocation in
            let words = invocation.arguments("COMMAND")
            guard let executable = ChildProcess.findExecutable(words[0], path: invocation.environment["PATH"]) else {
                throw RuntimeError("dev run: command not found: \(words[0])")
            }
            let stack = try startStack(invocation)
            defer { stack.shutdown() }
            var environment = invocation.environment
            for variable in stack.environment { environment[variable.name] = variable.value }
            // Scripts run under `dev run` call this same pgk, not whichever is installed.
            if let directory = ownDirectory() {
                environment["PATH"] = directory + (environment["PATH"].map { ":" + $0 } ?? "")
            }
            let child = try ChildProcess.spawn(executable, Array(words.dropFirst()), environment: environment,
                                               stdin: .inherit)
            let termination = waitForwardingStop(child, stop: invocation.stop)
            switch termination {
            case .exited(let status): return status
            case .signaled(let signal): return 128 + signal
            }
        })

    static func startStack(_ invocation: Invocation) throws -> DevStack {
        var options = DevStack.Options()
        options.topics = invocation[createTopic]
        return try DevStack(options: options)
    }

    /// Waits for the child; a stop request (SIGINT/SIGTERM to us) is passed
    /// on as SIGTERM, so a SIGTERM sent only to pgk still ends the child.
    static func waitForwardingStop(_ child: ChildProcess, stop: StopToken) -> ChildProcess.Termination {
        var forwarded = false
        while true {
            if let done = child.wait(timeoutMilliseconds: 200) { return done }
            if stop.isStopped && !forwarded {
                child.send(signal: SIGTERM)
                forwarded = true
            }
        }
    }

    static func ownDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }

    static func shellQuote(_ text: String) -> String {
        let safe = text.allSatisfy { $0.isLetter || $0.isNumber || "@%+=:,./-_".contains($0) }
        if safe { return text }
        return "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
