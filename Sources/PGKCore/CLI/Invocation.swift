/// A parsed, validated command line: what a command's `run` receives.
///
/// Values were checked against the spec while parsing; commands read them
/// through their typed `Option` handles (`invocation[SinkCommand.Options.topic]`),
/// which only convert. Asking for an option the command does not declare
/// is a programming error and traps, which the CLI tests catch.
struct Invocation: Sendable {
    /// The command path without the program name, e.g. ["topics", "tail"].
    let path: [String]
    let command: CommandSpec
    let globals: GlobalOptions
    let stop: StopToken
    /// The process environment, for commands that pass it on (`dev run`).
    let environment: [String: String]
    /// Where data goes: stdout for the process, a file in in-process tests.
    let output: OutputSink

    let values: [String: [String]]
    let argumentValues: [String: [String]]
    let declared: [String: OptionSpec]

    init(path: [String], command: CommandSpec, values: [String: [String]],
         arguments: [String: [String]], declared: [String: OptionSpec],
         environment: [String: String], stop: StopToken, output: OutputSink = .standardOutput) {
        self.path = path
        self.command = command
        self.values = values
        self.argumentValues = arguments
        self.declared = declared
        self.environment = environment
        self.stop = stop
        self.output = output
        self.globals = GlobalOptions(values: values)
    }

    /// What the command line or the environment gave, without the default.
    func given(_ long: String) -> [String] { raw(long) }

    private func raw(_ long: String) -> [String] {
        precondition(declared[long] != nil, "pgk \(path.joined(separator: " ")) declares no option --\(long)")
        return values[long] ?? []
    }

    func argument(_ name: String) -> String? { arguments(name).first }

    func arguments(_ name: String) -> [String] {
        precondition(command.arguments.contains { $0.name == name },
                     "pgk \(path.joined(separator: " ")) declares no argument \(name)")
        return argumentValues[name] ?? []
    }

    /// The usage error a command raises for a semantic mistake the spec
    /// cannot express, pointing at this command's help.
    func usageError(_ message: String, suggestion: String? = nil) -> UsageError {
        UsageError(message, suggestion: suggestion, commandPath: path)
    }
}

/// The options every verb accepts.
struct GlobalOptions: Sendable {
    var brokers: String
    /// librdkafka properties, verbatim and in order.
    var kafkaProperties: [(key: String, value: String)]
    /// Nil means "let libpq use its PG* defaults".
    var database: String?
    var registry: String?
    /// TLS for an https:// registry: CA bundle, client certificate and key.
    var registryTLS: HTTPTLSOptions
    var verbosity: Int
    var quiet: Bool

    init(values: [String: [String]]) {
        brokers = values["brokers"]?.last ?? GlobalOptions.defaultBrokers
        kafkaProperties = (values["kafka-property"] ?? []).map(KeyValueText.split)
        database = values["database"]?.last
        registry = values["registry"]?.last
        registryTLS = HTTPTLSOptions(caFile: values["registry-ca"]?.last, certificateFile: values["registry-cert"]?.last,
                                     keyFile: values["registry-key"]?.last)
        verbosity = values["verbose"]?.count ?? 0
        quiet = values["quiet"]?.last == "true"
    }

    init(brokers: String = GlobalOptions.defaultBrokers,
                kafkaProperties: [(key: String, value: String)] = [],
                database: String? = nil, registry: String? = nil) {
        self.brokers = brokers
        self.kafkaProperties = kafkaProperties
        self.database = database
        self.registry = registry
        registryTLS = HTTPTLSOptions()
        verbosity = 0
        quiet = false
    }

    static let defaultBrokers = "localhost:9092"

    var logLevel: LogLevel {
        if quiet { return .error }
        switch verbosity {
        case 0: return .info
        case 1: return .debug
        default: return .trace
        }
    }

    static let specs: [OptionSpec] = [
        OptionSpec("brokers", short: "b", kind: .value(.text), valueName: "HOST:PORT",
                   help: "Kafka bootstrap servers, comma-separated",
                   defaultValue: defaultBrokers, isGlobal: true),
        OptionSpec("kafka-property", short: "X", kind: .value(.setting(orWords: ["list"])), valueName: "KEY=VALUE",
                   help: "librdkafka property, passed through verbatim (repeatable); "
                       + "'-X list' prints every property",
                   repeatable: true, environmentSeparator: ";", isGlobal: true),
        OptionSpec("database", short: "d", kind: .value(.text), valueName: "CONNINFO",
                   help: "PostgreSQL conninfo or URL; unset, libpq's PG* variables apply",
                   environment: .variables(["PGK_DATABASE", "DATABASE_URL"]), isGlobal: true),
        OptionSpec("registry", kind: .value(.text), valueName: "URL",
                   help: "Confluent Schema Registry URL, for Avro (http:// or https://)", isGlobal: true),
        OptionSpec("registry-ca", kind: .value(.path), valueName: "FILE",
                   help: "CA bundle (PEM) to verify an https:// registry with, instead of the system's",
                   isGlobal: true, completion: .file),
        OptionSpec("registry-cert", kind: .value(.path), valueName: "FILE",
                   help: "Client certificate (PEM) for an https:// registry", isGlobal: true, completion: .file),
        OptionSpec("registry-key", kind: .value(.path), valueName: "FILE",
                   help: "The client certificate's private key (PEM)", isGlobal: true, completion: .file),
        OptionSpec("verbose", short: "v", kind: .counter,
                   help: "More diagnostics on stderr (repeat for more)", isGlobal: true),
        OptionSpec("quiet", short: "q", kind: .flag(negatable: false),
                   help: "Only errors on stderr", isGlobal: true),
    ]
}

enum KeyValueText {
    static func split(_ text: String) -> (key: String, value: String) {
        guard let eq = text.firstIndex(of: "=") else { return (text, "") }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }
}

enum DurationText {
    /// `250ms`, `10s`, `1.5s`, `2m`, `1h`; a bare number is in the given unit.
    /// nil when it is not a duration or does not fit in Int64 milliseconds.
    static func milliseconds(_ text: String, bareUnitMilliseconds: Int64) -> Int64? {
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number >= 0, number.isFinite else {
                return nil
            }
            // exactly: nil past Int64's range (1e300s) instead of a trap.
            return Int64(exactly: (number * scale).rounded())
        }
        guard let number = Double(text), number >= 0, number.isFinite else { return nil }
        return Int64(exactly: (number * Double(bareUnitMilliseconds)).rounded())
    }
}
