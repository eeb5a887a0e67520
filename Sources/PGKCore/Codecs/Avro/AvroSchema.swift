import CAvro
import Synchronization

/// One parsed Avro schema, shared read-only across threads and cached by
/// the registry client, so parsing happens once per schema.
///
/// avro-c parses and validates the schema text (its error message is the
/// one users see) and keeps the schema and its generic value class alive.
/// Data is read and written by pgk's own `AvroBinaryReader`/`Writer`
/// driven by `AvroTree`, because avro-c 1.11 drops field defaults and
/// logical types, and its reader cannot be bounded against hostile input
/// (an array of nulls with a block count of 2^62 spins; recursion depth is
/// unchecked). `referenceDecode` keeps avro-c's reader available as an
/// independent oracle for tests.
final class AvroSchema: Sendable {
    /// The schema text as given.
    let text: String
    /// The text re-encoded as compact JSON: equal for texts that differ
    /// only in whitespace; what the registries compare.
    let normalizedText: String
    let tree: AvroTree
    private let native: AvroNativeSchema

    /// Full name of a named root type ("com.acme.Order"), else the type name.
    var name: String { tree.nodes[tree.root].name }

    init(json text: String) throws(CodecError) {
        let document: Value
        do {
            document = try JSON.decode(text)
        } catch {
            throw CodecError("avro schema", "schema text is not JSON: \(error.description)")
        }
        native = try AvroNativeSchema(text)
        self.text = text
        normalizedText = document.jsonText
        tree = try AvroTreeBuilder.build(document)
    }

    /// Decodes exactly one datum; bytes left over are an error.
    func decode(_ bytes: [UInt8]) throws(CodecError) -> Value {
        try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) -> Value in try decode(buffer) }
    }

    /// Decodes `buffer`, e.g. the payload behind a Confluent frame header;
    /// offsets in errors are relative to its start.
    func decode(_ buffer: UnsafeBufferPointer<UInt8>) throws(CodecError) -> Value {
        let root = tree.root
        return try tree.nodes.withUnsafeBufferPointer { (nodes) throws(CodecError) -> Value in
            var reader = AvroBinaryReader(bytes: buffer, nodes: nodes)
            do throws(AvroFailure) { return try reader.readDocument(root: root) } catch { throw error.codecError }
        }
    }

    func encode(_ value: Value, options: AvroEncodeOptions = AvroEncodeOptions()) throws(CodecError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(value, appendingTo: &out, options: options)
        return out
    }

    /// Appends the encoding to `out` (after a frame header, say); on error
    /// `out` is left as it was.
    func encode(_ value: Value, appendingTo out: inout [UInt8], options: AvroEncodeOptions = AvroEncodeOptions()) throws(CodecError) {
        let root = tree.root
        let start = out.count
        try tree.nodes.withUnsafeBufferPointer { (nodes) throws(CodecError) in
            var writer = AvroBinaryWriter(nodes: nodes, options: options, out: out)
            out = []
            defer { out = writer.out }
            do throws(AvroFailure) { try writer.write(value, root) } catch {
                writer.out.removeSubrange(start...)
                throw error.codecError
            }
        }
    }

    /// avro-c's own generic reader, without logical types: an oracle for
    /// differential tests, not a production path (see the type's comment).
    func referenceDecode(_ bytes: [UInt8]) throws(CodecError) -> Value {
        try native.read(bytes)
    }
}

/// avro-c keeps its last error message in one global buffer, and its
/// reference counts are not documented as thread-safe: every avro-c call
/// that can fail runs under this lock.
enum AvroC {
    static let lock = Mutex<Void>(())

    static var lastError: String {
        guard let message = avro_strerror() else { return "unknown avro-c error" }
        let text = String(cString: message)
        return text.isEmpty ? "unknown avro-c error" : text
    }
}

/// Owns avro-c's schema and generic value class; both are released in deinit.
final class AvroNativeSchema: @unchecked Sendable {
    private let schema: avro_schema_t
    private let iface: UnsafeMutablePointer<avro_value_iface_t>

    init(_ text: String) throws(CodecError) {
        var utf8 = Array(text.utf8)
        utf8.append(0)
        let result: Result<(avro_schema_t, UnsafeMutablePointer<avro_value_iface_t>), CodecError> = AvroC.lock.withLock { _ in
            var schema: avro_schema_t?
            let rc = utf8.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { avro_schema_from_json_length($0.baseAddress, buffer.count - 1, &schema) }
            }
            guard rc == 0, let schema else {
                return .failure(CodecError("avro schema", AvroC.lastError.trimmingTrailingNewlines))
            }
            guard let iface = avro_generic_class_from_schema(schema) else {
                let message = AvroC.lastError
                avro_schema_decref(schema)
                return .failure(CodecError("avro schema", message))
            }
            return .success((schema, iface))
        }
        switch result {
        case .success(let (schema, iface)):
            self.schema = schema
            self.iface = iface
        case .failure(let error):
            throw error
        }
    }

    deinit {
        AvroC.lock.withLock { _ in
            iface.pointee.decref_iface?(iface)
            avro_schema_decref(schema)
        }
    }

    func read(_ bytes: [UInt8]) throws(CodecError) -> Value {
        let result: Result<Value, CodecError> = AvroC.lock.withLock { _ in
            var value = avro_value_t()
            guard avro_generic_value_new(iface, &value) == 0 else {
                return .failure(CodecError("avro", "avro-c: \(AvroC.lastError)"))
            }
            defer { avro_value_decref(&value) }
            return bytes.withUnsafeBufferPointer { buffer in
                let reader = buffer.withMemoryRebound(to: CChar.self) { avro_reader_memory($0.baseAddress, Int64($0.count)) }
                defer { avro_reader_free(reader) }
                guard avro_value_read(reader, &value) == 0 else {
                    return .failure(CodecError("avro", "avro-c: \(AvroC.lastError)"))
                }
                var size = 0
                guard avro_value_sizeof(&value, &size) == 0, size == buffer.count else {
                    return .failure(CodecError("avro", "avro-c: \(buffer.count - size) unexpected bytes after the value", offset: size))
                }
                return AvroNativeValue.convert(value)
            }
        }
        return try result.get()
    }
}

/// Reads avro-c generic values through their interface's function
/// pointers (the avro_value_* accessors are C macros Swift cannot call).
private enum AvroNativeValue {
    static func convert(_ value: avro_value_t) -> Result<Value, CodecError> {
        let iface = value.iface!
        let me = value.`self`
        let f = iface.pointee
        switch f.get_type(iface, me) {
        case AVRO_NULL: return .success(.null)
        case AVRO_BOOLEAN:
            var b: Int32 = 0
            _ = f.get_boolean(iface, me, &b)
            return .success(.bool(b != 0))
        case AVRO_INT32:
            var i: Int32 = 0
            _ = f.get_int(iface, me, &i)
            return .success(.int(Int64(i)))
        case AVRO_INT64:
            var i: Int64 = 0
            _ = f.get_long(iface, me, &i)
            return .success(.int(i))
        case AVRO_FLOAT:
            var x: Float = 0
            _ = f.get_float(iface, me, &x)
            return .success(.double(Double(x)))
        case AVRO_DOUBLE:
            var x: Double = 0
            _ = f.get_double(iface, me, &x)
            return .success(.double(x))
        case AVRO_STRING:
            var pointer: UnsafePointer<CChar>?
            var size = 0
            _ = f.get_string(iface, me, &pointer, &size)
            // avro-c counts the terminating NUL.
            let bytes = raw(pointer, max(0, size - 1))
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(CodecError("avro", "avro-c: invalid UTF-8 in string"))
            }
            return .success(.string(text))
        case AVRO_BYTES, AVRO_FIXED:
            var pointer: UnsafeRawPointer?
            var size = 0
            if f.get_type(iface, me) == AVRO_BYTES { _ = f.get_bytes(iface, me, &pointer, &size) } else { _ = f.get_fixed(iface, me, &pointer, &size) }
            return .success(.bytes(raw(pointer?.assumingMemoryBound(to: CChar.self), size)))
        case AVRO_ENUM:
            var index: Int32 = 0
            _ = f.get_enum(iface, me, &index)
            let schema = f.get_schema(iface, me)
            guard index >= 0, index < avro_schema_enum_number_of_symbols(schema), let symbol = avro_schema_enum_get(schema, index) else {
                return .failure(CodecError("avro", "avro-c: enum index \(index) out of range"))
            }
            return .success(.string(String(cString: symbol)))
        case AVRO_UNION:
            var branch = avro_value_t()
            guard f.get_current_branch(iface, me, &branch) == 0 else { return .failure(CodecError("avro", "avro-c: no union branch")) }
            return convert(branch)
        case AVRO_ARRAY, AVRO_MAP, AVRO_RECORD:
            let kind = f.get_type(iface, me)
            var count = 0
            _ = f.get_size(iface, me, &count)
            var items: [Value] = []
            var object = ValueObject()
            for i in 0..<count {
                var child = avro_value_t()
                var name: UnsafePointer<CChar>?
                _ = f.get_by_index(iface, me, i, &child, &name)
                switch convert(child) {
                case .success(let item):
                    if kind == AVRO_ARRAY { items.append(item) } else { object[String(cString: name!)] = item }
                case .failure(let error):
                    return .failure(error)
                }
            }
            return .success(kind == AVRO_ARRAY ? .array(items) : .object(object))
        default:
            return .failure(CodecError("avro", "avro-c: unsupported value type"))
        }
    }

    private static func raw(_ pointer: UnsafePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }
}

private extension String {
    var trimmingTrailingNewlines: String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
