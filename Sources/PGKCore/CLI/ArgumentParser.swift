/// What a command line asks for.
enum ParseOutcome: Sendable {
    case run(Invocation)
    /// `--help`/`-h` anywhere before `--`, for the deepest command resolved.
    case help(path: [String])
    case version
}

/// A hand-written parser driven entirely by the `CommandSpec` tree.
///
/// Accepts `--name=value`, `--name value`, `-n value`, `-nvalue`, bundled
/// short flags, `--`, repeatable options, choices and typed values. Global
/// options are accepted before or after the verb.
struct ArgumentParser: Sendable {
    let root: CommandSpec

    init(root: CommandSpec) { self.root = root }

    func parse(_ arguments: [String], environment: [String: String] = [:],
                      stop: StopToken = .process, output: OutputSink = .standardOutput) throws(UsageError) -> ParseOutcome {
        var state = ParseState(root: root)
        do {
            try state.consume(arguments)
        } catch {
            // Help wins over mistakes made elsewhere on the same line.
            let beforeDoubleDash = arguments.prefix { $0 != "--" }
            if state.helpRequested || beforeDoubleDash.contains(where: { $0 == "-h" || $0 == "--help" }) {
                return .help(path: state.names)
            }
            throw error
        }
        if state.helpRequested { return .help(path: state.names) }
        if state.versionRequested { return .version }
        return .run(try state.finish(environment: environment, stop: stop, output: output))
    }
}

private struct ParseState {
    let root: CommandSpec
    var commands: [CommandSpec]
    var names: [String] = []
    var values: [String: [String]] = [:]
    var positionals: [String] = []
    var helpRequested = false
    var versionRequested = false

    static let maxCounterRepeats = 100

    init(root: CommandSpec) {
        self.root = root
        commands = [root]
    }

    var current: CommandSpec { commands[commands.count - 1] }
    var pathText: String { (["pgk"] + names).joined(separator: " ") }

    func usage(_ message: String, suggestion: String? = nil) -> UsageError {
        UsageError(message, suggestion: suggestion, commandPath: names)
    }

    /// Options visible here: the current command's own, plus the globals.
    var visibleOptions: [OptionSpec] {
        let globals = root.options.filter(\.isGlobal)
        let locals = commands.count == 1 ? root.options.filter { !$0.isGlobal } : current.options
        return locals + globals
    }

    mutating func consume(_ arguments: [String]) throws(UsageError) {
        var index = 0
        var verbatim = false
        while index < arguments.count {
            let token = arguments[index]
            index += 1
            if verbatim {
                positionals.append(token)
                continue
            }
            if token == "--" {
                verbatim = true
            } else if token == "-h" || token == "--help" {
                helpRequested = true
            } else if token == "--version" && commands.count == 1 {
                versionRequested = true
            } else if token.hasPrefix("--") {
                try consumeLong(token, arguments, &index)
            } else if token.hasPrefix("-") && token.count > 1 {
                try consumeShortBundle(token, arguments, &index)
            } else if current.isGroup && positionals.isEmpty {
                guard let next = current.subcommand(named: token) else {
                    throw unknownCommand(token)
                }
                commands.append(next)
                names.append(next.name)
            } else {
                positionals.append(token)
                if argumentSpec(forPositional: positionals.count - 1)?.capturesRest == true {
                    verbatim = true
                }
            }
        }
    }

    func argumentSpec(forPositional position: Int) -> ArgumentSpec? {
        var seen = 0
        for argument in current.arguments {
            if argument.isVariadic || seen == position { return argument }
            seen += 1
        }
        return nil
    }

    func unknownCommand(_ token: String) -> UsageError {
        let candidates = current.subcommands.flatMap { [$0.name] + $0.aliases }
        let suggestion = Suggestions.closest(to: token, among: candidates).map { "did you mean '\($0)'?" }
        return usage("unknown command '\(token)' for '\(pathText)'", suggestion: suggestion)
    }

    mutating func consumeLong(_ token: String, _ arguments: [String], _ index: inout Int) throws(UsageError) {
        let body = token.dropFirst(2)
        let name: String
        var inline: String?
        if let eq = body.firstIndex(of: "=") {
            name = String(body[..<eq])
            inline = String(body[body.index(after: eq)...])
        } else {
            name = String(body)
        }
        let options = visibleOptions
        if let option = options.first(where: { $0.long == name || $0.aliases.contains(name) }) {
            switch option.kind {
            case .flag:
                let value = try inline.map { (text) throws(UsageError) in
                    try parseBoolean(text, source: "--\(name)")
                } ?? true
                record(option, value ? "true" : "false")
            case .counter:
                guard inline == nil else { throw usage("option '--\(name)' takes no value") }
                record(option, "1")
            case .value:
                let raw: String
                if let inline { raw = inline } else {
                    guard index < arguments.count else {
                        throw usage("option '--\(name)' needs a value (\(option.valueName))")
                    }
                    raw = arguments[index]
                    index += 1
                }
                record(option, try ValueValidator.validate(raw, for: option, source: "--\(name)"))
            }
            return
        }
        if name.hasPrefix("no-"),
           let option = options.first(where: { $0.isNegatable && $0.long == name.dropFirst(3) }) {
            guard inline == nil else { throw usage("option '--\(name)' takes no value") }
            record(option, "false")
            return
        }
        throw unknownLongOption(name, among: options)
    }

    func unknownLongOption(_ name: String, among options: [OptionSpec]) -> UsageError {
        let candidates = options.flatMap { option in
            [option.long] + option.aliases + (option.isNegatable ? ["no-" + option.long] : [])
        }
        if let close = Suggestions.closest(to: name, among: candidates) {
            return usage("unknown option '--\(name)'", suggestion: "did you mean '--\(close)'?")
        }
        if let owner = Suggestions.commandDeclaring(option: name, in: root) {
            return usage("unknown option '--\(name)' for '\(pathText)'",
                         suggestion: "'--\(name)' is an option of '\(owner)'")
        }
        return usage("unknown option '--\(name)'")
    }

    mutating func consumeShortBundle(_ token: String, _ arguments: [String], _ index: inout Int) throws(UsageError) {
        let letters = Array(token.dropFirst())
        var position = 0
        let options = visibleOptions
        while position < letters.count {
            let letter = letters[position]
            position += 1
            guard let option = options.first(where: { $0.short == letter }) else {
                // A String: some letters change length with case ("ß" → "SS").
                let flipped = letter.isUppercase ? letter.lowercased() : letter.uppercased()
                let suggestion = options.first { $0.short.map(String.init) == flipped }
                    .map { "did you mean '-\(flipped)' (--\($0.long))?" }
                throw usage("unknown option '-\(letter)'", suggestion: suggestion)
            }
            switch option.kind {
            case .flag: record(option, "true")
            case .counter: record(option, "1")
            case .value:
                let raw: String
                if position < letters.count {
                    raw = String(letters[position...])
                    position = letters.count
                } else {
                    guard index < arguments.count else {
                        throw usage("option '-\(letter)' needs a value (\(option.valueName))")
                    }
                    raw = arguments[index]
                    index += 1
                }
                record(option, try ValueValidator.validate(raw, for: option, source: "-\(letter)"))
            }
        }
    }

    mutating func record(_ option: OptionSpec, _ value: String) {
        switch option.kind {
        case .counter: values[option.long, default: []].append(value)
        default:
            if option.repeatable {
                values[option.long, default: []].append(value)
            } else {
                // Last one wins, so a shell alias can be overridden.
                values[option.long] = [value]
            }
        }
    }

    func parseBoolean(_ text: String, source: String) throws(UsageError) -> Bool {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: throw usage("invalid value '\(text)' for \(source): expected true or false")
        }
    }

    mutating func finish(environment: [String: String], stop: StopToken,
                         output: OutputSink) throws(UsageError) -> Invocation {
        if current.isGroup && current.run == nil {
            let list = current.subcommands.map(\.name).joined(separator: ", ")
            throw usage("'\(pathText)' needs a command: \(list)")
        }
        let options = visibleOptions
        for option in options where values[option.long] == nil {
            try applyEnvironment(option, environment)
        }
        for option in options where option.required && values[option.long] == nil {
            let envHint = option.environmentVariables.first.map { " (or set \($0))" } ?? ""
            throw usage("missing required option --\(option.long)\(envHint)")
        }
        let arguments = try assignPositionals()
        var declared: [String: OptionSpec] = [:]
        for option in options { declared[option.long] = option }
        return Invocation(path: names, command: current, values: values, arguments: arguments,
                          declared: declared, environment: environment, stop: stop, output: output)
    }

    mutating func applyEnvironment(_ option: OptionSpec, _ environment: [String: String]) throws(UsageError) {
        guard let variable = option.environmentVariables.first(where: { environment[$0] != nil }),
              let text = environment[variable] else { return }
        let source = "environment variable \(variable)"
        switch option.kind {
        case .flag:
            record(option, try parseBoolean(text, source: source) ? "true" : "false")
        case .counter:
            guard let n = Int(text), n >= 0 else { throw usage("invalid value '\(text)' for \(source): expected a count") }
            // The count is stored as that many entries; levels stop growing
            // long before the cap, and PGK_VERBOSE=99999999999 must not
            // allocate terabytes.
            values[option.long] = Array(repeating: "1", count: min(n, Self.maxCounterRepeats))
        case .value:
            let parts = option.repeatable
                ? text.split(separator: option.environmentSeparator).map(String.init)
                : [text]
            for part in parts {
                record(option, try ValueValidator.validate(part, for: option, source: source))
            }
        }
    }

    func assignPositionals() throws(UsageError) -> [String: [String]] {
        let specs = current.arguments
        var result: [String: [String]] = [:]
        var remaining = positionals[...]
        for (offset, argument) in specs.enumerated() {
            let laterRequired = specs[(offset + 1)...].filter(\.isRequired).count
            switch argument.arity {
            case .one, .optional:
                if let first = remaining.first, remaining.count > laterRequired || argument.arity == .one {
                    result[argument.name] = [first]
                    remaining = remaining.dropFirst()
                } else if argument.arity == .one {
                    throw usage("missing argument \(argument.name) for '\(pathText)'")
                }
            case .oneOrMore, .zeroOrMore:
                let take = max(0, remaining.count - laterRequired)
                if take == 0 && argument.arity == .oneOrMore {
                    throw usage("missing argument \(argument.name) for '\(pathText)'")
                }
                result[argument.name] = Array(remaining.prefix(take))
                remaining = remaining.dropFirst(take)
            }
        }
        if let extra = remaining.first {
            throw usage("unexpected argument '\(extra)' for '\(pathText)'")
        }
        return result
    }
}

enum ValueValidator {
    /// Checks a raw value against the option's kind and returns its
    /// canonical form (choice aliases resolved).
    static func validate(_ raw: String, for option: OptionSpec, source: String) throws(UsageError) -> String {
        guard case .value(let kind) = option.kind else { return raw }
        func invalid(_ expectation: String, suggestion: String? = nil) -> UsageError {
            UsageError("invalid value '\(raw)' for \(source): expected \(expectation)", suggestion: suggestion)
        }
        switch kind {
        case .text, .path:
            return raw
        case .parsed(let check):
            if let reason = check(raw) { throw UsageError("invalid value '\(raw)' for \(source): \(reason)") }
            return raw
        case .integer(let range):
            guard let number = Int64(raw) else { throw invalid(describe(range)) }
            guard range.contains(number) else { throw invalid(describe(range)) }
            return raw
        case .choice(let words, let aliases):
            if words.contains(raw) { return raw }
            if let canonical = aliases[raw] { return canonical }
            let suggestion = Suggestions.closest(to: raw, among: words + aliases.keys.sorted())
                .map { "did you mean '\($0)'?" }
            throw invalid("one of " + words.joined(separator: ", "), suggestion: suggestion)
        case .duration(let unit):
            guard DurationText.milliseconds(raw, bareUnitMilliseconds: unit) != nil else {
                throw invalid("a duration such as 500ms, 10s, 2m or 1h")
            }
            return raw
        case .setting(let words):
            if words.contains(raw) { return raw }
            guard let eq = raw.firstIndex(of: "="), eq != raw.startIndex else {
                throw invalid("KEY=VALUE")
            }
            return raw
        }
    }

    static func describe(_ range: ClosedRange<Int64>) -> String {
        switch (range.lowerBound, range.upperBound) {
        case (Int64.min, Int64.max): return "an integer"
        case (let low, Int64.max): return "an integer of at least \(low)"
        case (let low, let high): return "an integer from \(low) to \(high)"
        }
    }
}

enum Suggestions {
    /// The closest candidate within a small edit distance, or a unique
    /// candidate that the input is a prefix of.
    static func closest(to input: String, among candidates: [String]) -> String? {
        let limit = max(1, min(3, input.count / 3 + 1))
        let scored = candidates.map { ($0, distance(input, $0)) }.filter { $0.1 <= limit }
        if let best = scored.min(by: { $0.1 < $1.1 }) { return best.0 }
        let prefixed = candidates.filter { $0.hasPrefix(input) }
        return prefixed.count == 1 ? prefixed[0] : nil
    }

    /// Optimal-string-alignment distance, so a swapped pair costs one.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }

    /// The first command (depth-first) that declares a long option.
    static func commandDeclaring(option name: String, in root: CommandSpec) -> String? {
        func search(_ command: CommandSpec, _ path: [String]) -> String? {
            if command.options.contains(where: { ($0.long == name || $0.aliases.contains(name)) && !$0.isGlobal }) {
                return path.joined(separator: " ")
            }
            for sub in command.subcommands {
                if let found = search(sub, path + [sub.name]) { return found }
            }
            return nil
        }
        return search(root, ["pgk"])
    }
}
