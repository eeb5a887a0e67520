import CLibPQ

/// A failure reported by the server (with a SQLSTATE) or by libpq itself
/// (connection refused, connection lost, protocol misuse; no SQLSTATE).
struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// "ERROR", "FATAL", "PANIC"; nil for errors that libpq raised itself.
    var severity: String?
    /// The five-character SQLSTATE, e.g. "23505"; nil for libpq's own errors.
    var sqlState: String?
    var message: String
    var detail: String?
    var hint: String?
    /// Where it happened, e.g. `COPY t, line 3, column a: "x"`.
    var context: String?
    /// 1-based character offset into the statement, for syntax errors.
    var statementPosition: Int?
    var schemaName: String?
    var tableName: String?
    var columnName: String?
    var constraintName: String?
    /// True when the connection was found broken (PQstatus CONNECTION_BAD)
    /// at the time of the error, whatever the error says.
    var connectionLost: Bool
    /// What the caller was talking to, already redacted; set on connect
    /// errors (whose message names it too).
    var target: String?

    init(message: String, sqlState: String? = nil, severity: String? = nil,
                connectionLost: Bool = false, target: String? = nil) {
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.connectionLost = connectionLost
        self.target = target
    }

    /// True when retrying on a fresh connection may succeed: the connection
    /// dropped, could not be made (class 08), or the server is shutting
    /// down or restarting (57P01 admin_shutdown, 57P02 crash_shutdown,
    /// 57P03 cannot_connect_now).
    var isTransient: Bool {
        if connectionLost { return true }
        guard let state = sqlState else { return false }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
    }

    /// A serialization failure or deadlock: the transaction may succeed
    /// when run again (the connection itself is fine).
    var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    var description: String {
        var head = ""
        if let severity { head += severity }
        if let sqlState { head += (severity == nil ? "" : " ") + sqlState }
        if severity != nil || sqlState != nil { head += ": " }
        var extras: [String] = []
        if let detail { extras.append("DETAIL: \(detail)") }
        if let hint { extras.append("HINT: \(hint)") }
        if let context { extras.append("CONTEXT: \(context)") }
        if let statementPosition { extras.append("POSITION: \(statementPosition)") }
        let tail = extras.isEmpty ? "" : " (" + extras.joined(separator: " ") + ")"
        return PostgresError.oneLine(head + message + tail)
    }

    /// The CLI prints one line per error; libpq and PL/pgSQL use newlines.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: "\t ") }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }

    /// Builds the error from a failed result; `connection` supplies the
    /// fallback message and the connection state.
    init(result: OpaquePointer?, connection: OpaquePointer?) {
        func field(_ code: UInt8) -> String? {
            guard let result, let raw = PQresultErrorField(result, Int32(code)) else { return nil }
            let text = String(cString: raw)
            return text.isEmpty ? nil : text
        }
        var message = field(UInt8(ascii: "M"))
        if message == nil, let result, let raw = PQresultErrorMessage(result) {
            message = String(cString: raw)
        }
        if message == nil || message!.isEmpty, let connection, let raw = PQerrorMessage(connection) {
            message = String(cString: raw)
        }
        let text = PostgresError.oneLine(message ?? "")
        self.init(message: text.isEmpty ? "unknown libpq error" : text,
                  sqlState: field(UInt8(ascii: "C")),
                  severity: field(UInt8(ascii: "V")) ?? field(UInt8(ascii: "S")),
                  connectionLost: connection.map { PQstatus($0) == CONNECTION_BAD } ?? true)
        detail = field(UInt8(ascii: "D"))
        hint = field(UInt8(ascii: "H"))
        context = field(UInt8(ascii: "W"))
        statementPosition = field(UInt8(ascii: "P")).flatMap { Int($0) }
        schemaName = field(UInt8(ascii: "s"))
        tableName = field(UInt8(ascii: "t"))
        columnName = field(UInt8(ascii: "c"))
        constraintName = field(UInt8(ascii: "n"))
    }

    /// An error libpq reported on the connection rather than in a result.
    static func fromConnection(_ connection: OpaquePointer?, doing what: String) -> PostgresError {
        var text = ""
        if let connection, let raw = PQerrorMessage(connection) { text = oneLine(String(cString: raw)) }
        if text.isEmpty { text = "unknown libpq error" }
        return PostgresError(message: "\(what): \(text)",
                             connectionLost: connection.map { PQstatus($0) == CONNECTION_BAD } ?? true)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        String(self).trimmingCharacters(in: set)
    }
}
