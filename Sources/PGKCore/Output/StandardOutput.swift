#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Downstream closed the pipe (`pgk topics tail T | head`). Commands stop
/// quietly and the process exits 0, as kcat and cat do.
struct OutputClosedError: Error, CustomStringConvertible, Sendable {
    var description: String { "stdout was closed" }
}

/// A large buffered writer for data on a file descriptor. Tail-style
/// commands write millions of short lines; one write(2) per line would
/// cost more than decoding them.
final class OutputSink: Sendable {
    static let standardOutput = OutputSink(fileDescriptor: 1)

    private let fileDescriptor: Int32
    private let capacity: Int
    private let buffer: Mutex<[UInt8]>

    init(fileDescriptor: Int32, capacity: Int = 256 * 1024) {
        self.fileDescriptor = fileDescriptor
        self.capacity = capacity
        var initial: [UInt8] = []
        initial.reserveCapacity(capacity)
        buffer = Mutex(initial)
    }

    var isTerminal: Bool { isatty(fileDescriptor) != 0 }

    func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let ok = buffer.withLock { pending in
            pending.append(contentsOf: bytes)
            return pending.count < capacity || drain(&pending)
        }
        if !ok { throw OutputClosedError() }
    }

    func flush() throws {
        if !buffer.withLock({ drain(&$0) }) { throw OutputClosedError() }
    }

    /// Writes everything pending; false when the reader has gone away.
    private func drain(_ pending: inout [UInt8]) -> Bool {
        var offset = 0
        defer { pending.removeAll(keepingCapacity: true) }
        while offset < pending.count {
            let written = pending.withUnsafeBytes { raw in
                Glibc.write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
