#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// An in-memory Confluent-compatible schema registry on a loopback port,
/// for `pgk dev` and tests. One thread runs a poll loop over the listening
/// socket and every connection (keep-alive clients such as Confluent's
/// Python client hold connections open, so connections must not block
/// each other). Serves:
///
///     GET  /subjects                          GET  /schemas/ids/{id}
///     GET  /subjects/{s}/versions             GET  /schemas/ids/{id}/schema
///     GET  /subjects/{s}/versions/{v|latest}[/schema]
///     GET  /schemas/ids/{id}/versions         GET  /schemas/ids/{id}/subjects
///     POST /subjects/{s}/versions  (register) POST /subjects/{s}  (look up)
///     GET  /config[/{s}]  (always NONE: compatibility is not checked)
final class SchemaRegistryServer: Sendable {
    /// "http://127.0.0.1:PORT".
    let url: String
    let port: UInt16
    private let store = RegistryStore()
    private let token = StopToken()
    private let thread = Mutex<pthread_t?>(nil)

    /// `port` 0 picks a free port; read `url` or `port` afterwards.
    init(host: String = "127.0.0.1", port: UInt16 = 0) throws(RuntimeError) {
        let (fd, bound) = try Self.listen(host: host, port: port)
        self.port = bound
        url = "http://" + (host.contains(":") ? "[\(host)]" : host) + ":\(bound)"
        let loop = RegistryServerLoop(listenFD: fd, store: store, token: token)
        let box = Unmanaged.passRetained(loop).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let loop = Unmanaged<RegistryServerLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<RegistryServerLoop>.fromOpaque(box).release()
            close(fd)
            throw RuntimeError("schema registry: cannot start its thread: \(SocketIO.errorText(rc))")
        }
        thread.withLock { $0 = handle }
    }

    deinit { stop() }

    /// Stops accepting, closes every connection and joins the thread.
    /// Idempotent.
    func stop() {
        token.stop()
        if let handle = thread.withLock({ handle in defer { handle = nil }; return handle }) {
            pthread_join(handle, nil)
        }
    }

    /// Registers without HTTP (for seeding `pgk dev`); same ids as POST.
    func register(subject: String, schemaJSON: String) throws(CodecError) -> Int32 {
        try store.register(subject: subject, schemaJSON: schemaJSON)
    }

    var subjects: [String] { store.subjects }

    private static func listen(host: String, port: UInt16) throws(RuntimeError) -> (Int32, UInt16) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let info = list?.pointee else {
            throw RuntimeError("schema registry: cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        guard fd >= 0 else { throw RuntimeError("schema registry: socket: \(SocketIO.errorText)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.ai_addr, info.ai_addrlen) == 0, Glibc.listen(fd, 128) == 0 else {
            let message = SocketIO.errorText
            close(fd)
            throw RuntimeError("schema registry: cannot listen on \(host):\(port): \(message)")
        }
        SocketIO.setNonBlocking(fd)
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let bound: UInt16 = withUnsafePointer(to: &address) { pointer in
            if Int32(pointer.pointee.ss_family) == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, bound)
    }
}

/// Owned by the server thread alone; nothing here is shared.
private final class RegistryServerLoop: @unchecked Sendable {
    private final class Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        var closeAfterFlush = false
        var lastActive = SystemClock.shared.nowMilliseconds
        init(fd: Int32) { self.fd = fd }
    }

    static let maxConnections = 256
    static let idleMilliseconds: Int64 = 120_000

    private let listenFD: Int32
    private let store: RegistryStore
    private let token: StopToken
    private var connections: [Connection] = []

    init(listenFD: Int32, store: RegistryStore, token: StopToken) {
        self.listenFD = listenFD
        self.store = store
        self.token = token
    }

    func run() {
        defer {
            for connection in connections { close(connection.fd) }
            connections.removeAll()
            close(listenFD)
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !token.isStopped {
            var fds = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: token.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
            for connection in connections {
                let events = Int16(POLLIN) | (connection.output.isEmpty ? 0 : Int16(POLLOUT))
                fds.append(pollfd(fd: connection.fd, events: events, revents: 0))
            }
            let rc = poll(&fds, nfds_t(fds.count), 1000)
            if rc < 0 && errno != EINTR { Log.error("schema registry: poll failed: \(SocketIO.errorText)"); return }
            if token.isStopped { return }
            if rc > 0 && fds[0].revents != 0 { acceptAll() }
            let now = SystemClock.shared.nowMilliseconds
            var keep: [Connection] = []
            for (i, connection) in connections.enumerated() {
                let revents = i + 2 < fds.count && fds[i + 2].fd == connection.fd ? fds[i + 2].revents : 0
                if revents != 0 { connection.lastActive = now }
                if service(connection, revents: revents, buffer: &buffer),
                   now - connection.lastActive < Self.idleMilliseconds {
                    keep.append(connection)
                } else {
                    close(connection.fd)
                }
            }
            connections = keep
        }
    }

    private func acceptAll() {
        while true {
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { return }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            SocketIO.setNonBlocking(fd)
            if connections.count >= Self.maxConnections { close(fd); continue }
            connections.append(Connection(fd: fd))
        }
    }

    /// Reads, answers complete requests, writes. False: close it.
    private func service(_ connection: Connection, revents: Int16, buffer: inout [UInt8]) -> Bool {
        if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { connection.input.append(contentsOf: buffer[..<n]); continue }
                if n == 0 { connection.closeAfterFlush = true; break }
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                return false
            }
        }
        while !connection.input.isEmpty {
            switch HTTPMessageParser.parse(connection.input, isResponse: false, atEOF: false) {
            case .incomplete:
                if connection.closeAfterFlush { connection.input.removeAll() }
            case .invalid(let reason):
                connection.output += response(RegistryStore.Reply(status: 400, body: ["error_code": 400, "message": .string(reason)]), keepAlive: false)
                connection.input.removeAll()
                connection.closeAfterFlush = true
            case .complete(let request, let consumed):
                connection.input.removeFirst(consumed)
                let keepAlive = request.header("Connection")?.lowercased() != "close"
                connection.output += response(answer(request), keepAlive: keepAlive)
                if !keepAlive { connection.closeAfterFlush = true; connection.input.removeAll() }
                continue
            }
            break
        }
        while !connection.output.isEmpty {
            let n = connection.output.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { connection.output.removeFirst(n); continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return true }
            return false
        }
        return !connection.closeAfterFlush
    }

    private func answer(_ request: HTTPMessage) -> RegistryStore.Reply {
        let target = request.startLine[1]
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var segments: [String] = []
        for part in path.split(separator: "/") {
            guard let decoded = PercentEncoding.decode(String(part)) else {
                return RegistryStore.Reply(status: 400, body: ["error_code": 400, "message": "bad percent-encoding in path"])
            }
            segments.append(decoded)
        }
        return store.handle(method: request.startLine[0].uppercased(), segments: segments, body: request.body)
    }

    private func response(_ reply: RegistryStore.Reply, keepAlive: Bool) -> [UInt8] {
        let reason: String
        switch reply.status {
        case 200: reason = "OK"
        case 400: reason = "Bad Request"
        case 404: reason = "Not Found"
        case 405: reason = "Method Not Allowed"
        case 422: reason = "Unprocessable Entity"
        default: reason = "Error"
        }
        return HTTPMessageParser.serialize(
            startLine: "HTTP/1.1 \(reply.status) \(reason)",
            headers: [("Content-Type", SchemaRegistryClient.contentType), ("Connection", keepAlive ? "keep-alive" : "close")],
            body: JSON.encodeBytes(reply.body))
    }
}
