/// The whole command tree. Verbs add themselves here, and nowhere else.
enum CommandTable {
    static let root: CommandSpec = CommandSpec(
        name: "pgk",
        summary: "move data between PostgreSQL and Kafka",
        discussion: """
        pgk sinks Kafka topics into PostgreSQL tables, streams table changes \
        out to Kafka through triggers or the WAL, and inspects and \
        administers topics. It is one binary built on librdkafka and libpq, \
        so librdkafka properties (-X) and libpq connection strings, PG* \
        variables and ~/.pgpass all work as they do elsewhere.
        """,
        options: GlobalOptions.specs,
        subcommands: [
            SinkCommand.spec,
            CDCCommand.spec,
            TopicsCommand.spec,
            PublishCommand.spec,
            SubscribeCommand.spec,
            SQLCommand.spec,
            DevCommands.spec,
            BuiltinCommands.help,
            BuiltinCommands.completion,
        ]
    )
}

enum BuiltinCommands {
    static let help = CommandSpec(
        name: "help",
        summary: "show help for a command",
        arguments: [ArgumentSpec("COMMAND", help: "The command path, e.g. 'topics tail'", arity: .zeroOrMore)],
        examples: [Example("pgk help topics tail", "The same as 'pgk topics tail --help'.")],
        run: { invocation in
            let words = invocation.arguments("COMMAND")
            let chain = CommandSpec.chain(root: CommandTable.root, path: words)
            if chain.count - 1 < words.count {
                let parent = chain.last!
                let unknown = words[chain.count - 1]
                let candidates = parent.subcommands.map(\.name)
                throw UsageError(
                    "unknown command '\(unknown)' for '\((["pgk"] + words.prefix(chain.count - 1)).joined(separator: " "))'",
                    suggestion: Suggestions.closest(to: unknown, among: candidates).map { "did you mean '\($0)'?" },
                    commandPath: ["help"])
            }
            try invocation.output.write(HelpRenderer.render(root: CommandTable.root, path: words))
            return ExitStatus.ok
        })

    static let completion = CommandSpec(
        name: "completion",
        summary: "print a shell completion script",
        discussion: "The same scripts are installed from the completions/ directory of the source tree.",
        arguments: [ArgumentSpec("SHELL", help: "bash, zsh or fish")],
        examples: [
            Example("source <(pgk completion bash)", "Enable completion in the current bash session."),
            Example("pgk completion fish > ~/.config/fish/completions/pgk.fish", "Install for fish."),
        ],
        run: { invocation in
            let name = invocation.argument("SHELL")!
            guard let shell = CompletionRenderer.Shell(rawValue: name) else {
                throw invocation.usageError(
                    "unknown shell '\(name)': expected bash, zsh or fish",
                    suggestion: Suggestions.closest(to: name, among: CompletionRenderer.Shell.allCases.map(\.rawValue))
                        .map { "did you mean '\($0)'?" })
            }
            try invocation.output.write(CompletionRenderer.render(shell, root: CommandTable.root))
            return ExitStatus.ok
        })
}
