#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One reply of an `HTTPServer` handler.
struct HTTPReply: Sendable {
    var status: Int
    var contentType: String
    var body: [UInt8]

    init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init(status: Int, text: String) {
        self.init(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    var reason: String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 422: "Unprocessable Entity"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }
}

/// A small HTTP/1.1 server on a thread of its own: one poll loop over the
/// listening socket and every connection (bounded by a timeout and woken
/// by its stop token), so it never occupies Swift's cooperative pool and
/// a slow client never blocks another. The embedded schema registry and
/// the metrics endpoint share it.
final class HTTPServer: Sendable {
    typealias Handler = @Sendable (HTTPMessage) -> HTTPReply

    let host: String
    let port: UInt16
    /// "http://HOST:PORT", IPv6 hosts in brackets.
    let url: String
    private let token = StopToken()
    private let thread = Mutex<pthread_t?>(nil)

    /// `port` 0 picks a free port (read `port` afterwards). `label` names
    /// the server in errors. `keepAlive` false closes every connection
    /// after its reply.
    init(label: String, host: String, port: UInt16, keepAlive: Bool = true,
         handler: @escaping Handler) throws(RuntimeError) {
        let (fd, bound) = try Self.listen(label: label, host: host, port: port)
        self.host = host
        self.port = bound
        url = "http://" + (host.contains(":") ? "[\(host)]" : host) + ":\(bound)"
        let loop = HTTPServerLoop(label: label, listenFD: fd, token: token, keepAlive: keepAlive, handler: handler)
        let box = Unmanaged.passRetained(loop).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let loop = Unmanaged<HTTPServerLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<HTTPServerLoop>.fromOpaque(box).release()
            close(fd)
            throw RuntimeError("\(label): cannot start its thread: \(SocketIO.errorText(rc))")
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

    private static func listen(label: String, host: String, port: UInt16) throws(RuntimeError) -> (Int32, UInt16) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let info = list?.pointee else {
            throw RuntimeError("\(label): cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
        guard fd >= 0 else { throw RuntimeError("\(label): socket: \(SocketIO.errorText)") }
        // Lets a restart rebind while old connections sit in TIME_WAIT; a
        // port another socket listens on still fails with EADDRINUSE.
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.ai_addr, info.ai_addrlen) == 0, Glibc.listen(fd, 128) == 0 else {
            let message = SocketIO.errorText
            close(fd)
            let shown = host.contains(":") ? "[\(host)]" : host
            throw RuntimeError("\(label): cannot listen on \(shown):\(port): \(message)")
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
private final class HTTPServerLoop: @unchecked Sendable {
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

    private let label: String
    private let listenFD: Int32
    private let token: StopToken
    private let keepAlive: Bool
    private let handler: HTTPServer.Handler
    private var connections: [Connection] = []

    init(label: String, listenFD: Int32, token: StopToken, keepAlive: Bool, handler: @escaping HTTPServer.Handler) {
        self.label = label
        self.listenFD = listenFD
        self.token = token
        self.keepAlive = keepAlive
        self.handler = handler
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
            if rc < 0 && errno != EINTR { Log.error("\(label): poll failed: \(SocketIO.errorText)"); return }
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
                connection.output += serialize(HTTPReply(status: 400, text: reason + "\n"), keepAlive: false)
                connection.input.removeAll()
                connection.closeAfterFlush = true
            case .complete(let request, let consumed):
                connection.input.removeFirst(consumed)
                let keepAlive = self.keepAlive && request.header("Connection")?.lowercased() != "close"
                connection.output += serialize(handler(request), keepAlive: keepAlive)
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

    private func serialize(_ reply: HTTPReply, keepAlive: Bool) -> [UInt8] {
        HTTPMessageParser.serialize(
            startLine: "HTTP/1.1 \(reply.status) \(reply.reason)",
            headers: [("Content-Type", reply.contentType), ("Connection", keepAlive ? "keep-alive" : "close")],
            body: reply.body)
    }
}

extension HTTPMessage {
    /// A request's method, upper-cased.
    var method: String { startLine[0].uppercased() }
    /// A request's target without the query string.
    var path: String {
        String(startLine[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}
