#if canImport(Glibc)
import Glibc
#endif

/// Newline-delimited records from a file descriptor, read in large chunks
/// and handed out as slices of the read buffer: no allocation per line.
final class LineInput {
    private let fileDescriptor: Int32
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0

    init(fileDescriptor: Int32, capacity: Int = 1 << 20) {
        self.fileDescriptor = fileDescriptor
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` per line (without its newline; a final line without
    /// one counts). While no input is ready, calls `idle` every 100 ms.
    /// Returns early, with input unread, once `stop` is stopped.
    func forEachLine(stop: StopToken, idle: () throws -> Void,
                     _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            if stop.isStopped { return }
            guard stop.wait(fd: fileDescriptor, timeoutMilliseconds: 100) else {
                try idle()
                continue
            }
            if end == capacity { makeRoom() }
            let count = read(fileDescriptor, buffer + end, capacity - end)
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw RuntimeError("cannot read input: \(String(cString: strerror(errno)))")
            }
            if count == 0 {
                if start < end { try body(UnsafeRawBufferPointer(start: buffer + start, count: end - start)) }
                start = 0
                end = 0
                return
            }
            end += count
            while start < end, let newline = memchr(buffer + start, 0x0A, end - start) {
                let lineEnd = buffer.distance(to: newline)
                try body(UnsafeRawBufferPointer(start: buffer + start, count: lineEnd - start))
                start = lineEnd + 1
            }
        }
    }

    /// Moves the partial line to the front, growing the buffer when a
    /// single line fills all of it.
    private func makeRoom() {
        if start == 0 {
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
            bigger.copyMemory(from: buffer, byteCount: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        } else {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
    }
}

/// The first occurrence of `needle` in `haystack`, by byte offset.
func firstRange(of needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Range<Int>? {
    guard let first = needle.first, haystack.count >= needle.count, let base = haystack.baseAddress else { return nil }
    if needle.count == 1 {
        guard let hit = memchr(base, Int32(first), haystack.count) else { return nil }
        let index = base.distance(to: UnsafeRawPointer(hit))
        return index..<index + 1
    }
    var index = 0
    while index + needle.count <= haystack.count {
        if haystack[index] == first && memcmp(base + index, needle, needle.count) == 0 {
            return index..<index + needle.count
        }
        index += 1
    }
    return nil
}
