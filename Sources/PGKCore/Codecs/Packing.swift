/// How message bytes are packed, as named on the command line (`--packing`).
enum Packing: String, CaseIterable, Sendable {
    case json, msgpack, avro, raw, string

    var needsRegistry: Bool { self == .avro }
    /// Not text: shown as JSON when printed (`topics tail --format`).
    var isBinary: Bool { self == .msgpack || self == .avro }

    /// What change events (outbox, WAL) can be encoded as; the CLI offers only these.
    static let eventPackings: [Packing] = [.json, .msgpack, .avro]

    /// The event encoders' precondition. The CLI has checked it already
    /// (option choices, `Invocation.registryClient`); this guards other callers.
    func checkEventEncoding(registry: SchemaRegistryClient?) throws(UsageError) {
        guard Packing.eventPackings.contains(self) else {
            throw UsageError("--packing must be json, msgpack or avro for change events")
        }
        if needsRegistry && registry == nil { throw UsageError("--packing avro needs --registry URL (or PGK_REGISTRY)") }
    }
}

/// Why a message could not be decoded or encoded. The two cases call for
/// opposite handling, so a pipeline must switch on them:
enum MessageCodecError: Error, CustomStringConvertible, Sendable {
    /// The message (or value) itself is bad: dead-letter or skip it;
    /// retrying can never help.
    case invalid(CodecError)
    /// The schema registry could not be used: retry with backoff or stop;
    /// never dead-letter, the message may be fine.
    case registry(RegistryError)

    var description: String {
        switch self {
        case .invalid(let error): return error.description
        case .registry(let error): return error.description
        }
    }
}

protocol MessageDecoder: Sendable {
    func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value
}

protocol MessageEncoder: Sendable {
    func encode(_ value: Value) throws(MessageCodecError) -> [UInt8]
}

extension Packing {
    /// `registry` is required for avro only.
    func decoder(registry: SchemaRegistryClient? = nil, jsonOptions: JSON.ReadOptions = JSON.ReadOptions()) throws(UsageError) -> any MessageDecoder {
        switch self {
        case .json: return JSONMessageDecoder(options: jsonOptions)
        case .msgpack: return MsgPackMessageDecoder()
        case .raw: return RawMessageDecoder()
        case .string: return StringMessageDecoder()
        case .avro:
            guard let registry else { throw UsageError("--packing avro needs a schema registry URL") }
            return AvroMessageDecoder(registry: registry)
        }
    }
}

struct JSONMessageDecoder: MessageDecoder {
    var options: JSON.ReadOptions
    init(options: JSON.ReadOptions = JSON.ReadOptions()) { self.options = options }
    func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
        do { return try JSON.decode(bytes, options: options) } catch { throw .invalid(error) }
    }
}

struct MsgPackMessageDecoder: MessageDecoder {
    init() {}
    func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
        do { return try MsgPack.decode(bytes) } catch { throw .invalid(error) }
    }
}

/// Bytes as they are; never fails.
struct RawMessageDecoder: MessageDecoder {
    init() {}
    func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value { .bytes(bytes) }
}

/// UTF-8 text, validated.
struct StringMessageDecoder: MessageDecoder {
    init() {}
    func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let offset = Self.firstInvalidOffset(bytes)
            throw .invalid(CodecError("utf-8", "message is not valid UTF-8", offset: offset))
        }
        return .string(text)
    }

    static func firstInvalidOffset(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}

/// Confluent-framed Avro: the frame's schema id is looked up (and cached)
/// through the registry. An id the registry does not know makes the
/// message invalid; an unreachable registry is a registry error.
struct AvroMessageDecoder: MessageDecoder {
    let registry: SchemaRegistryClient
    init(registry: SchemaRegistryClient) { self.registry = registry }

    func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
        try bytes.withUnsafeBufferPointer { (buffer) throws(MessageCodecError) -> Value in
            let header: (schemaID: Int32, payloadOffset: Int)
            do throws(CodecError) { header = try ConfluentFrame.parse(buffer) } catch { throw .invalid(error) }
            let schema: AvroSchema
            do throws(RegistryError) {
                schema = try registry.schema(id: header.schemaID)
            } catch {
                if error.isNotFound {
                    throw .invalid(CodecError("confluent", "unknown schema id \(header.schemaID) in \(registry.endpoint)", offset: 1))
                }
                if error.kind == .invalidSchema { throw .invalid(CodecError("confluent", error.message, offset: 1)) }
                throw .registry(error)
            }
            do throws(CodecError) {
                return try schema.decode(UnsafeBufferPointer(rebasing: buffer[header.payloadOffset...]))
            } catch {
                var shifted = error
                shifted.offset = error.offset.map { $0 + header.payloadOffset }
                throw .invalid(shifted)
            }
        }
    }
}

// MARK: encoders

extension Packing {
    /// For avro, either `schemaID` (an existing registered schema) or
    /// `subject` + `schemaJSON` (registered on first use) is required.
    func encoder(registry: SchemaRegistryClient? = nil, subject: String? = nil, schemaJSON: String? = nil,
                 schemaID: Int32? = nil, avroOptions: AvroEncodeOptions = AvroEncodeOptions()) throws(UsageError) -> any MessageEncoder {
        switch self {
        case .json: return JSONMessageEncoder()
        case .msgpack: return MsgPackMessageEncoder()
        case .raw: return RawMessageEncoder()
        case .string: return StringMessageEncoder()
        case .avro:
            guard let registry else { throw UsageError("--packing avro needs a schema registry URL") }
            if let schemaID { return AvroMessageEncoder(registry: registry, source: .id(schemaID), options: avroOptions) }
            guard let subject, let schemaJSON else {
                throw UsageError("--packing avro needs a schema (and subject) or a schema id to produce with")
            }
            return AvroMessageEncoder(registry: registry, source: .register(subject: subject, schemaJSON: schemaJSON), options: avroOptions)
        }
    }
}

struct JSONMessageEncoder: MessageEncoder {
    init() {}
    func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] { JSON.encodeBytes(value) }
}

struct MsgPackMessageEncoder: MessageEncoder {
    init() {}
    func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] { MsgPack.encode(value) }
}

/// `.bytes` as they are, `.string` as UTF-8; anything else is not raw data.
struct RawMessageEncoder: MessageEncoder {
    init() {}
    func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] {
        switch value {
        case .bytes(let bytes): return bytes
        case .string(let text): return Array(text.utf8)
        default: throw .invalid(CodecError("raw", "expected bytes or a string, got \(AvroBinaryWriter.describe(value))"))
        }
    }
}

/// `.string` as its UTF-8; other values as their JSON text, so a number or
/// an object still becomes readable text.
struct StringMessageEncoder: MessageEncoder {
    init() {}
    func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] {
        switch value {
        case .string(let text): return Array(text.utf8)
        case .bytes(let bytes):
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw .invalid(CodecError("utf-8", "bytes are not valid UTF-8 text"))
            }
            return bytes
        default: return JSON.encodeBytes(value)
        }
    }
}

/// Avro in the Confluent frame. With `.register` the schema is registered
/// under the subject on first use (the client caches it); with `.id` the
/// schema is fetched by id.
struct AvroMessageEncoder: MessageEncoder {
    enum Source: Sendable {
        case register(subject: String, schemaJSON: String)
        case id(Int32)
    }

    let registry: SchemaRegistryClient
    let source: Source
    let options: AvroEncodeOptions

    init(registry: SchemaRegistryClient, source: Source, options: AvroEncodeOptions = AvroEncodeOptions()) {
        self.registry = registry
        self.source = source
        self.options = options
    }

    func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] {
        let id: Int32
        let schema: AvroSchema
        do {
            switch source {
            case .register(let subject, let text):
                id = try registry.register(subject: subject, schemaJSON: text)
                schema = try registry.schema(id: id)
            case .id(let known):
                id = known
                schema = try registry.schema(id: known)
            }
        } catch {
            throw .registry(error)
        }
        var out = ConfluentFrame.header(schemaID: id)
        do { try schema.encode(value, appendingTo: &out, options: options) } catch { throw .invalid(error) }
        return out
    }
}
