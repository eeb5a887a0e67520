/// How message bytes are packed, as named on the command line (`--packing`).
public enum Packing: String, CaseIterable, Sendable {
    case json, msgpack, avro, raw, string

    public var needsRegistry: Bool { self == .avro }

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
public enum MessageCodecError: Error, CustomStringConvertible, Sendable {
    /// The message (or value) itself is bad: dead-letter or skip it;
    /// retrying can never help.
    case invalid(CodecError)
    /// The schema registry could not be used: retry with backoff or stop;
    /// never dead-letter, the message may be fine.
    case registry(RegistryError)

    public var description: String {
        switch self {
        case .invalid(let error): return error.description
        case .registry(let error): return error.description
        }
    }
}

public protocol MessageDecoder: Sendable {
    func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value
}

public protocol MessageEncoder: Sendable {
    func encode(_ value: Value) throws(MessageCodecError) -> [UInt8]
}

public extension Packing {
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

public struct JSONMessageDecoder: MessageDecoder {
    public var options: JSON.ReadOptions
    public init(options: JSON.ReadOptions = JSON.ReadOptions()) { self.options = options }
    public func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
        do { return try JSON.decode(bytes, options: options) } catch { throw .invalid(error) }
    }
}

public struct MsgPackMessageDecoder: MessageDecoder {
    public init() {}
    public func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
        do { return try MsgPack.decode(bytes) } catch { throw .invalid(error) }
    }
}

/// Bytes as they are; never fails.
public struct RawMessageDecoder: MessageDecoder {
    public init() {}
    public func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value { .bytes(bytes) }
}

/// UTF-8 text, validated.
public struct StringMessageDecoder: MessageDecoder {
    public init() {}
    public func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
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
public struct AvroMessageDecoder: MessageDecoder {
    public let registry: SchemaRegistryClient
    public init(registry: SchemaRegistryClient) { self.registry = registry }

    public func decode(_ bytes: [UInt8]) throws(MessageCodecError) -> Value {
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

public extension Packing {
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

public struct JSONMessageEncoder: MessageEncoder {
    public init() {}
    public func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] { JSON.encodeBytes(value) }
}

public struct MsgPackMessageEncoder: MessageEncoder {
    public init() {}
    public func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] { MsgPack.encode(value) }
}

/// `.bytes` as they are, `.string` as UTF-8; anything else is not raw data.
public struct RawMessageEncoder: MessageEncoder {
    public init() {}
    public func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] {
        switch value {
        case .bytes(let bytes): return bytes
        case .string(let text): return Array(text.utf8)
        default: throw .invalid(CodecError("raw", "expected bytes or a string, got \(AvroBinaryWriter.describe(value))"))
        }
    }
}

/// `.string` as its UTF-8; other values as their JSON text, so a number or
/// an object still becomes readable text.
public struct StringMessageEncoder: MessageEncoder {
    public init() {}
    public func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] {
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
public struct AvroMessageEncoder: MessageEncoder {
    public enum Source: Sendable {
        case register(subject: String, schemaJSON: String)
        case id(Int32)
    }

    public let registry: SchemaRegistryClient
    public let source: Source
    public let options: AvroEncodeOptions

    public init(registry: SchemaRegistryClient, source: Source, options: AvroEncodeOptions = AvroEncodeOptions()) {
        self.registry = registry
        self.source = source
        self.options = options
    }

    public func encode(_ value: Value) throws(MessageCodecError) -> [UInt8] {
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
