import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// One NOTIFY as received on a LISTENing connection.
struct PostgresNotification: Sendable, Equatable {
    var channel: String
    var payload: String
    /// The backend that sent it (the notifier's pg_backend_pid()).
    var senderPID: Int32

    init(channel: String, payload: String, senderPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderPID = senderPID
    }
}

extension PostgresConnection {
    /// LISTEN on `channel`, exactly as spelled (quoted identifier).
    func listen(_ channel: String) throws {
        try execute("LISTEN \(try quoteIdentifier(channel))")
    }

    func unlisten(_ channel: String) throws {
        try execute("UNLISTEN \(try quoteIdentifier(channel))")
    }

    func unlistenAll() throws { try execute("UNLISTEN *") }

    /// Blocks in poll() on the connection's socket until notifications
    /// arrive, `stop` is stopped, or the timeout passes; returns what
    /// arrived (empty on timeout or stop). Notifications that came in
    /// during earlier commands are returned at once. Throws when the
    /// connection breaks (`isTransient`).
    func waitForNotifications(timeoutMilliseconds: Int, stop: StopToken) throws -> [PostgresNotification] {
        var received = takeNotifications()
        if !received.isEmpty { return received }
        let clock = SystemClock.shared
        let deadline = clock.nowMilliseconds + Int64(max(0, timeoutMilliseconds))
        while !stop.isStopped {
            let socket = PQsocket(handle)
            guard socket >= 0 else {
                throw PostgresError.fromConnection(handle, doing: "waiting for notifications failed")
            }
            let remaining = Int(max(0, deadline - clock.nowMilliseconds))
            // A readable socket may carry only a NOTICE or parameter change,
            // so loop until something for us arrives or time runs out.
            if stop.wait(fd: socket, timeoutMilliseconds: remaining) {
                guard PQconsumeInput(handle) == 1 else {
                    throw PostgresError.fromConnection(handle, doing: "waiting for notifications failed")
                }
                received = takeNotifications()
                if !received.isEmpty { return received }
            }
            if clock.nowMilliseconds >= deadline { break }
        }
        return []
    }

    /// Notifications libpq has already read; does not touch the socket.
    private func takeNotifications() -> [PostgresNotification] {
        var received: [PostgresNotification] = []
        while let raw = PQnotifies(handle) {
            let notice = raw.pointee
            received.append(PostgresNotification(
                channel: String(cString: notice.relname),
                payload: notice.extra.map { String(cString: $0) } ?? "",
                senderPID: notice.be_pid))
            PQfreemem(raw)
        }
        return received
    }
}
