#if canImport(Glibc)
import Glibc
#endif

/// kafkaesk's message value: compact JSON `{"schema":"<Name>:<version>","data":<object>}`.
///
/// kafkaesk writes it with `orjson.dumps({"schema": key, "data": data})`:
/// no whitespace, `schema` first. Encoding here splices the event's own
/// (already validated) bytes in as `data` instead of re-serializing it:
/// whitespace between tokens is dropped, everything else (member order,
/// number text, escapes) stays as the producer wrote it.
struct EnvelopeWriter {
    /// `{"schema":"Name:1","data":`
    let prefix: [UInt8]

    init(schema: String) {
        var prefix = Array(#"{"schema":"#.utf8)
        JSONWriter.appendString(schema, to: &prefix)
        prefix.append(contentsOf: #","data":"#.utf8)
        self.prefix = prefix
    }

    init(schema: SchemaID) { self.init(schema: schema.description) }

    /// Appends the envelope around `data` (one valid JSON value) to `out`.
    func write(data: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(contentsOf: prefix)
        Envelope.appendCompact(data, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    func encode(data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(prefix.count + data.count + 1)
        data.withUnsafeBytes { write(data: $0, into: &out) }
        return out
    }
}

/// A decoded envelope.
struct Envelope {
    /// The `schema` text as sent, e.g. `Order:1`.
    var schema: String
    var data: Value

    /// The schema id, checked.
    func schemaID() throws(EnvelopeError) -> SchemaID {
        do { return try SchemaID.parse(schema) } catch { throw .badSchemaID(error.description) }
    }

    /// Parses a message value. Numbers keep their text, so validation of
    /// `multipleOf` and big integers is exact.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(EnvelopeError) -> Envelope {
        let value: Value
        do {
            value = try JSON.decode(bytes, options: JSON.ReadOptions(preserveNumberText: true))
        } catch {
            throw .notJSON(error.description)
        }
        guard case .object(let object) = value else { throw .notEnvelope("the value is not a JSON object") }
        guard let schemaValue = object["schema"] else { throw .notEnvelope("no \"schema\" member") }
        guard case .string(let schema) = schemaValue else { throw .notEnvelope("\"schema\" is not a string") }
        guard let data = object["data"] else { throw .notEnvelope("no \"data\" member") }
        guard case .object = data else { throw .notEnvelope("\"data\" is not a JSON object") }
        return Envelope(schema: schema, data: data)
    }

    static func decode(_ bytes: [UInt8]) throws(EnvelopeError) -> Envelope {
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(EnvelopeError) in try decode(buffer) } }
        return try result.get()
    }

    /// `bytes` without leading and trailing JSON whitespace.
    static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// Appends valid JSON text without the whitespace between its tokens.
    /// Compact input (the common case) is copied in one piece.
    static func appendCompact(_ json: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let text = trimmed(json)
        // Inside the trimmed text, a newline cannot occur (lines) and a
        // tab or space usually does not (compact producers): memchr is
        // vectorised, the byte loop below is not.
        if let base = text.baseAddress, memchr(base, 0x20, text.count) == nil, memchr(base, 0x09, text.count) == nil,
           memchr(base, 0x0D, text.count) == nil, memchr(base, 0x0A, text.count) == nil {
            out.append(contentsOf: text)
            return
        }
        var inString = false
        var escaped = false
        var runStart = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
            } else if byte == 0x22 {
                inString = true
            } else if isWhitespace(byte) {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart..<index]))
                while index + 1 < text.count, isWhitespace(text[index + 1]) { index += 1 }
                runStart = index + 1
            }
            index += 1
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart..<text.count]))
    }

    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// Why a message is not a usable envelope.
enum EnvelopeError: Error, CustomStringConvertible, Equatable {
    case notJSON(String)
    case notEnvelope(String)
    case badSchemaID(String)

    var description: String {
        switch self {
        case .notJSON(let reason): return "not JSON: \(reason)"
        case .notEnvelope(let reason): return "not a kafkaesk envelope: \(reason)"
        case .badSchemaID(let reason): return reason
        }
    }
}

extension JSON {
    /// Parses JSON text in place, without copying it into an array first.
    static func decode(_ bytes: UnsafeRawBufferPointer, options: ReadOptions = ReadOptions()) throws(CodecError) -> Value {
        let typed = bytes.assumingMemoryBound(to: UInt8.self)
        var reader = JSONReader(typed, options: options)
        return try reader.readDocument()
    }
}
