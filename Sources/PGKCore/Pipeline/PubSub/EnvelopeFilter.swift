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
}
