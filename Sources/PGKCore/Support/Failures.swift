/// Process exit statuses. Kept to the BSD sysexits subset that users of
/// psql and kcat already script against.
enum ExitStatus {
    static let ok: Int32 = 0
    /// A runtime failure: a broker, database, codec or I/O error.
    static let failure: Int32 = 1
    /// EX_USAGE: the command line was wrong.
    static let usage: Int32 = 64
}

/// A command-line mistake. Exits 64 after printing a hint.
struct UsageError: Error, CustomStringConvertible, Sendable {
    var message: String
    /// "did you mean …" text, when a close match exists.
    var suggestion: String?
    /// The command path whose help the user should read, e.g. ["sink"].
    var commandPath: [String]

    init(_ message: String, suggestion: String? = nil, commandPath: [String] = []) {
        self.message = message
        self.suggestion = suggestion
        self.commandPath = commandPath
    }

    var description: String { message }
}

/// A runtime failure that has no more specific type. Layers define their
/// own errors (PostgresError, KafkaError, CodecError) that say what failed.
struct RuntimeError: Error, CustomStringConvertible, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
