#if canImport(Glibc)
import Glibc
#endif

/// One parsed HTTP/1.1 message, request or response.
struct HTTPMessage: Sendable {
    /// Request: [method, target, version]; response: [version, status, reason].
    var startLine: [String]
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var status: Int { startLine.count > 1 ? Int(startLine[1]) ?? 0 : 0 }
}

/// Parses HTTP/1.1 messages out of a byte buffer that grows as data
/// arrives; the client and the embedded registry server share it.
/// Supports Content-Length, chunked, and (responses) read-until-close.
enum HTTPMessageParser {
    enum Outcome {
        case incomplete
        case complete(HTTPMessage, consumed: Int)
        case invalid(String)
    }

    static let maxHeaderBytes = 64 * 1024
    static let maxBodyBytes = 64 * 1024 * 1024

    /// `atEOF`: the peer closed, so a response without framing ends here.
    /// `bodyless`: a response to HEAD, or a request whose start line says so.
    static func parse(_ buffer: [UInt8], isResponse: Bool, atEOF: Bool) -> Outcome {
        guard let headEnd = find(crlfcrlf, in: buffer, from: 0) else {
            return buffer.count > maxHeaderBytes ? .invalid("headers larger than \(maxHeaderBytes) bytes") : .incomplete
        }
        let headText = String(decoding: buffer[..<headEnd], as: UTF8.self)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { return .invalid("empty message head") }
        let startLine = lines.removeFirst().split(separator: " ", maxSplits: 2).map(String.init)
        guard startLine.count >= 2 else { return .invalid("malformed start line") }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .invalid("malformed header line") }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingSpaces
            headers.append((name, value))
        }
        var message = HTTPMessage(startLine: startLine, headers: headers, body: [])
        let bodyStart = headEnd + 4
        if isResponse, let status = Int(startLine[1]), status / 100 == 1 || status == 204 || status == 304 {
            return .complete(message, consumed: bodyStart)
        }
        if let encoding = message.header("Transfer-Encoding"), encoding.lowercased().contains("chunked") {
            switch dechunk(buffer, from: bodyStart) {
            case .incomplete: return .incomplete
            case .invalid(let reason): return .invalid(reason)
            case .complete(let body, let end):
                message.body = body
                return .complete(message, consumed: end)
            }
        }
        if let lengthText = message.header("Content-Length") {
            guard let length = Int(lengthText), length >= 0, length <= maxBodyBytes else {
                return .invalid("bad Content-Length \(lengthText)")
            }
            guard buffer.count - bodyStart >= length else { return .incomplete }
            message.body = Array(buffer[bodyStart..<bodyStart + length])
            return .complete(message, consumed: bodyStart + length)
        }
        guard isResponse else { return .complete(message, consumed: bodyStart) }
        guard atEOF else { return buffer.count - bodyStart > maxBodyBytes ? .invalid("body too large") : .incomplete }
        message.body = Array(buffer[bodyStart...])
        return .complete(message, consumed: buffer.count)
    }

    private enum Dechunked {
        case incomplete
        case invalid(String)
        case complete([UInt8], end: Int)
    }

    private static func dechunk(_ buffer: [UInt8], from start: Int) -> Dechunked {
        var body: [UInt8] = []
        var index = start
        while true {
            guard let lineEnd = find(crlf, in: buffer, from: index) else { return .incomplete }
            let sizeText = String(decoding: buffer[index..<lineEnd], as: UTF8.self)
                .split(separator: ";").first.map { String($0).trimmingSpaces } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0, size <= maxBodyBytes - body.count else {
                return .invalid("bad chunk size '\(sizeText)'")
            }
            index = lineEnd + 2
            if size == 0 {
                // Optional trailers, then an empty line.
                while true {
                    guard let end = find(crlf, in: buffer, from: index) else { return .incomplete }
                    let empty = end == index
                    index = end + 2
                    if empty { return .complete(body, end: index) }
                }
            }
            guard buffer.count - index >= size + 2 else { return .incomplete }
            body.append(contentsOf: buffer[index..<index + size])
            index += size + 2
        }
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let crlfcrlf: [UInt8] = [13, 10, 13, 10]

    private static func find(_ needle: [UInt8], in buffer: [UInt8], from start: Int) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        var i = start
        outer: while i + needle.count <= buffer.count {
            for j in 0..<needle.count where buffer[i + j] != needle[j] {
                i += 1
                continue outer
            }
            return i
        }
        return nil
    }

    static func serialize(startLine: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        var head = startLine + "\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}

/// Percent-encoding for one path segment (RFC 3986 unreserved kept).
enum PercentEncoding {
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static func decode(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// Socket calls with a deadline. Descriptors are non-blocking; every wait
/// is a poll bounded by the time left, so nothing here can hang.
enum SocketIO {
    static func setNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Milliseconds left until `deadline` (a SystemClock time), at least 0.
    static func remaining(_ deadline: Int64) -> Int32 {
        Int32(clamping: max(0, deadline - SystemClock.shared.nowMilliseconds))
    }

    enum WaitResult { case ready, timedOut, failed(Int32) }

    static func wait(_ fd: Int32, events: Int16, deadline: Int64) -> WaitResult {
        while true {
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&pfd, 1, remaining(deadline))
            if rc > 0 { return .ready }
            if rc == 0 { return .timedOut }
            if errno != EINTR { return .failed(errno) }
        }
    }

    static var errorText: String { String(cString: strerror(errno)) }
    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
