/// The first stage of `pgk subscribe`: decides what a message is. Pure:
/// bytes in, a verdict out, so every rule is tested without Kafka.
struct EnvelopeFilter {
    /// A message fit for the output or the handler.
    struct Accepted {
        var schema: String
        /// The `data` member, compact, as kafkaesk consumers see it.
        var data: [UInt8]
    }

    /// Why a message was not accepted; the dead-letter topic gets `code`
    /// and `description` in its headers.
    enum Rejection: Error, Equatable, CustomStringConvertible {
        case tombstone
        case notJSON(String)
        case notEnvelope(String)
        case unknownSchema(String)
        case invalid(schema: String, violation: String)
        case schemaUnavailable(schema: String, reason: String)

        var code: String {
            switch self {
            case .tombstone: return "tombstone"
            case .notJSON: return "not-json"
            case .notEnvelope: return "not-envelope"
            case .unknownSchema: return "unknown-schema"
            case .invalid: return "invalid"
            case .schemaUnavailable: return "schema-unavailable"
            }
        }

        var description: String {
            switch self {
            case .tombstone: return "the message has no value (a tombstone)"
            case .notJSON(let reason): return "not JSON: \(reason)"
            case .notEnvelope(let reason): return "not a kafkaesk envelope: \(reason)"
            case .unknownSchema(let schema): return "schema \(schema) is not one this subscriber accepts"
            case .invalid(let schema, let violation): return "data does not match \(schema): \(violation)"
            case .schemaUnavailable(let schema, let reason): return "cannot load schema \(schema): \(reason)"
            }
        }
    }

    /// nil accepts every envelope without validating it; otherwise only
    /// these schemas, each validated against its file.
    let accepted: Set<SchemaID>?
    let catalog: SchemaCatalog?

    func classify(_ value: UnsafeRawBufferPointer?) -> Result<Accepted, Rejection> {
        guard let value else { return .failure(.tombstone) }
        if accepted == nil, let fast = Self.acceptCompact(value) { return .success(fast) }
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(value)
        } catch {
            switch error {
            case .notJSON(let reason): return .failure(.notJSON(reason))
            case .notEnvelope(let reason), .badSchemaID(let reason): return .failure(.notEnvelope(reason))
            }
        }
        guard let accepted else {
            return .success(Accepted(schema: envelope.schema, data: JSON.encodeBytes(envelope.data)))
        }
        guard let id = try? SchemaID.parse(envelope.schema), accepted.contains(id), let catalog else {
            return .failure(.unknownSchema(envelope.schema))
        }
        do {
            let schema = try catalog.schema(id)
            if let violation = schema.firstViolation(envelope.data) {
                return .failure(.invalid(schema: envelope.schema, violation: violation.description))
            }
        } catch {
            return .failure(.schemaUnavailable(schema: envelope.schema, reason: error.description))
        }
        return .success(Accepted(schema: envelope.schema, data: JSON.encodeBytes(envelope.data)))
    }

    /// The shape kafkaesk and `pgk publish` write, `{"schema":"N:V","data":{…}}`,
    /// checked without building values: the schema text must be free of
    /// escapes and `data` must scan as a JSON object that needs no rewriting.
    /// nil sends anything else down the full decoder, which also words the
    /// error.
    static func acceptCompact(_ value: UnsafeRawBufferPointer) -> Accepted? {
        let text = Envelope.trimmed(value)
        let head = #"{"schema":""#.utf8, joint = #"","data":"#.utf8
        guard text.count > head.count + joint.count + 2, text.starts(with: head),
              text[text.count - 1] == UInt8(ascii: "}") else { return nil }
        var index = head.count
        while index < text.count, text[index] != UInt8(ascii: "\""), text[index] != UInt8(ascii: "\\"),
              text[index] >= 0x20 { index += 1 }
        let schemaEnd = index
        guard index < text.count, text[index] == UInt8(ascii: "\""),
              text[index...].starts(with: joint) else { return nil }
        let data = UnsafeRawBufferPointer(rebasing: text[(index + joint.count)..<(text.count - 1)])
        guard let summary = try? JSONScanner.scan(data), summary.isObject, !summary.needsRewrite,
              let schema = String(validating: text[head.count..<schemaEnd], as: UTF8.self) else { return nil }
        var compact: [UInt8] = []
        compact.reserveCapacity(data.count)
        Envelope.appendCompact(data, to: &compact)
        return Accepted(schema: schema, data: compact)
    }
}
