#if canImport(Glibc)
import Glibc
#endif

/// The messages one block of input lines became, ready to produce: values
/// and keys packed into two buffers, plus what was rejected and why.
/// Line numbers are relative to the block (1 = its first line).
struct PublishBatch: Sendable {
    struct Entry: Sendable {
        var line: Int32
        var valueEnd: Int32
        /// -1 when the message has no key.
        var keyStart: Int32
        var keyEnd: Int32
    }

    var values: [UInt8] = []
    var keys: [UInt8] = []
    var entries: [Entry] = []
    var rejections: [(line: Int32, message: String)] = []
    /// Lines that became no message (rejected or blank), in order.
    var skipped: [Int32] = []
    var lines: Int32 = 0
}

/// Turns input lines into messages: parses, validates, wraps and keys
/// each. Pure and thread-safe, so several threads can work on blocks of
/// one input while the main thread produces the finished ones in order.
struct PublishLineChecker: Sendable {
    /// The schema of every event; with --raw, an optional filter.
    let schemaID: SchemaID?
    let schema: CompiledSchema?
    let catalog: SchemaCatalog
    let raw: Bool
    let keyPath: [String]?
    let keyDelimiter: [UInt8]?
    /// --data: a blank event is an error, not a line to skip.
    let singleEvent: Bool
    private let writer: EnvelopeWriter?
    /// Decides most events of flat schemas without building a `Value`.
    private let flat: FlatEventCheck?

    init(schemaID: SchemaID?, schema: CompiledSchema?, catalog: SchemaCatalog, raw: Bool, keyPath: [String]?,
         keyDelimiter: [UInt8]?, singleEvent: Bool, flat: FlatEventCheck? = nil) {
        self.flat = raw || keyPath != nil ? nil : flat
        self.schemaID = schemaID
        self.schema = schema
        self.catalog = catalog
        self.raw = raw
        self.keyPath = keyPath
        self.keyDelimiter = keyDelimiter
        self.singleEvent = singleEvent
        writer = raw ? nil : schemaID.map { EnvelopeWriter(schema: $0) }
    }

    /// Every line of `block` (a final line without newline counts).
    func process(_ block: [UInt8]) -> PublishBatch {
        var batch = PublishBatch()
        batch.values.reserveCapacity(block.count + block.count / 4)
        block.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var start = 0
            while start < bytes.count {
                let end: Int
                if let newline = memchr(base + start, 0x0A, bytes.count - start) {
                    end = base.distance(to: UnsafeRawPointer(newline))
                } else {
                    end = bytes.count
                }
                batch.lines += 1
                add(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), line: batch.lines, to: &batch)
                start = end + 1
            }
        }
        return batch
    }

    private func add(_ whole: UnsafeRawBufferPointer, line: Int32, to batch: inout PublishBatch) {
        var text = whole
        var key: UnsafeRawBufferPointer?
        if let keyDelimiter, let range = firstRange(of: keyDelimiter, in: whole) {
            key = UnsafeRawBufferPointer(rebasing: whole[..<range.lowerBound])
            text = UnsafeRawBufferPointer(rebasing: whole[range.upperBound...])
        }
        if !singleEvent && Envelope.trimmed(text).isEmpty {
            batch.skipped.append(line)
            return
        }
        let data: Value
        switch raw ? checkEnvelope(text) : checkEvent(text) {
        case .success(let value): data = value
        case .failure(let rejection):
            reject(line, rejection.message, in: &batch)
            return
        }
        var keyStart: Int32 = -1
        if let key {
            keyStart = Int32(batch.keys.count)
            batch.keys.append(contentsOf: key)
        } else if let keyPath {
            switch keyValue(data, path: keyPath) {
            case .failure(let rejection):
                reject(line, rejection.message, in: &batch)
                return
            case .success(let bytes?):
                keyStart = Int32(batch.keys.count)
                batch.keys.append(contentsOf: bytes)
            case .success(nil):
                break
            }
        }
        if let writer {
            writer.write(data: text, into: &batch.values)
        } else {
            batch.values.append(contentsOf: Envelope.trimmed(text))
        }
        batch.entries.append(PublishBatch.Entry(line: line, valueEnd: Int32(batch.values.count), keyStart: keyStart,
                                                keyEnd: Int32(batch.keys.count)))
    }

    private func reject(_ line: Int32, _ message: String, in batch: inout PublishBatch) {
        batch.rejections.append((line, message))
        batch.skipped.append(line)
    }

    /// The event when `bytes` is a valid one.
    private func checkEvent(_ bytes: UnsafeRawBufferPointer) -> Result<Value, PublishRejection> {
        // A valid answer is final; the data is then not needed (no --key-field).
        if let flat, flat.check(bytes) == .valid { return .success(.null) }
        let value: Value
        do {
            value = try JSON.decode(bytes, options: JSON.ReadOptions(preserveNumberText: true))
        } catch {
            return .failure(PublishRejection("not JSON: \(error)"))
        }
        guard case .object = value else { return .failure(PublishRejection("the event is not a JSON object")) }
        if let schema, !schema.isValid(value) {
            let first = schema.validate(value).first.map(\.description) ?? "invalid"
            return .failure(PublishRejection(first))
        }
        return .success(value)
    }

    /// The envelope's data when it is valid against the schema it names.
    private func checkEnvelope(_ bytes: UnsafeRawBufferPointer) -> Result<Value, PublishRejection> {
        let envelope: Envelope
        let id: SchemaID
        do {
            envelope = try Envelope.decode(bytes)
            id = try envelope.schemaID()
        } catch {
            return .failure(PublishRejection(error.description))
        }
        if let schemaID, id != schemaID {
            return .failure(PublishRejection("schema \(id) is not \(schemaID) (--schema)"))
        }
        let compiled: CompiledSchema
        if let schema {
            compiled = schema
        } else {
            do { compiled = try catalog.schema(id) } catch { return .failure(PublishRejection(error.description)) }
        }
        if !compiled.isValid(envelope.data) {
            let first = compiled.validate(envelope.data).first.map(\.description) ?? "invalid"
            return .failure(PublishRejection("\(id): \(first)"))
        }
        return .success(envelope.data)
    }

    /// The key bytes at `path` in the event: strings as their text, other
    /// values as compact JSON, null as no key. A missing field rejects.
    private func keyValue(_ data: Value, path: [String]) -> Result<[UInt8]?, PublishRejection> {
        var current = data
        for name in path {
            guard case .object(let object) = current, let next = object[name] else {
                return .failure(PublishRejection("key field '\(path.joined(separator: "."))' is missing"))
            }
            current = next
        }
        switch current {
        case .null: return .success(nil)
        case .string(let text): return .success(Array(text.utf8))
        default: return .success(JSON.encodeBytes(current))
        }
    }
}

struct PublishRejection: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Input cut into blocks of whole lines, each a fresh array a worker
/// thread can own. A final line without newline ends the last block.
final class BlockInput {
    private let fileDescriptor: Int32
    private let blockSize: Int
    private var carry: [UInt8] = []
    private var finished = false

    init(fileDescriptor: Int32, blockSize: Int = 256 << 10) {
        self.fileDescriptor = fileDescriptor
        self.blockSize = blockSize
    }

    /// The next block, nil at the end of input or once `stop` is stopped.
    /// While no input is ready, calls `idle` every 100 ms.
    func next(stop: StopToken, idle: () throws -> Void) throws -> [UInt8]? {
        guard !finished else { return nil }
        var block = carry
        carry = []
        block.reserveCapacity(max(blockSize, block.count * 2))
        while true {
            if stop.isStopped { return nil }
            guard stop.wait(fd: fileDescriptor, timeoutMilliseconds: 100) else {
                try idle()
                continue
            }
            let old = block.count
            let room = max(blockSize - old, 64 << 10)
            block.append(contentsOf: repeatElement(0, count: room))
            let count = block.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress! + old, room) }
            if count < 0 {
                block.removeLast(room)
                if errno == EINTR || errno == EAGAIN { continue }
                throw RuntimeError("cannot read input: \(String(cString: strerror(errno)))")
            }
            block.removeLast(room - count)
            if count == 0 {
                finished = true
                return block.isEmpty ? nil : block
            }
            // Cut after the last newline; the rest starts the next block.
            if block.count >= blockSize / 2, let last = block.lastIndex(of: 0x0A) {
                carry = Array(block[(last + 1)...])
                block.removeLast(block.count - last - 1)
                return block
            }
        }
    }
}
