/// The declarative command table. One tree of `CommandSpec` values drives
/// parsing, `--help`, the man pages, the shell completions and the `PGK_*`
/// environment fallbacks, so they can never disagree.
struct CommandSpec: Sendable {
    typealias Runner = @Sendable (Invocation) throws -> Int32

    var name: String
    var aliases: [String]
    /// One line, lower case, no trailing period: shown in command lists and
    /// as the man page's NAME description.
    var summary: String
    /// Paragraphs shown under the usage line and in DESCRIPTION.
    var discussion: String
    var arguments: [ArgumentSpec]
    var options: [OptionSpec]
    var subcommands: [CommandSpec]
    var examples: [Example]
    /// Nil for a group whose work is done by its subcommands.
    var run: Runner?

    init(
        name: String, aliases: [String] = [], summary: String, discussion: String = "",
        arguments: [ArgumentSpec] = [], options: [OptionSpec] = [],
        subcommands: [CommandSpec] = [], examples: [Example] = [], run: Runner? = nil
    ) {
        self.name = name
        self.aliases = aliases
        self.summary = summary
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
        self.subcommands = subcommands
        self.examples = examples
        self.run = run
    }

    var isGroup: Bool { !subcommands.isEmpty }

    func subcommand(named name: String) -> CommandSpec? {
        subcommands.first { $0.name == name || $0.aliases.contains(name) }
    }
}

struct Example: Sendable {
    var command: String
    var explanation: String
    init(_ command: String, _ explanation: String) {
        self.command = command
        self.explanation = explanation
    }
}

struct ArgumentSpec: Sendable {
    enum Arity: Sendable { case one, optional, oneOrMore, zeroOrMore }

    var name: String
    var help: String
    var arity: Arity
    var completion: CompletionHint
    /// Once this argument starts, every later token is taken verbatim, so
    /// `pgk dev run psql -c 'select 1'` needs no `--`.
    var capturesRest: Bool

    init(_ name: String, help: String, arity: Arity = .one,
                completion: CompletionHint = .none, capturesRest: Bool = false) {
        self.name = name
        self.help = help
        self.arity = arity
        self.completion = completion
        self.capturesRest = capturesRest
    }

    var isVariadic: Bool { arity == .oneOrMore || arity == .zeroOrMore }
    var isRequired: Bool { arity == .one || arity == .oneOrMore }

    var usageForm: String {
        switch arity {
        case .one: return name
        case .optional: return "[\(name)]"
        case .oneOrMore: return "\(name)..."
        case .zeroOrMore: return "[\(name)...]"
        }
    }
}

enum CompletionHint: Sendable, Equatable {
    case none, file, directory, command
}

/// What an option's value must look like. Values are validated while
/// parsing, so commands read already-checked data.
enum ValueKind: Sendable {
    case text
    case integer(ClosedRange<Int64>)
    /// Allowed words, plus aliases that map onto them (dbsink's
    /// `largest`/`smallest`, for example).
    case choice([String], aliases: [String: String])
    /// A duration such as `500ms`, `10s`, `2m` or `1h`; a bare number is
    /// taken in `bareUnitMilliseconds` units.
    case duration(bareUnitMilliseconds: Int64)
    /// `key=value`, or one of a few reserved words (`-X list`).
    case setting(orWords: [String])
    case path
    /// Text with its own syntax; `check` returns why a value is wrong.
    case parsed(check: @Sendable (String) -> String?)

    static func choice(_ words: [String]) -> ValueKind { .choice(words, aliases: [:]) }
    static let keyValue = ValueKind.setting(orWords: [])
    static let count = ValueKind.integer(0...Int64.max)
    static let positive = ValueKind.integer(1...Int64.max)
}

struct OptionSpec: Sendable {
    enum Kind: Sendable {
        /// A boolean switch. `negatable` also accepts `--no-NAME`.
        case flag(negatable: Bool)
        /// A switch counted each time it appears (`-vvv`).
        case counter
        case value(ValueKind)
    }

    /// Where the environment fallback comes from.
    enum Environment: Sendable, Equatable {
        /// `PGK_` + the long name in upper snake case.
        case automatic
        /// These variables, first set wins (e.g. PGK_DATABASE, DATABASE_URL).
        case variables([String])
        case none
    }

    var long: String
    var short: Character?
    /// Other long names accepted, for users migrating from other tools.
    var aliases: [String]
    var kind: Kind
    var valueName: String
    var help: String
    var defaultValue: String?
    var repeatable: Bool
    var required: Bool
    var environment: Environment
    /// Separator for a repeatable option given through the environment.
    var environmentSeparator: Character
    /// Global options belong to the root and are accepted on every command,
    /// before or after the verb.
    var isGlobal: Bool
    var completion: CompletionHint

    init(
        _ long: String, short: Character? = nil, aliases: [String] = [], kind: Kind,
        valueName: String = "VALUE", help: String, defaultValue: String? = nil,
        repeatable: Bool = false, required: Bool = false,
        environment: Environment = .automatic, environmentSeparator: Character = ",",
        isGlobal: Bool = false, completion: CompletionHint = .none
    ) {
        self.long = long
        self.short = short
        self.aliases = aliases
        self.kind = kind
        self.valueName = valueName
        self.help = help
        self.defaultValue = defaultValue
        self.repeatable = repeatable
        self.required = required
        self.environment = environment
        self.environmentSeparator = environmentSeparator
        self.isGlobal = isGlobal
        self.completion = completion
    }

    static func flag(_ long: String, short: Character? = nil, aliases: [String] = [],
                            negatable: Bool = false, help: String,
                            environment: Environment = .automatic) -> OptionSpec {
        OptionSpec(long, short: short, aliases: aliases, kind: .flag(negatable: negatable),
                   help: help, environment: environment)
    }

    static func value(_ long: String, short: Character? = nil, aliases: [String] = [],
                             _ kind: ValueKind = .text, name: String, help: String,
                             default defaultValue: String? = nil, repeatable: Bool = false,
                             required: Bool = false, environment: Environment = .automatic,
                             completion: CompletionHint? = nil) -> OptionSpec {
        var hint = completion ?? .none
        if completion == nil, case .path = kind { hint = .file }
        return OptionSpec(long, short: short, aliases: aliases, kind: .value(kind),
                          valueName: name, help: help, defaultValue: defaultValue,
                          repeatable: repeatable, required: required,
                          environment: environment, completion: hint)
    }

    var takesValue: Bool {
        if case .value = kind { return true }
        return false
    }

    var isNegatable: Bool {
        if case .flag(let negatable) = kind { return negatable }
        return false
    }

    /// The variables consulted when the option is not on the command line.
    var environmentVariables: [String] {
        switch environment {
        case .automatic: return ["PGK_" + String(long.uppercased().map { $0 == "-" ? "_" : $0 })]
        case .variables(let names): return names
        case .none: return []
        }
    }

    /// Choices including aliases, for completions.
    var choiceWords: [String] {
        if case .value(.choice(let words, _)) = kind { return words }
        return []
    }
}
