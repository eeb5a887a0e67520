import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// A running `COPY … FROM STDIN` (text format). Rows are encoded into a
/// buffer that is sent whenever it passes `flushThreshold`. End it with
/// `finish()` (commit the COPY) or `abort(reason:)`; either way the
/// connection is usable afterwards. Dropping an unfinished CopyIn aborts.
final class CopyIn {
    static let flushThreshold = 256 * 1024

    let connection: PostgresConnection
    private var encoder = CopyTextEncoder(reservingCapacity: CopyIn.flushThreshold + 64 * 1024)
    private var isOpen = true
    /// Rows completed with `endRow`/`appendRow` so far.
    private(set) var rowsAppended = 0

    init(connection: PostgresConnection, sql: String) throws {
        self.connection = connection
        let result = PQexec(connection.handle, sql)
        guard let result, PQresultStatus(result) == PGRES_COPY_IN else {
            isOpen = false
            if let result, PQresultStatus(result) == PGRES_FATAL_ERROR {
                let error = PostgresError(result: result, connection: connection.handle)
                PQclear(result)
                throw error
            }
            // Not a COPY FROM STDIN at all (or libpq failed): let the
            // connection's checker end whatever it started and report it.
            let checked = try connection.checked(result)
            PQclear(checked)
            throw PostgresError(message: "copyIn needs a COPY … FROM STDIN statement, got: \(sql)")
        }
        PQclear(result)
    }

    deinit {
        if isOpen { try? abort(reason: "pgk: COPY abandoned") }
    }

    func append(field: String?) { encoder.append(field: field) }
    func appendNull() { encoder.appendNull() }
    func append(field bytes: [UInt8]) { encoder.append(field: bytes) }
    func append(field bytes: UnsafeBufferPointer<UInt8>) { encoder.append(field: bytes) }
    func append(encodedFields bytes: [UInt8]) { encoder.append(encodedFields: bytes) }
    func append(encodedFields bytes: ArraySlice<UInt8>) { encoder.append(encodedFields: bytes) }
    func append(integer value: Int64) { encoder.append(integer: value) }

    /// Whole rows another encoder made, as they are.
    func append(rows: CopyTextEncoder) throws {
        encoder.append(encodedFields: rows.buffer)
        encoder.endRowWritten()
        rowsAppended += rows.rowCount
        if encoder.byteCount >= CopyIn.flushThreshold { try flush() }
    }

    func endRow() throws {
        encoder.endRow()
        rowsAppended += 1
        if encoder.byteCount >= CopyIn.flushThreshold { try flush() }
    }

    func appendRow(_ fields: [String?]) throws {
        for field in fields { encoder.append(field: field) }
        try endRow()
    }

    /// Sends what is buffered. Called by `endRow` past the threshold.
    func flush() throws {
        guard isOpen else { throw PostgresError(message: "COPY already ended") }
        guard encoder.byteCount > 0 else { return }
        let sent = encoder.buffer.withUnsafeBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                PQputCopyData(connection.handle, $0, Int32(bytes.count))
            }
        }
        guard sent == 1 else {
            isOpen = false
            throw PostgresError.fromConnection(connection.handle, doing: "sending COPY data failed")
        }
        encoder.removeSentBytes()
    }

    /// Ends the COPY and returns the rows the server stored. A bad value
    /// anywhere in the stream surfaces here as a PostgresError whose
    /// `context` names the line and column.
    @discardableResult
    func finish() throws -> Int {
        try flush()
        isOpen = false
        guard PQputCopyEnd(connection.handle, nil) == 1 else {
            throw PostgresError.fromConnection(connection.handle, doing: "ending COPY failed")
        }
        let outcome = connection.drainResults()
        if let error = outcome.error { throw error }
        return outcome.rowsAffected ?? 0
    }

    /// Ends the COPY without storing anything; the server reports `reason`
    /// in its log. Throws only when the connection itself failed.
    func abort(reason: String) throws {
        guard isOpen else { return }
        isOpen = false
        guard PQputCopyEnd(connection.handle, reason) == 1 else {
            throw PostgresError.fromConnection(connection.handle, doing: "aborting COPY failed")
        }
        let outcome = connection.drainResults()
        if let error = outcome.error, error.isTransient { throw error }
    }
}

extension PostgresConnection {
    /// Starts `COPY … FROM STDIN` (text format, the default).
    func copyIn(sql: String) throws -> CopyIn {
        try CopyIn(connection: self, sql: sql)
    }

    /// Starts `COPY table (columns…) FROM STDIN` with quoted identifiers.
    func copyIn(into table: QualifiedName, columns: [String]) throws -> CopyIn {
        let columnList = try columns.map { try quoteIdentifier($0) }.joined(separator: ", ")
        return try copyIn(sql: "COPY \(try table.sql(on: self)) (\(columnList)) FROM STDIN")
    }

    /// Runs `COPY … TO STDOUT` and hands each row (text format, with its
    /// trailing newline; see `CopyTextDecoder`) to `onRow`. If `onRow`
    /// throws, the COPY is cancelled, the connection drained, and the error
    /// rethrown. Returns the number of rows.
    @discardableResult
    func copyOut(sql: String, onRow: ([UInt8]) throws -> Void) throws -> Int {
        let result = PQexec(handle, sql)
        guard let result, PQresultStatus(result) == PGRES_COPY_OUT else {
            let checked = try checked(result)
            PQclear(checked)
            throw PostgresError(message: "copyOut needs a COPY … TO STDOUT statement, got: \(sql)")
        }
        PQclear(result)
        var rows = 0
        var callbackError: Error?
        while true {
            var buffer: UnsafeMutablePointer<CChar>? = nil
            let length = PQgetCopyData(handle, &buffer, 0)
            guard length > 0, let buffer else { break } // -1 done, -2 error: result says which
            let row = Array(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            PQfreemem(buffer)
            guard callbackError == nil else { continue } // discarding until the cancel lands
            do {
                try onRow(row)
                rows += 1
            } catch {
                callbackError = error
                cancelRunningQuery()
            }
        }
        let outcome = drainResults()
        if let callbackError { throw callbackError }
        if let error = outcome.error { throw error }
        return rows
    }

    /// Asks the server to cancel this connection's current statement.
    /// Best effort: it may already have finished.
    func cancelRunningQuery() {
        guard let cancel = PQgetCancel(handle) else { return }
        var message = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &message, Int32(message.count))
        PQfreeCancel(cancel)
    }

    /// Reads results until libpq has none left, so the connection is ready
    /// for the next command. Reports the last row count and the first error.
    func drainResults() -> (rowsAffected: Int?, error: PostgresError?) {
        var rowsAffected: Int?
        var firstError: PostgresError?
        // Bounded: a connection stuck in a COPY state must not spin forever.
        for _ in 0..<10_000 {
            guard let result = PQgetResult(handle) else { break }
            let status = PQresultStatus(result)
            switch status {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                rowsAffected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) }
                PQclear(result)
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                PQclear(result)
                endUnexpectedCopy()
            default:
                if firstError == nil { firstError = PostgresError(result: result, connection: handle) }
                PQclear(result)
            }
            if PQstatus(handle) == CONNECTION_BAD && firstError == nil {
                firstError = PostgresError.fromConnection(handle, doing: "connection lost")
            }
        }
        return (rowsAffected, firstError)
    }

    /// Leaves a COPY state that a plain statement entered by surprise.
    func endUnexpectedCopy() {
        for _ in 0..<10_000 {
            guard let result = PQgetResult(handle) else { return }
            let status = PQresultStatus(result)
            PQclear(result)
            switch status {
            case PGRES_COPY_IN:
                if PQputCopyEnd(handle, "pgk: COPY FROM STDIN is only supported through copyIn") != 1 { return }
            case PGRES_COPY_OUT:
                var buffer: UnsafeMutablePointer<CChar>? = nil
                while PQgetCopyData(handle, &buffer, 0) > 0 { PQfreemem(buffer) }
            default:
                continue
            }
        }
    }
}
