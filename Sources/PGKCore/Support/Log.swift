#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Diagnostics go to stderr; stdout is reserved for data.
enum LogLevel: Int, Comparable, Sendable {
    case error = 0, warning, info, debug, trace
    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

enum Log {
    private static let state = Mutex<LogLevel>(.info)

    /// `-q` gives .error, the default .info, `-v` .debug, `-vv` .trace.
    static var level: LogLevel {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    static func enabled(_ level: LogLevel) -> Bool { level <= Log.level }

    static func error(_ message: @autoclosure () -> String) { emit(.error, message) }
    static func warning(_ message: @autoclosure () -> String) { emit(.warning, message) }
    static func info(_ message: @autoclosure () -> String) { emit(.info, message) }
    static func debug(_ message: @autoclosure () -> String) { emit(.debug, message) }
    static func trace(_ message: @autoclosure () -> String) { emit(.trace, message) }

    private static func emit(_ level: LogLevel, _ message: () -> String) {
        guard enabled(level) else { return }
        let prefix: String
        switch level {
        case .error: prefix = "pgk: error: "
        case .warning: prefix = "pgk: warning: "
        default: prefix = "pgk: "
        }
        StandardError.write(prefix + message() + "\n")
    }
}

/// Unbuffered, whole-line writes to stderr, so lines from several threads
/// never interleave mid-line.
enum StandardError {
    private static let lock = Mutex<Void>(())
    static func write(_ text: String) {
        let text = Secrets.redact(text)
        lock.withLock { _ in
            var bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeMutableBytes { raw in
                    Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                }
                if n <= 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
    static var isTerminal: Bool { isatty(2) != 0 }
}
