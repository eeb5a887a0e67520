/// A consumed message as the decode stage reads it: a Kafka message still
/// in librdkafka's memory, a line of a file, or a test's fake.
protocol SinkMessage {
    var partition: Int32 { get }
    var offset: Int64 { get }
    /// Unix milliseconds.
    var timestamp: Int64? { get }
    var key: UnsafeRawBufferPointer? { get }
    /// nil is a tombstone.
    var value: UnsafeRawBufferPointer? { get }
    var hasHeaders: Bool { get }
    func visitHeaders(_ body: (_ name: String, _ value: UnsafeRawBufferPointer?) -> Void)
}

extension KafkaMessageView: SinkMessage {
    func visitHeaders(_ body: (String, UnsafeRawBufferPointer?) -> Void) {
        forEachHeader { name, value in body(String(cString: name), value) }
    }
}

/// The decode stage: message bytes → a staged row (or a failure with its
/// reason), written into the batch's arena. Pure apart from the Avro
/// registry lookups, whose outages it throws so the caller can retry.
struct RecordStager: Sendable {
    enum Outcome: Sendable, Equatable {
        case staged(StagedRow.Kind)
        /// `--on-error fail` or `--on-tombstone fail` hit this message.
        case fatal(String)
    }

    /// nil: JSON, checked by `JSONScanner` without building values.
    let valueDecoder: (any MessageDecoder)?
    let keyPacking: KeyPacking
    let keyDecoder: (any MessageDecoder)?
    let tombstones: TombstonePolicy
    let keyColumns: [String]
    let onError: ErrorPolicy
    let includeHeaders: Bool

    init(packing: Packing, keyPacking: KeyPacking, registry: SchemaRegistryClient?,
                tombstones: TombstonePolicy, keyColumns: [String], onError: ErrorPolicy,
                includeHeaders: Bool = true) throws {
        valueDecoder = packing == .json ? nil : try packing.decoder(registry: registry)
        self.keyPacking = keyPacking
        switch keyPacking {
        case .string: keyDecoder = nil
        case .json: keyDecoder = JSONMessageDecoder(options: JSON.ReadOptions(nonFiniteAsNull: true, preserveNumberText: true))
        case .msgpack: keyDecoder = MsgPackMessageDecoder()
        case .avro: keyDecoder = try Packing.avro.decoder(registry: registry)
        }
        self.tombstones = tombstones
        self.keyColumns = keyColumns
        self.onError = onError
        self.includeHeaders = includeHeaders
    }

    /// The stager for a sink: headers are rendered only when the map
    /// refers to them (rendering them is per-message work otherwise thrown away).
    init(settings: SinkSettings, registry: SchemaRegistryClient?, onError: ErrorPolicy) throws {
        try self.init(packing: settings.packing, keyPacking: settings.keyPacking, registry: registry,
                      tombstones: settings.effectiveTombstonePolicy, keyColumns: settings.conflictColumns,
                      onError: onError,
                      includeHeaders: StagingField.referenced(by: settings.map).contains(.headers))
    }

    func stage<M: SinkMessage>(_ message: M, topicIndex: Int32,
                                      into builder: inout BatchBuilder) throws(RegistryError) -> Outcome {
        let arenaStart = builder.arenaCount
        var row = StagedRow(kind: .value, topicIndex: topicIndex, partition: message.partition,
                            offset: message.offset, timestamp: message.timestamp)
        if let key = message.key { row.rawKey = builder.store(key) }
        if let value = message.value { row.rawValue = builder.store(value) }

        var keyObject = false
        if let key = message.key {
            switch try stageKey(key, rawSpan: row.rawKey, into: &builder) {
            case .success(let staged):
                row.key = staged.span
                keyObject = staged.isObject
            case .failure(let error):
                return reject(&row, "key: \(error)", arenaStart: arenaStart, builder: &builder)
            }
        }

        guard let value = message.value else {
            return stageTombstone(&row, hasKey: message.key != nil, keyObject: keyObject,
                                  arenaStart: arenaStart, builder: &builder)
        }
        if let valueDecoder {
            let decoded: Value
            do {
                decoded = try valueDecoder.decode(Array(value))
            } catch {
                switch error {
                case .invalid(let codec): return reject(&row, codec.description, arenaStart: arenaStart, builder: &builder)
                case .registry(let registry): throw registry
                }
            }
            let json = JSON.encodeBytes(decoded)
            let problem = json.withUnsafeBytes { bytes -> CodecError? in
                do throws(CodecError) { _ = try JSONScanner.scan(bytes); return nil } catch { return error }
            }
            if let problem { return reject(&row, "as JSON: \(problem)", arenaStart: arenaStart, builder: &builder) }
            builder.counters.nonFinite += Self.countNonFinite(decoded)
            if builder.avroSchemaID == nil, valueDecoder is AvroMessageDecoder {
                builder.avroSchemaID = try? ConfluentFrame.parse(value.assumingMemoryBound(to: UInt8.self)).schemaID
            }
            row.value = json.withUnsafeBytes { builder.store($0) }
        } else {
            let summary: JSONScanner.Summary
            do {
                summary = try JSONScanner.scan(value)
            } catch {
                return reject(&row, error.description, arenaStart: arenaStart, builder: &builder)
            }
            builder.counters.nonFinite += summary.nonFiniteCount
            row.value = summary.needsRewrite
                ? builder.store { JSONScanner.appendNormalized(value, to: &$0) }
                : row.rawValue
        }
        if includeHeaders && message.hasHeaders {
            row.headers = builder.store { Self.appendHeaders(of: message, to: &$0) }
        }
        builder.append(row, arenaStart: arenaStart)
        return .staged(.value)
    }

    private struct StagedKey {
        var span: ByteSpan
        var isObject: Bool
    }

    /// The key as text: as is for `string` (checked), else the decoded
    /// value: a string stands for itself, anything else as JSON.
    private func stageKey(_ key: UnsafeRawBufferPointer, rawSpan: ByteSpan,
                          into builder: inout BatchBuilder) throws(RegistryError) -> Result<StagedKey, CodecError> {
        guard let keyDecoder else {
            if let problem = TextCheck.problem(key) { return .failure(problem) }
            return .success(StagedKey(span: rawSpan, isObject: false))
        }
        let decoded: Value
        do {
            decoded = try keyDecoder.decode(Array(key))
        } catch {
            switch error {
            case .invalid(let codec): return .failure(codec)
            case .registry(let registry): throw registry
            }
        }
        let text: [UInt8]
        if case .string(let string) = decoded { text = Array(string.utf8) } else { text = JSON.encodeBytes(decoded) }
        if let problem = text.withUnsafeBytes({ TextCheck.problem($0) }) { return .failure(problem) }
        let span = text.withUnsafeBytes { builder.store($0) }
        if case .object = decoded { return .success(StagedKey(span: span, isObject: true)) }
        return .success(StagedKey(span: span, isObject: false))
    }

    private func stageTombstone(_ row: inout StagedRow, hasKey: Bool, keyObject: Bool, arenaStart: Int,
                                builder: inout BatchBuilder) -> Outcome {
        switch tombstones {
        case .skip:
            row.kind = .skipped
            builder.counters.tombstonesSkipped += 1
            builder.append(row, arenaStart: arenaStart)
            return .staged(.skipped)
        case .fail:
            return .fatal("a tombstone (null value) arrived and --on-tombstone is fail")
        case .delete:
            guard hasKey else {
                return reject(&row, "a tombstone without a key cannot delete anything", arenaStart: arenaStart, builder: &builder)
            }
            var isObject = keyObject
            if keyPacking == .string, let first = builder.firstNonSpace(row.key), first == UInt8(ascii: "{") {
                isObject = builder.withArena(row.key) { bytes in (try? JSONScanner.scan(bytes))?.isObject ?? false }
            }
            if keyColumns.count > 1 && !isObject {
                return reject(&row, "a tombstone key must be a JSON object with the key columns "
                    + keyColumns.joined(separator: ", "), arenaStart: arenaStart, builder: &builder)
            }
            row.kind = .tombstone
            row.keyIsObject = isObject
            builder.append(row, arenaStart: arenaStart)
            return .staged(.tombstone)
        }
    }

    private func reject(_ row: inout StagedRow, _ reason: String, arenaStart: Int, builder: inout BatchBuilder) -> Outcome {
        switch onError {
        case .deadLetter:
            row.kind = .failure
            row.value = .null
            row.reason = builder.reason(reason)
            builder.append(row, arenaStart: arenaStart)
            return .staged(.failure)
        case .skip:
            row.kind = .skipped
            builder.counters.errorsSkipped += 1
            builder.append(row, arenaStart: arenaStart)
            return .staged(.skipped)
        case .fail:
            return .fatal(reason)
        }
    }

    /// `{"name": "value", …}`: UTF-8 values as strings, a null header as
    /// null, anything else (binary) base64-encoded. A repeated name keeps
    /// its last value, as jsonb does.
    static func appendHeaders<M: SinkMessage>(of message: M, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        message.visitHeaders { name, value in
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.appendString(name.replacingNUL(), to: &out)
            out.append(UInt8(ascii: ":"))
            guard let value else { out.append(contentsOf: "null".utf8); return }
            if TextCheck.problem(value) == nil {
                JSONWriter.appendString(String(decoding: value, as: UTF8.self), to: &out)
            } else {
                out.append(0x22)
                Base64.encode(Array(value), into: &out)
                out.append(0x22)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    static func countNonFinite(_ value: Value) -> Int {
        switch value {
        case .double(let d): return d.isFinite ? 0 : 1
        case .array(let items): return items.reduce(0) { $0 + countNonFinite($1) }
        case .object(let object): return object.values.reduce(0) { $0 + countNonFinite($1) }
        default: return 0
        }
    }
}

extension String {
    /// jsonb refuses \u0000 even in object keys; header names may have one.
    fileprivate func replacingNUL() -> String {
        utf8.contains(0) ? String(decoding: utf8.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self) : self
    }
}

extension BatchBuilder {
    func firstNonSpace(_ span: ByteSpan) -> UInt8? {
        guard !span.isNull else { return nil }
        var index = Int(span.start)
        let end = Int(span.start + span.count)
        while index < end {
            let byte = arena[index]
            if byte != 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D { return byte }
            index += 1
        }
        return nil
    }

    func withArena<T>(_ span: ByteSpan, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        arena.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[Int(span.start)..<Int(span.start + max(0, span.count))]))
        }
    }
}
