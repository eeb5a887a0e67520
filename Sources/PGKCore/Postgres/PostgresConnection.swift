import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Blocking and synchronous: use it from one thread
/// at a time (it may move between threads, hence @unchecked Sendable).
final class PostgresConnection: @unchecked Sendable {
    /// The PGconn; owned here, freed in deinit.
    let handle: OpaquePointer
    /// What this connection talks to, with any password masked.
    let target: String

    /// Connects with libpq. `conninfo` may be a key/value string, a
    /// postgres:// URL or a bare database name; nil or empty leaves
    /// everything to libpq's defaults (PG* environment, .pgpass, socket).
    /// `connectTimeout` (seconds) applies unless the string or
    /// PGCONNECT_TIMEOUT sets one, so an unreachable server fails instead
    /// of hanging.
    init(conninfo: String?, applicationName: String = "pgk", connectTimeout: Int = 10) throws {
        let opened = try PostgresConnection.open(conninfo: conninfo, applicationName: applicationName,
                                                 connectTimeout: connectTimeout, purpose: "connect")
        let connection = opened.handle
        let target = opened.target
        handle = connection
        self.target = target
        PQsetNoticeReceiver(connection, { _, result in
            guard let result else { return }
            let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))).map { String(cString: $0) } ?? "NOTICE"
            let text = PQresultErrorMessage(result).map { PostgresError.oneLine(String(cString: $0)) } ?? ""
            if severity == "WARNING" { Log.warning("postgres: \(text)") } else { Log.debug("postgres: \(text)") }
        }, nil)
        // A server or role may still default to backslash escapes in plain
        // literals; pgk's statements and users' maps mean the SQL standard.
        try execute("SET standard_conforming_strings = on")
    }

    deinit { PQfinish(handle) }

    /// Opens a libpq connection or throws a redacted error. `extra` pairs
    /// go after the user's string, so they win over it (e.g. a walsender's
    /// `replication=database`).
    static func open(conninfo: String?, applicationName: String, connectTimeout: Int,
                     extra: [(String, String)] = [], purpose: String) throws -> (handle: OpaquePointer, target: String) {
        // Order matters: with expand_dbname, options inside the user's
        // string override the entries before it and yield to those after.
        var pairs: [(String, String)] = [("fallback_application_name", applicationName)]
        if getenv("PGCONNECT_TIMEOUT") == nil {
            pairs.append(("connect_timeout", String(connectTimeout)))
        }
        if let conninfo, !conninfo.isEmpty { pairs.append(("dbname", conninfo)) }
        pairs += extra
        // Swift strings are UTF-8; every value we read and send assumes it.
        pairs.append(("client_encoding", "UTF8"))

        guard let connection = connect(pairs) else {
            throw PostgresError(message: "could not \(purpose): libpq is out of memory", connectionLost: true)
        }
        let target = describeTarget(conninfo: conninfo, connection: connection)
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = PQerrorMessage(connection).map { PostgresError.oneLine(String(cString: $0)) } ?? ""
            PQfinish(connection)
            throw PostgresError(message: "could not \(purpose) to \(target): \(reason)",
                                connectionLost: true, target: target)
        }
        return (connection, target)
    }

    private static func connect(_ pairs: [(String, String)]) -> OpaquePointer? {
        let keys = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer { (keys + values).forEach { free($0) } }
        let keyPointers = keys.map { UnsafePointer($0) } + [nil]
        let valuePointers = values.map { UnsafePointer($0) } + [nil]
        return keyPointers.withUnsafeBufferPointer { k in
            valuePointers.withUnsafeBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
            }
        }
    }

    static func describeTarget(conninfo: String?, connection: OpaquePointer) -> String {
        if let conninfo, !conninfo.isEmpty { return ConnectionString.redacted(conninfo) }
        func text(_ raw: UnsafeMutablePointer<CChar>?) -> String { raw.map { String(cString: $0) } ?? "" }
        return "host=\(text(PQhost(connection))) port=\(text(PQport(connection))) "
            + "dbname=\(text(PQdb(connection))) user=\(text(PQuser(connection))) (libpq defaults)"
    }

    // MARK: state

    /// False once the connection broke; see `reconnect()`.
    var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Reconnects with the same parameters (PQreset), e.g. after an error
    /// whose `isTransient` is true. Session state (LISTEN,
    /// settings, prepared statements) is lost.
    func reconnect() throws {
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(message: "could not reconnect to \(target): "
                                + (PQerrorMessage(handle).map { PostgresError.oneLine(String(cString: $0)) } ?? ""),
                                connectionLost: true, target: target)
        }
    }

    enum TransactionStatus: Sendable {
        case idle, active, inTransaction, inFailedTransaction, unknown
    }

    var transactionStatus: TransactionStatus {
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .inFailedTransaction
        default: return .unknown
        }
    }

    /// e.g. 150004 for 15.4 (PQserverVersion).
    var serverVersion: Int { Int(PQserverVersion(handle)) }
    /// The database this connection is in (as libpq connected to it).
    var databaseName: String { PQdb(handle).map { String(cString: $0) } ?? "" }
    var userName: String { PQuser(handle).map { String(cString: $0) } ?? "" }
    /// The server process serving this connection (pg_stat_activity.pid).
    var backendPID: Int32 { PQbackendPID(handle) }

    /// The server's `server_version` text, e.g. "15.4 (Debian 15.4-1)".
    func currentDatabase() throws -> String {
        try query("SELECT current_database()").scalar ?? ""
    }

    // MARK: statements

    /// Runs one statement with text-format `$1…$n` parameters (nil is NULL).
    func query(_ sql: String, _ params: [String?] = []) throws -> QueryResult {
        let result = try run(sql, params)
        defer { PQclear(result) }
        return QueryResult(copying: result)
    }

    /// Runs one statement and hands each row's fields to `body` as they lie
    /// in libpq's result (nil is NULL), valid only during the call: for
    /// large results read once, no string is made per value.
    func forEachRow(_ sql: String, _ params: [String?] = [], _ body: ([UnsafeRawBufferPointer?]) throws -> Void) throws {
        let result = try run(sql, params)
        defer { PQclear(result) }
        let columns = PQnfields(result)
        var fields = [UnsafeRawBufferPointer?](repeating: nil, count: Int(columns))
        for row in 0..<PQntuples(result) {
            for column in 0..<columns {
                fields[Int(column)] = PQgetisnull(result, row, column) == 1 ? nil
                    : UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column)))
            }
            try body(fields)
        }
    }

    /// Runs one statement for its effect.
    @discardableResult
    func execute(_ sql: String, _ params: [String?] = []) throws -> (commandTag: String, rowsAffected: Int?) {
        let result = try run(sql, params)
        defer { PQclear(result) }
        let tag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        let affected = PQcmdTuples(result).map { String(cString: $0) } ?? ""
        return (tag, Int(affected))
    }

    /// Runs several `;`-separated statements without parameters (simple
    /// query protocol), e.g. a DDL script. Stops at the first error.
    func executeScript(_ sql: String) throws {
        try checkNoNul(sql, what: "SQL text")
        let result = try checked(PQexec(handle, sql))
        PQclear(result)
    }

    private func run(_ sql: String, _ params: [String?]) throws -> OpaquePointer {
        try checkNoNul(sql, what: "SQL text")
        for (index, param) in params.enumerated() {
            if let param { try checkNoNul(param, what: "parameter $\(index + 1)") }
        }
        let copies: [UnsafeMutablePointer<CChar>?] = params.map { $0.flatMap { strdup($0) } }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        let result = pointers.withUnsafeBufferPointer { values in
            PQexecParams(handle, sql, Int32(params.count), nil,
                         params.isEmpty ? nil : values.baseAddress, nil, nil, 0)
        }
        return try checked(result)
    }

    /// Returns a successful result or throws, freeing the failed one. A
    /// statement that unexpectedly started COPY is ended so the connection
    /// stays usable.
    func checked(_ result: OpaquePointer?) throws -> OpaquePointer {
        guard let result else { throw PostgresError.fromConnection(handle, doing: "query failed") }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            PQclear(result)
            endUnexpectedCopy()
            throw PostgresError(message: "COPY statements must go through copyIn/copyOut",
                                connectionLost: !isConnected)
        default:
            let error = PostgresError(result: result, connection: handle)
            PQclear(result)
            throw error
        }
    }

    private func checkNoNul(_ text: String, what: String) throws {
        if text.utf8.contains(0) {
            throw PostgresError(message: "\(what) contains a NUL byte, which PostgreSQL text cannot hold")
        }
    }

    // MARK: identifiers

    /// The identifier double-quoted by libpq (PQescapeIdentifier), exactly
    /// as given: no case folding.
    func quoteIdentifier(_ name: String) throws -> String {
        try checkNoNul(name, what: "identifier")
        guard let quoted = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PostgresError.fromConnection(handle, doing: "cannot quote identifier")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }
}
