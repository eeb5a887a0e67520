#if canImport(Glibc)
import Glibc
#endif

/// One record of `--from-file`: partition 0, offset = line or element index.
struct FileMessage: SinkMessage {
    let offset: Int64
    let value: UnsafeRawBufferPointer?
    var partition: Int32 { 0 }
    var timestamp: Int64? { nil }
    var key: UnsafeRawBufferPointer? { nil }
    var hasHeaders: Bool { false }
    func visitHeaders(_ body: (String, UnsafeRawBufferPointer?) -> Void) {}
}

/// Reads NDJSON (streamed, one value per line; blank lines keep their
/// index) or one JSON array (each element a record) from a file or stdin.
enum FileRecords {
    /// Calls `body` per record until it returns false. While no data
    /// arrives (a pipe), `idle` runs every 200 ms; a stop ends the wait.
    static func read(path: String, stop: StopToken = StopToken(), idle: () -> Void = {},
                     _ body: (Int64, UnsafeRawBufferPointer) -> Bool) throws {
        let source = try InputFile(path: path)
        let fd = source.descriptor
        // The descriptor is closed when `source` goes, so it must live to the end.
        defer { withExtendedLifetime(source) {} }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var pending: [UInt8] = []
        var lineIndex: Int64 = 0
        var first = true
        while true {
            // Regular files are always readable; pipes may make us wait.
            if !stop.wait(fd: fd, timeoutMilliseconds: 200) {
                // A stop leaves a partial last line unread: only the end
                // of the input completes it.
                if stop.isStopped { return }
                idle()
                continue
            }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw RuntimeError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            if first, let start = pending.firstIndex(where: { !isSpace($0) }) {
                first = false
                if pending[start] == UInt8(ascii: "[") {
                    // Maybe one JSON array: read it all and see.
                    try readAll(fd, path: path, into: &pending)
                    if let elements = arrayElements(pending) {
                        pending.withUnsafeBytes { all in
                            for (index, range) in elements.enumerated() {
                                guard body(Int64(index), UnsafeRawBufferPointer(rebasing: all[range])) else { return }
                            }
                        }
                        return
                    }
                }
            }
            var lineStart = 0
            var continueReading = true
            pending.withUnsafeBytes { all in
                var index = 0
                while index < all.count {
                    if all[index] == 0x0A {
                        continueReading = emit(all, lineStart, index, &lineIndex, body)
                        lineStart = index + 1
                        if !continueReading { return }
                    }
                    index += 1
                }
            }
            if !continueReading { return }
            pending.removeFirst(lineStart)
        }
        if !pending.isEmpty {
            _ = pending.withUnsafeBytes { emit($0, 0, $0.count, &lineIndex, body) }
        }
    }

    private static func emit(_ all: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ lineIndex: inout Int64,
                             _ body: (Int64, UnsafeRawBufferPointer) -> Bool) -> Bool {
        var stop = end
        if stop > start, all[stop - 1] == 0x0D { stop -= 1 }
        defer { lineIndex += 1 }
        let line = UnsafeRawBufferPointer(rebasing: all[start..<stop])
        if line.allSatisfy(isSpace) { return true }
        return body(lineIndex, line)
    }

    private static func readAll(_ fd: Int32, path: String, into data: inout [UInt8]) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw RuntimeError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// The byte ranges of a JSON array's elements, or nil when the data is
    /// not exactly one valid JSON array.
    static func arrayElements(_ data: [UInt8]) -> [Range<Int>]? {
        data.withUnsafeBytes { raw -> [Range<Int>]? in
            do throws(CodecError) {
                return try JSONScanner.topLevelElements(raw)
            } catch {
                return nil
            }
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

/// `--from-file`: the file is a one-partition topic. Offsets are stored
/// like Kafka's, so a rerun continues after what was already written
/// (a file that grew is read from where the last run stopped).
final class FileSinkSource {
    let settings: SinkSettings
    let runner: SinkRunner
    let path: String
    let topic: String
    let stop: StopToken

    init(settings: SinkSettings, runner: SinkRunner, path: String, topic: String, stop: StopToken) {
        self.settings = settings
        self.runner = runner
        self.path = path
        self.topic = topic
        self.stop = stop
    }

    func run() throws {
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let stored = try OffsetLookup(database: settings.database, group: settings.group, stop: stop).stored([partition])
        runner.assign(partition, stored: stored[partition])
        if let resume = stored[partition], resume > 0 {
            Log.info("sink: \(path): continuing at record \(resume) (stored for group \(settings.group))")
        }
        try FileRecords.read(path: path, stop: stop, idle: { runner.flushIfDue() }) { offset, bytes in
            runner.offer(FileMessage(offset: offset, value: bytes), topic: topic)
            runner.flushIfDue()
            runner.tick()
            return !stop.isStopped && !runner.isFailed && !runner.reachedMaxMessages
        }
        runner.flush(wait: true)
    }
}
