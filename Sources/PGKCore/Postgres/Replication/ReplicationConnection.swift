import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// A walsender connection (`replication=database`): replication commands
/// over the simple query protocol, then CopyBoth streaming. One thread
/// uses it at a time; the PGconn is owned here and freed in deinit.
final class ReplicationConnection {
    let handle: OpaquePointer
    let target: String
    private(set) var isStreaming = false

    init(conninfo: String?, applicationName: String = "pgk", connectTimeout: Int = 10) throws {
        let opened = try PostgresConnection.open(
            conninfo: conninfo, applicationName: applicationName, connectTimeout: connectTimeout,
            // After the user's string, so a logical walsender is what we get.
            extra: [("replication", "database")], purpose: "open a replication connection")
        let connection = opened.handle
        let target = opened.target
        handle = connection
        self.target = target
        try ReplicationConnection.applySessionSettings { try self.execute($0) }
    }

    deinit { PQfinish(handle) }

    /// Text output the value mapping relies on, for every connection that
    /// reads row values (the walsender formats pgoutput values with these).
    static func applySessionSettings(_ run: (String) throws -> Void) throws {
        try run("SET DateStyle = 'ISO, YMD'")
        try run("SET TimeZone = 'UTC'")
        try run("SET IntervalStyle = 'postgres'")
        try run("SET bytea_output = 'hex'")
        try run("SET extra_float_digits = 1")
    }

    var socket: Int32 { PQsocket(handle) }
    var serverVersion: Int { Int(PQserverVersion(handle)) }
    var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    // MARK: commands

    /// Runs one command with the simple query protocol (the only one a
    /// walsender accepts) and copies out its rows.
    @discardableResult
    func execute(_ command: String) throws -> QueryResult {
        precondition(!isStreaming, "replication commands cannot run while streaming")
        guard let result = PQexec(handle, command) else {
            throw PostgresError.fromConnection(handle, doing: "replication command failed")
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return QueryResult(copying: result)
        default:
            throw PostgresError(result: result, connection: handle)
        }
    }

    struct CreatedSlot: Sendable {
        var name: String
        /// Changes committed after this point are streamed; everything
        /// before is in the exported snapshot.
        var consistentPoint: LSN
        /// For `SET TRANSACTION SNAPSHOT`; valid until this connection runs
        /// its next command.
        var snapshotName: String?
    }

    /// `CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput …`.
    func createLogicalSlot(_ name: String, temporary: Bool = false, exportSnapshot: Bool) throws -> CreatedSlot {
        try ReplicationConnection.validateSlotName(name)
        let command = "CREATE_REPLICATION_SLOT \(name)\(temporary ? " TEMPORARY" : "") LOGICAL pgoutput "
            + (exportSnapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT")
        let result = try execute(command)
        guard let row = result.rows.first, let point = row["consistent_point"].flatMap(LSN.init) else {
            throw PostgresError(message: "CREATE_REPLICATION_SLOT returned no consistent point")
        }
        return CreatedSlot(name: row["slot_name"] ?? name, consistentPoint: point, snapshotName: row["snapshot_name"])
    }

    func dropSlot(_ name: String, wait: Bool = true) throws {
        try ReplicationConnection.validateSlotName(name)
        try execute("DROP_REPLICATION_SLOT \(name)\(wait ? " WAIT" : "")")
    }

    /// Slot names are what the server accepts: lower-case letters, digits
    /// and underscores, at most 63 bytes; checked here because replication
    /// commands cannot take parameters.
    static func validateSlotName(_ name: String) throws {
        let valid = !name.isEmpty && name.utf8.count <= 63 && name.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
        guard valid else {
            throw UsageError("invalid slot name '\(name)': use 1-63 lower-case letters, digits and underscores")
        }
    }

    /// Switches to CopyBoth streaming of `slot` from `start` (the server
    /// starts at the slot's confirmed position when that is later).
    func startLogical(slot: String, start: LSN, publications: [String], messages: Bool = true) throws {
        try ReplicationConnection.validateSlotName(slot)
        let names = try publications.map { try quoteIdentifier($0) }.joined(separator: ",")
        var command = "START_REPLICATION SLOT \(slot) LOGICAL \(start) (proto_version '1', publication_names "
            + (try quoteLiteral(names))
        if messages { command += ", messages 'true'" }
        command += ")"
        guard let result = PQexec(handle, command) else {
            throw PostgresError.fromConnection(handle, doing: "START_REPLICATION failed")
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_BOTH else {
            throw PostgresError(result: result, connection: handle)
        }
        isStreaming = true
        guard PQsetnonblocking(handle, 1) == 0 else {
            throw PostgresError.fromConnection(handle, doing: "cannot make the replication connection non-blocking")
        }
    }

    // MARK: streaming

    enum CopyRead {
        case data([UInt8])
        /// Nothing buffered; wait for the socket.
        case none
        /// The server ended the stream (CopyDone) without an error.
        case ended
    }

    /// Returns the next CopyData message without blocking.
    func readCopyData() throws -> CopyRead {
        var consumed = false
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 1)
            if length > 0, let buffer {
                let bytes = Array(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
                PQfreemem(buffer)
                return .data(bytes)
            }
            if length == 0 {
                if consumed { return .none }
                guard PQconsumeInput(handle) == 1 else {
                    throw PostgresError.fromConnection(handle, doing: "reading the replication stream failed")
                }
                consumed = true
                continue
            }
            isStreaming = false
            if length == -1 { return try finishCopy() }
            throw PostgresError.fromConnection(handle, doing: "reading the replication stream failed")
        }
    }

    /// After the server's CopyDone: the command's result says whether it ended in an error.
    private func finishCopy() throws -> CopyRead {
        PQsetnonblocking(handle, 0)
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            if status == PGRES_FATAL_ERROR, failure == nil { failure = PostgresError(result: result, connection: handle) }
            if status == PGRES_COPY_BOTH || status == PGRES_COPY_OUT {
                PQclear(result)
                _ = PQputCopyEnd(handle, nil)
                continue
            }
            PQclear(result)
        }
        if let failure { throw failure }
        if PQstatus(handle) != CONNECTION_OK {
            throw PostgresError.fromConnection(handle, doing: "replication connection lost")
        }
        return .ended
    }

    /// Queues a standby status update and tries to send it.
    func sendStandbyStatus(write: LSN, flush: LSN, apply: LSN) throws {
        let message = ReplicationMessage.standbyStatus(write: write, flush: flush, apply: apply)
        let queued = message.withUnsafeBytes { raw in
            PQputCopyData(handle, raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        guard queued == 1 else {
            throw PostgresError.fromConnection(handle, doing: "sending the standby status failed")
        }
        try flushOutput()
    }

    /// Sends queued output; true when everything went out.
    @discardableResult
    func flushOutput() throws -> Bool {
        let rc = PQflush(handle)
        if rc < 0 { throw PostgresError.fromConnection(handle, doing: "sending to the server failed") }
        return rc == 0
    }

    /// Ends streaming from our side (CopyDone) and waits, bounded by the
    /// socket timeout, for the server to finish; the connection can then
    /// run commands again.
    func endStreaming(timeoutMilliseconds: Int = 10_000) throws {
        guard isStreaming else { return }
        guard PQputCopyEnd(handle, nil) == 1 else {
            throw PostgresError.fromConnection(handle, doing: "ending the replication stream failed")
        }
        let deadline = SystemClock.shared.nowMilliseconds + Int64(timeoutMilliseconds)
        // Drain what the server still sends until its own CopyDone.
        while isStreaming {
            _ = try flushOutput()
            switch try readCopyData() {
            case .data: continue
            case .ended: return
            case .none:
                let left = deadline - SystemClock.shared.nowMilliseconds
                guard left > 0 else {
                    throw PostgresError(message: "the server did not end the replication stream within \(timeoutMilliseconds) ms")
                }
                var pfd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, Int32(clamping: min(left, 100)))
            }
        }
    }

    // MARK: quoting

    func quoteIdentifier(_ name: String) throws -> String {
        guard !name.utf8.contains(0), let quoted = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PostgresError.fromConnection(handle, doing: "cannot quote identifier")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    func quoteLiteral(_ text: String) throws -> String {
        guard !text.utf8.contains(0), let quoted = PQescapeLiteral(handle, text, text.utf8.count) else {
            throw PostgresError.fromConnection(handle, doing: "cannot quote literal")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }
}
