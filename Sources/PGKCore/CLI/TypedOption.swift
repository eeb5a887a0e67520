/// A typed handle on one declared option: the spec that parsing, help, man
/// pages, completions and the environment fallback read, together with the
/// one function that turns the option's checked text into `Value`.
///
/// Commands declare their options as static `Option`s, list their `spec`s
/// in the command table and read them back with `invocation[option]`, so a
/// misspelt option is a compile error and every value is decoded the same
/// way in every verb. Values are checked while parsing (a bad one is a
/// usage error, exit 64), so decoding here cannot fail.
struct Option<Value>: Sendable {
    let spec: OptionSpec
    /// Gets the values given on the command line or in the environment,
    /// in order; empty when the option was not given.
    private let decode: @Sendable (_ given: [String]) -> Value

    private init(_ spec: OptionSpec, decode: @escaping @Sendable ([String]) -> Value) {
        self.spec = spec
        self.decode = decode
    }

    func value(given: [String]) -> Value { decode(given) }
}

/// Parsing already accepted the text, so a failed conversion is a bug in
/// the option's declaration, not a user mistake.
private func converted<T>(_ value: T?, _ text: String, _ spec: OptionSpec) -> T {
    guard let value else { preconditionFailure("--\(spec.long): checked value '\(text)' did not convert") }
    return value
}

// MARK: - Text

extension Option where Value == String {
    /// Text with a default, so it always has a value.
    static func text(_ long: String, short: Character? = nil, aliases: [String] = [], name: String,
                     help: String, default defaultValue: String,
                     environment: OptionSpec.Environment = .automatic) -> Option {
        let spec = OptionSpec.value(long, short: short, aliases: aliases, .text, name: name, help: help,
                                    default: defaultValue, environment: environment)
        return Option(spec) { $0.last ?? defaultValue }
    }
}

extension Option where Value == String? {
    static func text(_ long: String, short: Character? = nil, aliases: [String] = [], _ kind: ValueKind = .text,
                     name: String, help: String, required: Bool = false,
                     environment: OptionSpec.Environment = .automatic,
                     completion: CompletionHint? = nil) -> Option {
        let spec = OptionSpec.value(long, short: short, aliases: aliases, kind, name: name, help: help,
                                    required: required, environment: environment, completion: completion)
        return Option(spec) { $0.last }
    }

    static func path(_ long: String, short: Character? = nil, aliases: [String] = [], name: String = "FILE",
                     help: String, environment: OptionSpec.Environment = .automatic) -> Option {
        text(long, short: short, aliases: aliases, .path, name: name, help: help, environment: environment)
    }
}

extension Option where Value == [String] {
    /// A repeatable option; the environment gives a `separator`-separated list.
    static func list(_ long: String, short: Character? = nil, aliases: [String] = [], _ kind: ValueKind = .text,
                     name: String, help: String, required: Bool = false,
                     environment: OptionSpec.Environment = .automatic,
                     completion: CompletionHint? = nil) -> Option {
        let spec = OptionSpec.value(long, short: short, aliases: aliases, kind, name: name, help: help,
                                    repeatable: true, required: required, environment: environment,
                                    completion: completion)
        return Option(spec) { $0 }
    }
}

// MARK: - Flags

extension Option where Value == Bool {
    static func flag(_ long: String, short: Character? = nil, aliases: [String] = [], help: String,
                     environment: OptionSpec.Environment = .automatic) -> Option {
        let spec = OptionSpec.flag(long, short: short, aliases: aliases, help: help, environment: environment)
        return Option(spec) { $0.last == "true" }
    }
}

extension Option where Value == Bool {
    /// A flag that destroys data. It is read from the command line only: a
    /// forgotten `export PGK_DROP=1` must not drop a table on every run.
    static func destructiveFlag(_ long: String, help: String) -> Option {
        flag(long, help: help + " (command line only)", environment: .none)
    }
}

extension Option where Value == Bool? {
    /// `--x` / `--no-x`; nil when neither was given.
    static func negatableFlag(_ long: String, help: String) -> Option {
        let spec = OptionSpec.flag(long, negatable: true, help: help)
        return Option(spec) { $0.last.map { $0 == "true" } }
    }
}

// MARK: - Numbers and durations

extension Option where Value == Int {
    static func integer(_ long: String, short: Character? = nil, _ range: ClosedRange<Int64> = 0...Int64.max,
                        name: String = "N", help: String, default defaultValue: Int) -> Option {
        let spec = OptionSpec.value(long, short: short, .integer(range), name: name, help: help,
                                    default: String(defaultValue))
        return Option(spec) { given in given.last.map { converted(Int($0), $0, spec) } ?? defaultValue }
    }
}

extension Option where Value == Int? {
    static func integer(_ long: String, short: Character? = nil, _ range: ClosedRange<Int64> = 0...Int64.max,
                        name: String = "N", help: String) -> Option {
        let spec = OptionSpec.value(long, short: short, .integer(range), name: name, help: help)
        return Option(spec) { given in given.last.map { converted(Int($0), $0, spec) } }
    }
}

extension Option where Value == Int64 {
    /// A duration in milliseconds; a bare number is in `bareUnitMilliseconds`.
    static func duration(_ long: String, bareUnitMilliseconds: Int64, name: String = "DURATION", help: String,
                         default defaultValue: String) -> Option {
        let spec = OptionSpec.value(long, .duration(bareUnitMilliseconds: bareUnitMilliseconds), name: name,
                                    help: help, default: defaultValue)
        return Option(spec) { given in
            let text = given.last ?? defaultValue
            return converted(DurationText.milliseconds(text, bareUnitMilliseconds: bareUnitMilliseconds), text, spec)
        }
    }
}

extension Option where Value == Int64? {
    static func duration(_ long: String, bareUnitMilliseconds: Int64, name: String = "DURATION",
                         help: String) -> Option {
        let spec = OptionSpec.value(long, .duration(bareUnitMilliseconds: bareUnitMilliseconds), name: name,
                                    help: help)
        return Option(spec) { given in
            given.last.map { converted(DurationText.milliseconds($0, bareUnitMilliseconds: bareUnitMilliseconds), $0, spec) }
        }
    }
}

// MARK: - Choices

/// An enum whose raw values are the words an option accepts.
typealias OptionChoice = RawRepresentable & CaseIterable & Sendable

/// `only` narrows the accepted words to some of the cases (sink takes
/// three of the five packings).
private func choiceKind<E: OptionChoice>(_: E.Type, aliases: [String: String], only: [E]?) -> ValueKind
where E.RawValue == String {
    .choice((only ?? Array(E.allCases)).map(\.rawValue), aliases: aliases)
}

extension Option {
    /// One of `E`'s cases, with a default.
    static func choice<E: OptionChoice>(_ long: String, short: Character? = nil, _: E.Type = E.self,
                                        aliases: [String: String] = [:], name: String, help: String,
                                        default defaultValue: E, only: [E]? = nil,
                                        environment: OptionSpec.Environment = .automatic) -> Option<E>
    where E.RawValue == String {
        let spec = OptionSpec.value(long, short: short, choiceKind(E.self, aliases: aliases, only: only), name: name,
                                    help: help, default: defaultValue.rawValue, environment: environment)
        return Option<E>(spec) { given in given.last.map { converted(E(rawValue: $0), $0, spec) } ?? defaultValue }
    }

    /// One of `E`'s cases, or nil when not given.
    static func choice<E: OptionChoice>(_ long: String, short: Character? = nil, _: E.Type = E.self,
                                        aliases: [String: String] = [:], name: String,
                                        help: String, only: [E]? = nil) -> Option<E?> where E.RawValue == String {
        let spec = OptionSpec.value(long, short: short, choiceKind(E.self, aliases: aliases, only: only),
                                    name: name, help: help)
        return Option<E?>(spec) { given in given.last.map { converted(E(rawValue: $0), $0, spec) } }
    }
}

// MARK: - Parsed values

extension Option {
    /// A value with its own syntax (a table name, a `TABLE:COLS` list).
    /// `parse` runs while parsing the command line, so a bad value is a
    /// usage error naming the option, and again here on checked text.
    static func parsed<T: Sendable>(_ long: String, short: Character? = nil, name: String, help: String,
                                    environment: OptionSpec.Environment = .automatic,
                                    _ parse: @escaping @Sendable (String) throws -> T) -> Option where Value == T? {
        let spec = OptionSpec.value(long, short: short, .parsed(check: checker(parse)), name: name, help: help,
                                    environment: environment)
        return Option(spec) { given in given.last.map { converted(try? parse($0), $0, spec) } }
    }

    /// A value with its own syntax and a default (given as text, so help
    /// shows it as the user would type it).
    static func parsed(_ long: String, short: Character? = nil, name: String, help: String,
                       default defaultText: String,
                       _ parse: @escaping @Sendable (String) throws -> Value) -> Option {
        let spec = OptionSpec.value(long, short: short, .parsed(check: checker(parse)), name: name, help: help,
                                    default: defaultText)
        return Option(spec) { given in
            let text = given.last ?? defaultText
            return converted(try? parse(text), text, spec)
        }
    }

    /// A repeatable value with its own syntax.
    static func parsedList<T: Sendable>(_ long: String, name: String, help: String,
                                        _ parse: @escaping @Sendable (String) throws -> T) -> Option where Value == [T] {
        let spec = OptionSpec.value(long, .parsed(check: checker(parse)), name: name, help: help, repeatable: true)
        return Option(spec) { given in given.map { converted(try? parse($0), $0, spec) } }
    }

    private static func checker<T>(_ parse: @escaping @Sendable (String) throws -> T) -> @Sendable (String) -> String? {
        { text in
            do {
                _ = try parse(text)
                return nil
            } catch let error as UsageError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
    }
}

extension Invocation {
    /// The option's typed value. Reading an option the command does not
    /// declare traps, which the CLI tests catch.
    subscript<Value>(_ option: Option<Value>) -> Value {
        option.value(given: given(option.spec.long))
    }

    /// Whether the command line or the environment set the option (its
    /// default aside), for options that only make sense with others.
    func wasGiven<Value>(_ option: Option<Value>) -> Bool { !given(option.spec.long).isEmpty }
}

extension Option where Value == [(key: String, value: String)] {
    /// Repeatable `KEY=VALUE` settings, in order.
    static func keyValues(_ long: String, short: Character? = nil, name: String = "KEY=VALUE", help: String,
                          environment: OptionSpec.Environment = .automatic) -> Option {
        let spec = OptionSpec.value(long, short: short, .keyValue, name: name, help: help, repeatable: true,
                                    environment: environment)
        return Option(spec) { $0.map(KeyValueText.split) }
    }
}

extension Option where Value == [Int] {
    /// A repeatable count (0 or more), e.g. partition numbers.
    static func integers(_ long: String, short: Character? = nil, _ range: ClosedRange<Int64> = 0...Int64.max,
                         name: String = "N", help: String, environment: OptionSpec.Environment = .none) -> Option {
        let spec = OptionSpec.value(long, short: short, .integer(range), name: name, help: help, repeatable: true,
                                    environment: environment)
        return Option(spec) { given in given.map { converted(Int($0), $0, spec) } }
    }
}
