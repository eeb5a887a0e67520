#if canImport(Glibc)
import Glibc
#endif

/// A minimal synchronous HTTP/1.1 client over POSIX sockets, for the
/// schema registry. Chosen over FoundationNetworking's URLSession to keep
/// Foundation and libcurl out of the binary and to get hard deadlines:
/// every connect, write and read is a poll bounded by the request's
/// deadline. One connection per request (registry calls are cached and
/// rare). Limits: http:// only, no proxies, and name resolution
/// (getaddrinfo) is not covered by the deadline.
struct HTTPClient: Sendable {
    let endpoint: HTTPEndpoint
    var timeoutMilliseconds: Int

    init(endpoint: HTTPEndpoint, timeoutMilliseconds: Int = 10_000) {
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// `path` is appended to the endpoint's base path and must start with "/".
    func request(_ method: String, _ path: String, body: [UInt8]? = nil,
                        headers extra: [(String, String)] = []) throws(HTTPError) -> HTTPMessage {
        let deadline = SystemClock.shared.nowMilliseconds + Int64(timeoutMilliseconds)
        let url = endpoint.description + path
        let fd = try connect(deadline: deadline, url: url)
        defer { close(fd) }
        var headers: [(String, String)] = [("Host", endpoint.hostHeader), ("Connection", "close"), ("User-Agent", "pgk")]
        if let authorization = endpoint.authorization { headers.append(("Authorization", authorization)) }
        headers.append(contentsOf: extra)
        let request = HTTPMessageParser.serialize(startLine: "\(method) \(endpoint.basePath)\(path) HTTP/1.1",
                                                  headers: headers, body: body ?? [])
        try send(request, fd: fd, deadline: deadline, url: url)
        return try receive(fd: fd, deadline: deadline, url: url)
    }

    private func timeout(_ url: String, _ phase: String) -> HTTPError {
        HTTPError(.timeout, url: url, "no answer within \(timeoutMilliseconds) ms (\(phase))")
    }

    private func connect(deadline: Int64, url: String) throws(HTTPError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0, let list else {
            throw HTTPError(.unreachable, url: url, "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var failure = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let info = entry?.pointee {
            entry = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard fd >= 0 else { failure = SocketIO.errorText; continue }
            SocketIO.setNonBlocking(fd)
            if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return fd }
            guard errno == EINPROGRESS else { failure = SocketIO.errorText; close(fd); continue }
            switch SocketIO.wait(fd, events: Int16(POLLOUT), deadline: deadline) {
            case .timedOut:
                close(fd)
                throw timeout(url, "connecting")
            case .failed(let code):
                failure = SocketIO.errorText(code)
            case .ready:
                var code: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
                if code == 0 { return fd }
                failure = SocketIO.errorText(code)
            }
            close(fd)
        }
        throw HTTPError(.unreachable, url: url, "cannot connect: \(failure)")
    }

    private func send(_ bytes: [UInt8], fd: Int32, deadline: Int64, url: String) throws(HTTPError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            guard n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else {
                throw HTTPError(.unreachable, url: url, "sending the request failed: \(SocketIO.errorText)")
            }
            if case .timedOut = SocketIO.wait(fd, events: Int16(POLLOUT), deadline: deadline) { throw timeout(url, "sending") }
        }
    }

    private func receive(fd: Int32, deadline: Int64, url: String) throws(HTTPError) -> HTTPMessage {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var atEOF = false
        while true {
            if !buffer.isEmpty || atEOF {
                switch HTTPMessageParser.parse(buffer, isResponse: true, atEOF: atEOF) {
                case .complete(let message, _): return message
                case .invalid(let reason): throw HTTPError(.protocolError, url: url, "malformed HTTP response: \(reason)")
                case .incomplete:
                    if atEOF { throw HTTPError(.unreachable, url: url, "connection closed before the response was complete") }
                }
            }
            switch SocketIO.wait(fd, events: Int16(POLLIN), deadline: deadline) {
            case .timedOut: throw timeout(url, buffer.isEmpty ? "waiting for the response" : "reading the response")
            case .failed(let code): throw HTTPError(.unreachable, url: url, "poll failed: \(SocketIO.errorText(code))")
            case .ready: break
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
            } else if n == 0 {
                atEOF = true
            } else if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
                throw HTTPError(.unreachable, url: url, "reading the response failed: \(SocketIO.errorText)")
            }
        }
    }
}

/// A parsed `http://[user[:password]@]host[:port][/base]` URL. The
/// password only lives in the Authorization header value; `description`
/// shows `user:***@`, so errors and logs never leak it.
struct HTTPEndpoint: Sendable, CustomStringConvertible {
    let host: String
    let port: UInt16
    /// Path prefix without a trailing slash, "" for none.
    let basePath: String
    let authorization: String?
    /// The URL with the password replaced by ***.
    let description: String

    var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

    init(_ url: String) throws(HTTPError) {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw HTTPError(.invalidURL, url: "", "'\(Self.redactGuess(url))' is not an http:// URL")
        }
        let scheme = url[..<colon].lowercased()
        let rest = url[url.index(colon, offsetBy: 3)...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        var userInfo: Substring?
        if let at = authority.lastIndex(of: "@") {
            userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
        }
        var shown = "\(scheme)://"
        var authorization: String?
        if let userInfo {
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let user = PercentEncoding.decode(String(parts[0])) ?? String(parts[0])
            let password = parts.count > 1 ? PercentEncoding.decode(String(parts[1])) ?? String(parts[1]) : ""
            authorization = "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
            shown += String(parts[0]) + (parts.count > 1 ? ":***" : "") + "@"
        }
        shown += authority + path
        guard scheme == "http" else {
            throw HTTPError(.invalidURL, url: shown, "only http:// is supported by pgk's built-in HTTP client (got \(scheme)://)")
        }
        var host = String(authority)
        var port: UInt16 = 80
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = UInt16(after.dropFirst()) else { throw HTTPError(.invalidURL, url: shown, "bad port") }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = UInt16(authority[authority.index(after: colon)...]) else {
                throw HTTPError(.invalidURL, url: shown, "bad port in '\(shown)'")
            }
            port = p
        }
        guard !host.isEmpty else { throw HTTPError(.invalidURL, url: shown, "no host in '\(shown)'") }
        self.host = host
        self.port = port
        self.basePath = path.hasPrefix("?") ? "" : path
        self.authorization = authorization
        self.description = shown
    }

    /// For text that did not even parse: hide anything between ':' and '@'.
    private static func redactGuess(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let head = text[..<at]
        guard let colon = head.lastIndex(of: ":") else { return text }
        return text[...colon] + "***" + text[at...]
    }
}

struct HTTPError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable, Equatable {
        case invalidURL
        /// Resolution, connection or socket failure: worth retrying.
        case unreachable
        case timeout
        /// The peer did not speak HTTP/1.1 as expected.
        case protocolError
    }

    var kind: Kind
    /// Redacted URL of the request.
    var url: String
    var message: String

    init(_ kind: Kind, url: String, _ message: String) {
        self.kind = kind
        self.url = url
        self.message = message
    }

    var description: String { url.isEmpty ? message : "\(url): \(message)" }
}
