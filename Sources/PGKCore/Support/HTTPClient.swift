import CCurl

/// TLS settings for an https:// endpoint. Unset, libcurl verifies the
/// server against the system's CA store.
struct HTTPTLSOptions: Sendable, Equatable {
    /// A PEM bundle of CAs to trust instead of the system store.
    var caFile: String?
    /// A client certificate (PEM) and its key, for mutual TLS.
    var certificateFile: String?
    var keyFile: String?

    init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// A synchronous HTTP client for the schema registry, on libcurl: TLS with
/// the system CAs (or `tls.caFile`), client certificates, proxies from the
/// usual environment variables (`https_proxy`, `no_proxy`, …), and one
/// deadline that covers name resolution, connecting and the transfer.
/// One connection per request: registry calls are cached and rare. Call it
/// from a worker thread, never from Swift's cooperative pool.
struct HTTPClient: Sendable {
    let endpoint: HTTPEndpoint
    var timeoutMilliseconds: Int
    var tls: HTTPTLSOptions

    init(endpoint: HTTPEndpoint, timeoutMilliseconds: Int = 10_000, tls: HTTPTLSOptions = HTTPTLSOptions()) {
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
        self.tls = tls
    }

    /// `path` is appended to the endpoint's base path and must start with "/".
    func request(_ method: String, _ path: String, body: [UInt8]? = nil,
                 headers extra: [(String, String)] = []) throws(HTTPError) -> HTTPMessage {
        let shown = endpoint.description + path
        let transfer = try CurlTransfer(shownURL: shown)
        var headers = extra
        if let authorization = endpoint.authorization { headers.append(("Authorization", authorization)) }
        try transfer.configure(url: endpoint.requestURL(path), method: method, body: body, headers: headers,
                               timeoutMilliseconds: timeoutMilliseconds, tls: tls)
        return try transfer.perform()
    }
}

/// One libcurl easy handle and what must outlive `curl_easy_perform`: the
/// header list, the error buffer and the response being collected.
private final class CurlTransfer {
    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    private let shownURL: String
    private var timeoutMilliseconds = 0
    fileprivate var body: [UInt8] = []
    fileprivate var headerLines: [String] = []

    /// libcurl's global state, set up once before the first handle.
    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    init(shownURL: String) throws(HTTPError) {
        self.shownURL = shownURL
        guard CurlTransfer.globalInit == CURLE_OK, let handle = curl_easy_init() else {
            errorBuffer.deallocate()
            throw HTTPError(.protocolError, url: shownURL, "libcurl could not be initialised")
        }
        self.handle = handle
        errorBuffer.initialize(to: 0)
    }

    deinit {
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    func configure(url: String, method: String, body: [UInt8]?, headers: [(String, String)],
                   timeoutMilliseconds: Int, tls: HTTPTLSOptions) throws(HTTPError) {
        self.timeoutMilliseconds = timeoutMilliseconds
        try set(CURLOPT_URL, url)
        try set(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer))
        // Signals would interrupt other threads; the deadline covers DNS too.
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        try set(CURLOPT_CONNECTTIMEOUT_MS, timeoutMilliseconds)
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_USERAGENT, "pgk")
        try set(CURLOPT_CUSTOMREQUEST, method)
        if let body {
            try set(CURLOPT_POSTFIELDSIZE, body.count)
            // COPYPOSTFIELDS copies the bytes, so nothing here must outlive perform.
            let code = body.withUnsafeBufferPointer { buffer in
                pgk_curl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS,
                                     UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
            try check(code, "request body")
        } else if method == "GET" {
            try set(CURLOPT_HTTPGET, 1)
        }
        // Expect: 100-continue would cost a round trip per POST.
        for (name, value) in headers + [("Expect", "")] {
            guard let appended = curl_slist_append(headerList, "\(name): \(value)") else {
                throw HTTPError(.protocolError, url: shownURL, "libcurl could not build the request headers")
            }
            headerList = appended
        }
        try set(CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
        if let caFile = tls.caFile { try set(CURLOPT_CAINFO, caFile) }
        if let certificate = tls.certificateFile { try set(CURLOPT_SSLCERT, certificate) }
        if let key = tls.keyFile { try set(CURLOPT_SSLKEY, key) }
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(pgk_curl_set_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            if let data { transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
            return length
        }), "write callback")
        try set(CURLOPT_WRITEDATA, context)
        try check(pgk_curl_set_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            if let data {
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
                transfer.headerLines.append(line.trimmingTrailingNewline())
            }
            return length
        }), "header callback")
        try set(CURLOPT_HEADERDATA, context)
    }

    func perform() throws(HTTPError) -> HTTPMessage {
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else { throw failure(code) }
        var status = 0
        _ = pgk_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        // Header lines of the last response only (a proxy CONNECT adds its own).
        let lastStart = headerLines.lastIndex { $0.hasPrefix("HTTP/") } ?? 0
        let lines = headerLines[lastStart...]
        let startLine = lines.first.map { $0.split(separator: " ", maxSplits: 2).map(String.init) } ?? []
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces())
        }
        var message = HTTPMessage(startLine: startLine, headers: headers, body: body)
        if message.status != status { message.startLine = ["HTTP/1.1", String(status), ""] }
        return message
    }

    private func failure(_ code: CURLcode) -> HTTPError {
        let detail = String(cString: errorBuffer)
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(.timeout, url: shownURL, "no answer within \(timeoutMilliseconds) ms (\(reason))")
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_SEND_ERROR,
             CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            return HTTPError(.unreachable, url: shownURL, reason)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED:
            return HTTPError(.tls, url: shownURL, "TLS: \(reason)")
        default:
            return HTTPError(.protocolError, url: shownURL, reason)
        }
    }

    private func check(_ code: CURLcode, _ what: String) throws(HTTPError) {
        guard code == CURLE_OK else {
            throw HTTPError(.protocolError, url: shownURL,
                            "libcurl rejected the \(what): \(String(cString: curl_easy_strerror(code)))")
        }
    }

    private func set(_ option: CURLoption, _ value: Int) throws(HTTPError) {
        try check(pgk_curl_set_long(handle, option, value), "\(option)")
    }

    private func set(_ option: CURLoption, _ value: String) throws(HTTPError) {
        // libcurl copies string options (since 7.17), so the temporary C string may go.
        try check(pgk_curl_set_string(handle, option, value), "\(option)")
    }

    private func set(_ option: CURLoption, _ value: UnsafeMutableRawPointer?) throws(HTTPError) {
        try check(pgk_curl_set_pointer(handle, option, value), "\(option)")
    }
}

private extension String {
    func trimmingTrailingNewline() -> String {
        var text = Substring(self)
        // "\r\n" is one Character, which isNewline covers.
        while let last = text.last, last.isNewline { text.removeLast() }
        return String(text)
    }

    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// A parsed `http[s]://[user[:password]@]host[:port][/base]` URL. The
/// password only lives in the Authorization header value; `description`
/// shows `user:***@`, so errors and logs never leak it.
struct HTTPEndpoint: Sendable, CustomStringConvertible {
    let scheme: String
    let host: String
    let port: UInt16
    /// Path prefix without a trailing slash, "" for none.
    let basePath: String
    let authorization: String?
    /// The URL with the password replaced by ***.
    let description: String

    var hostHeader: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

    /// The URL a request for `path` goes to, without credentials (they
    /// travel in the Authorization header).
    func requestURL(_ path: String) -> String { "\(scheme)://\(hostHeader)\(basePath)\(path)" }

    init(_ url: String) throws(HTTPError) {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw HTTPError(.invalidURL, url: "", "'\(Self.redactGuess(url))' is not an http:// or https:// URL")
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
        guard scheme == "http" || scheme == "https" else {
            throw HTTPError(.invalidURL, url: shown, "only http:// and https:// are supported (got \(scheme)://)")
        }
        var host = String(authority)
        var port: UInt16 = scheme == "https" ? 443 : 80
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
        self.scheme = scheme
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
        /// The TLS handshake failed: an untrusted or mismatched certificate,
        /// a bad client certificate. Retrying does not help.
        case tls
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
