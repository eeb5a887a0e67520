import Synchronization

/// The embedded registry's state and REST semantics, kept apart from the
/// socket loop so both stay small. Behaves like Confluent's registry for
/// the subset pgk and Confluent's clients use: ids are global and only
/// grow; the same schema (compared as compact JSON) always gets the same
/// id, under any subject; registering it again under a subject is a no-op.
final class RegistryStore: Sendable {
    private struct Stored {
        var text: String
        var normalized: String
    }

    private struct State {
        var schemas: [Int32: Stored] = [:]
        var idByNormalized: [String: Int32] = [:]
        /// Subject → schema ids in version order (version = index + 1).
        var versions: [String: [Int32]] = [:]
        var subjectOrder: [String] = []
        var nextID: Int32 = 1
    }

    private let state = Mutex(State())

    struct Reply {
        var status: Int
        var body: Value
    }

    private static func error(_ status: Int, _ code: Int, _ message: String) -> Reply {
        Reply(status: status, body: ["error_code": .int(Int64(code)), "message": .string(message)])
    }

    var subjects: [String] { state.withLock { $0.subjectOrder } }

    /// Registers (or finds) a schema under a subject and returns its id.
    func register(subject: String, schemaJSON: String) throws(CodecError) -> Int32 {
        let schema = try AvroSchema(json: schemaJSON)
        return state.withLock { state in
            let id: Int32
            if let known = state.idByNormalized[schema.normalizedText] {
                id = known
            } else {
                id = state.nextID
                state.nextID += 1
                state.schemas[id] = Stored(text: schemaJSON, normalized: schema.normalizedText)
                state.idByNormalized[schema.normalizedText] = id
            }
            if state.versions[subject] == nil { state.subjectOrder.append(subject) }
            if !(state.versions[subject] ?? []).contains(id) { state.versions[subject, default: []].append(id) }
            return id
        }
    }

    /// Routes one request. `segments` are the percent-decoded path parts.
    func handle(method: String, segments: [String], body: [UInt8]) -> Reply {
        switch (method, segments.count) {
        case ("GET", _) where segments.first == "schemas":
            return getSchema(segments)
        case ("GET", 1) where segments[0] == "subjects":
            return Reply(status: 200, body: .array(subjects.map(Value.string)))
        case ("GET", 1) where segments[0] == "config", ("GET", 2) where segments[0] == "config":
            return Reply(status: 200, body: ["compatibilityLevel": "NONE"])
        case ("GET", 3) where segments[0] == "subjects" && segments[2] == "versions":
            guard let ids = state.withLock({ $0.versions[segments[1]] }) else { return subjectNotFound(segments[1]) }
            return Reply(status: 200, body: .array(ids.indices.map { .int(Int64($0 + 1)) }))
        case ("GET", 4) where segments[0] == "subjects" && segments[2] == "versions",
             ("GET", 5) where segments[0] == "subjects" && segments[2] == "versions" && segments[4] == "schema":
            return getVersion(subject: segments[1], version: segments[3], rawSchema: segments.count == 5)
        case ("POST", 3) where segments[0] == "subjects" && segments[2] == "versions":
            return postSchema(subject: segments[1], body: body, lookupOnly: false)
        case ("POST", 2) where segments[0] == "subjects":
            return postSchema(subject: segments[1], body: body, lookupOnly: true)
        default:
            let known = segments.first == "subjects" || segments.first == "schemas" || segments.first == "config"
            return known && method != "GET" && method != "POST"
                ? Self.error(405, 405, "HTTP 405 Method Not Allowed")
                : Self.error(404, 404, "HTTP 404 Not Found")
        }
    }

    private func subjectNotFound(_ subject: String) -> Reply {
        Self.error(404, 40401, "Subject '\(subject)' not found.")
    }

    private func getSchema(_ segments: [String]) -> Reply {
        guard segments.count >= 3, segments[1] == "ids", let id = Int32(segments[2]) else {
            return Self.error(404, 404, "HTTP 404 Not Found")
        }
        let found: (Stored, [(String, Int)])? = state.withLock { state in
            guard let stored = state.schemas[id] else { return nil }
            var uses: [(String, Int)] = []
            for subject in state.subjectOrder {
                if let index = state.versions[subject]?.firstIndex(of: id) { uses.append((subject, index + 1)) }
            }
            return (stored, uses)
        }
        guard let (stored, uses) = found else { return Self.error(404, 40403, "Schema \(id) not found") }
        switch segments.count {
        case 3:
            return Reply(status: 200, body: ["schema": .string(stored.text)])
        case 4 where segments[3] == "schema":
            return Reply(status: 200, body: (try? JSON.decode(stored.text)) ?? .string(stored.text))
        case 4 where segments[3] == "versions":
            return Reply(status: 200, body: .array(uses.map { ["subject": .string($0.0), "version": .int(Int64($0.1))] }))
        case 4 where segments[3] == "subjects":
            return Reply(status: 200, body: .array(uses.map { .string($0.0) }))
        default:
            return Self.error(404, 404, "HTTP 404 Not Found")
        }
    }

    private func getVersion(subject: String, version: String, rawSchema: Bool) -> Reply {
        let found: Result<(Int, Int32, Stored), RegistryStore.Failure> = state.withLock { state in
            guard let ids = state.versions[subject] else { return .failure(.subject) }
            let number: Int
            if version == "latest" || version == "-1" {
                number = ids.count
            } else if let n = Int(version), n >= 1 {
                number = n
            } else {
                return .failure(.invalidVersion)
            }
            guard number <= ids.count, let stored = state.schemas[ids[number - 1]] else { return .failure(.version) }
            return .success((number, ids[number - 1], stored))
        }
        switch found {
        case .failure(.subject): return subjectNotFound(subject)
        case .failure(.invalidVersion):
            return Self.error(422, 42202, "The specified version '\(version)' is not a valid version id.")
        case .failure(.version): return Self.error(404, 40402, "Version \(version) not found.")
        case .success(let (number, id, stored)):
            if rawSchema { return Reply(status: 200, body: (try? JSON.decode(stored.text)) ?? .string(stored.text)) }
            return Reply(status: 200, body: ["subject": .string(subject), "version": .int(Int64(number)),
                                             "id": .int(Int64(id)), "schema": .string(stored.text)])
        }
    }

    private enum Failure: Error { case subject, version, invalidVersion }

    private func postSchema(subject: String, body: [UInt8], lookupOnly: Bool) -> Reply {
        guard let request = try? JSON.decode(body), case .string(let text)? = request["schema"] else {
            return Self.error(422, 42201, "Invalid schema: the body must be {\"schema\": \"...\"}")
        }
        if case .string(let type)? = request["schemaType"], type != "AVRO" {
            return Self.error(422, 42201, "Invalid schema: pgk's embedded registry only supports AVRO, not \(type)")
        }
        if case .array(let references)? = request["references"], !references.isEmpty {
            return Self.error(422, 42201, "Invalid schema: schema references are not supported")
        }
        if lookupOnly {
            guard let schema = try? AvroSchema(json: text) else { return Self.error(422, 42201, "Invalid schema") }
            let found: Result<(Int, Int32), Failure> = state.withLock { state in
                guard let ids = state.versions[subject] else { return .failure(.subject) }
                guard let id = state.idByNormalized[schema.normalizedText], let index = ids.firstIndex(of: id) else {
                    return .failure(.version)
                }
                return .success((index + 1, id))
            }
            switch found {
            case .failure(.subject): return subjectNotFound(subject)
            case .failure: return Self.error(404, 40403, "Schema not found")
            case .success(let (version, id)):
                return Reply(status: 200, body: ["subject": .string(subject), "version": .int(Int64(version)),
                                                 "id": .int(Int64(id)), "schema": .string(text)])
            }
        }
        do {
            let id = try register(subject: subject, schemaJSON: text)
            return Reply(status: 200, body: ["id": .int(Int64(id))])
        } catch {
            return Self.error(422, 42201, "Invalid schema: \(error.reason)")
        }
    }
}
