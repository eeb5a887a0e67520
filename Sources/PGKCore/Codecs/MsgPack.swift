import CMsgPack

/// MessagePack ⇄ `Value` through msgpack-c.
///
/// Mapping, decode side:
/// - positive integers above Int64.max become `.decimal` (exact text);
/// - float32 and float64 become `.double`; bin becomes `.bytes`;
/// - str must be valid UTF-8, else CodecError(format: "utf-8");
/// - map keys that are not strings are rendered as their JSON text
///   (`1`, `true`, `null`, `[1,2]`); bin keys as their base64 text;
/// - the timestamp extension (type -1) becomes an RFC 3339 UTC string;
///   any other extension becomes `{"ext_type": n, "data": .bytes}`
///   (JSON shows data as base64), which `encode` turns back into an ext.
/// - msgpack-c nests at most 32 containers; deeper input is rejected.
enum MsgPack {
    static func decode(_ bytes: [UInt8]) throws(CodecError) -> Value {
        guard !bytes.isEmpty else { throw CodecError("msgpack", "empty input", offset: 0) }
        try MsgPackLengths.check(bytes)
        var unpacked = msgpack_unpacked()
        msgpack_unpacked_init(&unpacked)
        defer { msgpack_unpacked_destroy(&unpacked) }
        var offset = 0
        // Strings and bins point into `bytes`, so conversion happens while
        // the buffer is pinned.
        return try bytes.withUnsafeBufferPointer { (buffer) throws(CodecError) -> Value in
            let rc = buffer.withMemoryRebound(to: CChar.self) { chars in
                msgpack_unpack_next(&unpacked, chars.baseAddress, chars.count, &offset)
            }
            switch rc {
            case MSGPACK_UNPACK_SUCCESS, MSGPACK_UNPACK_EXTRA_BYTES:
                guard offset == buffer.count else {
                    throw CodecError("msgpack", "\(buffer.count - offset) unexpected bytes after the value", offset: offset)
                }
                return try MsgPackReader.value(unpacked.data, base: buffer.baseAddress!)
            case MSGPACK_UNPACK_CONTINUE:
                throw CodecError("msgpack", "truncated input (\(buffer.count) bytes)", offset: buffer.count)
            case MSGPACK_UNPACK_NOMEM_ERROR:
                throw CodecError("msgpack", "nested deeper than 32 levels, or a length too large to allocate for the remaining input", offset: offset)
            default:
                throw CodecError("msgpack", "invalid type byte", offset: offset)
            }
        }
    }

    static func encode(_ value: Value) -> [UInt8] {
        var buffer = msgpack_sbuffer()
        msgpack_sbuffer_init(&buffer)
        defer { msgpack_sbuffer_destroy(&buffer) }
        withUnsafeMutablePointer(to: &buffer) { sink in
            var packer = msgpack_packer()
            msgpack_packer_init(&packer, sink, msgpack_sbuffer_write)
            MsgPackWriter.write(value, to: &packer)
        }
        guard let data = buffer.data, buffer.size > 0 else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: buffer.size) {
            Array(UnsafeBufferPointer(start: $0, count: buffer.size))
        }
    }
}

/// msgpack-c allocates an array's or map's element table from the length
/// in its header before reading any element, so a 5-byte header can ask
/// for gigabytes. Every element takes at least one byte, so a container
/// that declares more elements than bytes remain is truncated input,
/// refused before msgpack-c sees it.
enum MsgPackLengths {
    static func check(_ bytes: [UInt8]) throws(CodecError) {
        var index = 0
        var pending = 1 // values still to come
        func length(_ width: Int) -> Int? {
            guard index + 1 + width <= bytes.count else { return nil }
            var n = 0
            for i in 1...width { n = n << 8 | Int(bytes[index + i]) }
            return n
        }
        while pending > 0, index < bytes.count {
            pending -= 1
            let type = bytes[index]
            var header = 1, payload = 0, elements = 0
            switch type {
            case 0x00...0x7F, 0xC0, 0xC2, 0xC3, 0xE0...0xFF: break
            case 0x80...0x8F: elements = 2 * Int(type & 0x0F)
            case 0x90...0x9F: elements = Int(type & 0x0F)
            case 0xA0...0xBF: payload = Int(type & 0x1F)
            case 0xC4, 0xD9: header = 2; payload = length(1) ?? 0
            case 0xC5, 0xDA: header = 3; payload = length(2) ?? 0
            case 0xC6, 0xDB: header = 5; payload = length(4) ?? 0
            case 0xC7: header = 3; payload = length(1) ?? 0
            case 0xC8: header = 4; payload = length(2) ?? 0
            case 0xC9: header = 6; payload = length(4) ?? 0
            case 0xCA, 0xCE, 0xD2: payload = 4
            case 0xCB, 0xCF, 0xD3: payload = 8
            case 0xCC, 0xD0: payload = 1
            case 0xCD, 0xD1: payload = 2
            case 0xD4...0xD8: payload = 1 + (1 << Int(type - 0xD4))
            case 0xDC: header = 3; elements = length(2) ?? 0
            case 0xDD: header = 5; elements = length(4) ?? 0
            case 0xDE: header = 3; elements = 2 * (length(2) ?? 0)
            case 0xDF: header = 5; elements = 2 * (length(4) ?? 0)
            default: return // 0xC1: msgpack-c reports the invalid byte
            }
            let start = index
            index += header + payload
            guard elements <= bytes.count - min(index, bytes.count) else {
                throw CodecError("msgpack", "truncated input (\(bytes.count) bytes): the container at offset \(start) declares \(elements) values",
                                 offset: bytes.count)
            }
            pending += elements
        }
    }
}

private enum MsgPackReader {
    static func value(_ object: msgpack_object, base: UnsafePointer<UInt8>) throws(CodecError) -> Value {
        switch object.type {
        case MSGPACK_OBJECT_NIL: return .null
        case MSGPACK_OBJECT_BOOLEAN: return .bool(object.via.boolean)
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            let u = object.via.u64
            return u <= UInt64(Int64.max) ? .int(Int64(u)) : .decimal(String(u))
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return .int(object.via.i64)
        case MSGPACK_OBJECT_FLOAT32, MSGPACK_OBJECT_FLOAT64: return .double(object.via.f64)
        case MSGPACK_OBJECT_STR:
            let str = object.via.str
            return .string(try string(str.ptr, Int(str.size), base: base))
        case MSGPACK_OBJECT_BIN:
            let bin = object.via.bin
            return .bytes(bytes(bin.ptr, Int(bin.size)))
        case MSGPACK_OBJECT_ARRAY:
            let array = object.via.array
            var items: [Value] = []
            items.reserveCapacity(Int(array.size))
            for i in 0..<Int(array.size) { items.append(try value(array.ptr[i], base: base)) }
            return .array(items)
        case MSGPACK_OBJECT_MAP:
            return .object(try map(object.via.map, base: base))
        case MSGPACK_OBJECT_EXT:
            return ext(object)
        default:
            throw CodecError("msgpack", "unknown object type \(object.type.rawValue)")
        }
    }

    private static func map(_ map: msgpack_object_map, base: UnsafePointer<UInt8>) throws(CodecError) -> ValueObject {
        var object = ValueObject()
        let count = Int(map.size)
        // Large maps are checked for duplicate keys with a set instead of
        // ValueObject's linear lookup, which would be quadratic.
        var seen: Set<String>? = count > 32 ? Set(minimumCapacity: count) : nil
        for i in 0..<count {
            let pair = map.ptr[i]
            let key = try keyText(pair.key, base: base)
            let item = try value(pair.val, base: base)
            if seen == nil {
                object[key] = item
            } else if seen!.insert(key).inserted {
                object.appendUnchecked(key, item)
            } else {
                object[key] = item
            }
        }
        return object
    }

    private static func keyText(_ key: msgpack_object, base: UnsafePointer<UInt8>) throws(CodecError) -> String {
        switch key.type {
        case MSGPACK_OBJECT_STR: return try string(key.via.str.ptr, Int(key.via.str.size), base: base)
        case MSGPACK_OBJECT_BIN: return Base64.encode(bytes(key.via.bin.ptr, Int(key.via.bin.size)))
        default: return try value(key, base: base).jsonText
        }
    }

    private static func string(_ pointer: UnsafePointer<CChar>?, _ count: Int, base: UnsafePointer<UInt8>) throws(CodecError) -> String {
        guard count > 0, let pointer else { return "" }
        let buffer = UnsafeRawPointer(pointer).withMemoryRebound(to: UInt8.self, capacity: count) {
            UnsafeBufferPointer(start: $0, count: count)
        }
        guard let text = String(validating: buffer, as: UTF8.self) else {
            // The pointer lies inside the input, so its distance is the offset.
            let offset = UnsafeRawPointer(pointer) - UnsafeRawPointer(base)
            throw CodecError("utf-8", "invalid UTF-8 in msgpack string", offset: offset)
        }
        return text
    }

    private static func bytes(_ pointer: UnsafePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard count > 0, let pointer else { return [] }
        return UnsafeRawPointer(pointer).withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
    }

    private static func ext(_ object: msgpack_object) -> Value {
        var copy = object
        var timestamp = msgpack_timestamp()
        if object.via.ext.type == -1, msgpack_object_to_timestamp(&copy, &timestamp) {
            let nanos = Int64(timestamp.tv_nsec)
            return .string(CivilTime.formatTimestamp(
                seconds: timestamp.tv_sec, fraction: nanos % 1_000_000 == 0 ? nanos / 1_000_000 : nanos,
                fractionDigits: nanos % 1_000_000 == 0 ? 3 : 9))
        }
        let ext = object.via.ext
        return .object(ValueObject([
            ("ext_type", .int(Int64(ext.type))),
            ("data", .bytes(bytes(ext.ptr, Int(ext.size)))),
        ]))
    }
}

private enum MsgPackWriter {
    static func write(_ value: Value, to packer: inout msgpack_packer) {
        switch value {
        case .null: msgpack_pack_nil(&packer)
        case .bool(let b): if b { msgpack_pack_true(&packer) } else { msgpack_pack_false(&packer) }
        case .int(let i): msgpack_pack_int64(&packer, i)
        case .double(let d): msgpack_pack_double(&packer, d)
        case .decimal(let text):
            // msgpack has no decimal: integers stay exact, the rest go float64.
            if let i = Int64(text) { msgpack_pack_int64(&packer, i) }
            else if let u = UInt64(text) { msgpack_pack_uint64(&packer, u) }
            else { msgpack_pack_double(&packer, Double(text) ?? .nan) }
        case .string(var s):
            s.withUTF8 { utf8 in
                msgpack_pack_str(&packer, utf8.count)
                msgpack_pack_str_body(&packer, utf8.baseAddress, utf8.count)
            }
        case .bytes(let bytes):
            bytes.withUnsafeBufferPointer { buffer in
                msgpack_pack_bin(&packer, buffer.count)
                msgpack_pack_bin_body(&packer, buffer.baseAddress, buffer.count)
            }
        case .array(let items):
            msgpack_pack_array(&packer, items.count)
            for item in items { write(item, to: &packer) }
        case .object(let object):
            if object.count == 2, case .int(let type)? = object["ext_type"], let ext = Int8(exactly: type),
               case .bytes(let data)? = object["data"] {
                data.withUnsafeBufferPointer { buffer in
                    msgpack_pack_ext(&packer, buffer.count, ext)
                    msgpack_pack_ext_body(&packer, buffer.baseAddress, buffer.count)
                }
                return
            }
            msgpack_pack_map(&packer, object.count)
            for (key, item) in object {
                write(.string(key), to: &packer)
                write(item, to: &packer)
            }
        }
    }
}
