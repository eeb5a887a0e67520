import Synchronization

/// A failure talking to the schema registry, as opposed to a bad message.
/// `isTransient` tells a pipeline to back off and retry rather than
/// dead-letter; `isNotFound` marks ids, subjects or versions the registry
/// does not know.
struct RegistryError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable, Equatable {
        /// No connection, a broken one, or a malformed HTTP exchange.
        case unreachable
        case timeout
        /// The registry answered with an error status; `code` is its
        /// `error_code` (40403 …) when the body carried one.
        case registry(status: Int, code: Int?)
        /// A 2xx answer that is not the JSON the API promises.
        case invalidResponse
        /// Schema text (ours or the registry's) that is not valid Avro.
        case invalidSchema
        case invalidURL
        /// The TLS handshake failed (untrusted certificate, bad client key).
        case tls
    }

    var kind: Kind
    /// The registry URL, password redacted.
    var url: String
    var message: String

    init(_ kind: Kind, url: String, _ message: String) {
        self.kind = kind
        self.url = url
        self.message = message
    }

    var description: String { "schema registry \(url): \(message)" }

    var isTransient: Bool {
        switch kind {
        case .unreachable, .timeout: return true
        case .registry(let status, _): return status >= 500 || status == 408 || status == 429
        case .invalidResponse, .invalidSchema, .invalidURL, .tls: return false
        }
    }

    var isNotFound: Bool {
        if case .registry(404, _) = kind { return true }
        return false
    }
}

/// The Confluent Schema Registry REST subset pgk needs. Synchronous: call
/// it from a worker thread, never from Swift's cooperative pool. Schemas
/// are cached forever by id (ids are immutable), registrations by
/// subject and schema text; both caches are safe to share across threads.
final class SchemaRegistryClient: Sendable {
    let endpoint: HTTPEndpoint
    private let http: HTTPClient
    private let schemasByID = Mutex<[Int32: AvroSchema]>([:])
    private let registered = Mutex<[String: Int32]>([:])

    static let contentType = "application/vnd.schemaregistry.v1+json"

    /// `url`: `http[s]://[user:password@]host:port[/prefix]`.
    init(url: String, timeoutMilliseconds: Int = 10_000, tls: HTTPTLSOptions = HTTPTLSOptions()) throws(RegistryError) {
        do {
            endpoint = try HTTPEndpoint(url)
        } catch {
            throw RegistryError(.invalidURL, url: error.url, error.message)
        }
        http = HTTPClient(endpoint: endpoint, timeoutMilliseconds: timeoutMilliseconds, tls: tls)
    }

    /// `GET /schemas/ids/{id}`.
    func schema(id: Int32) throws(RegistryError) -> AvroSchema {
        if let cached = schemasByID.withLock({ $0[id] }) { return cached }
        let body = try call("GET", "/schemas/ids/\(id)", notFound: "unknown schema id \(id)")
        if case .string(let type)? = body["schemaType"], type != "AVRO" {
            throw RegistryError(.invalidSchema, url: endpoint.description, "schema id \(id) is a \(type) schema, not Avro")
        }
        guard case .string(let text)? = body["schema"] else { throw invalidResponse("GET /schemas/ids/\(id)", body) }
        let schema = try parse(text, what: "schema id \(id)")
        return schemasByID.withLock { cache in
            if let existing = cache[id] { return existing }
            cache[id] = schema
            return schema
        }
    }

    /// `POST /subjects/{subject}/versions`; the schema is parsed locally
    /// first so a typo fails here, with avro-c's message, not in the registry.
    func register(subject: String, schemaJSON: String) throws(RegistryError) -> Int32 {
        let key = subject + "\u{0}" + schemaJSON
        if let cached = registered.withLock({ $0[key] }) { return cached }
        let schema = try parse(schemaJSON, what: "the schema for subject \(subject)")
        let request = JSON.encodeBytes(["schema": .string(schemaJSON)])
        let body = try call("POST", "/subjects/\(PercentEncoding.encode(subject))/versions", body: request,
                            notFound: "unknown subject '\(subject)'")
        guard let id = body["id"]?.int64Value, let id32 = Int32(exactly: id) else {
            throw invalidResponse("POST /subjects/\(subject)/versions", body)
        }
        registered.withLock { $0[key] = id32 }
        schemasByID.withLock { cache in if cache[id32] == nil { cache[id32] = schema } }
        return id32
    }

    /// `GET /subjects/{subject}/versions/latest`; never cached, since the
    /// latest version moves, but the schema lands in the id cache.
    func latest(subject: String) throws(RegistryError) -> (id: Int32, version: Int, schema: AvroSchema) {
        let path = "/subjects/\(PercentEncoding.encode(subject))/versions/latest"
        let body = try call("GET", path, notFound: "unknown subject '\(subject)'")
        guard let id = body["id"]?.int64Value, let id32 = Int32(exactly: id),
              let version = body["version"]?.int64Value, case .string(let text)? = body["schema"] else {
            throw invalidResponse("GET \(path)", body)
        }
        if let cached = schemasByID.withLock({ $0[id32] }) { return (id32, Int(version), cached) }
        let schema = try parse(text, what: "schema id \(id) (subject \(subject))")
        schemasByID.withLock { cache in if cache[id32] == nil { cache[id32] = schema } }
        return (id32, Int(version), schema)
    }

    private func parse(_ text: String, what: String) throws(RegistryError) -> AvroSchema {
        do {
            return try AvroSchema(json: text)
        } catch {
            throw RegistryError(.invalidSchema, url: endpoint.description, "\(what) is not a valid Avro schema: \(error.reason)")
        }
    }

    private func invalidResponse(_ request: String, _ body: Value) -> RegistryError {
        RegistryError(.invalidResponse, url: endpoint.description, "unexpected answer to \(request): \(String(body.jsonText.prefix(200)))")
    }

    /// One request; a non-2xx answer becomes `.registry` with the body's
    /// error_code and message, and 404s get `notFound` as their lead text.
    private func call(_ method: String, _ path: String, body: [UInt8]? = nil, notFound: String) throws(RegistryError) -> Value {
        var headers = [("Accept", Self.contentType + ", application/json")]
        if body != nil { headers.append(("Content-Type", Self.contentType)) }
        let response: HTTPMessage
        do {
            response = try http.request(method, path, body: body, headers: headers)
        } catch {
            let kind: RegistryError.Kind
            switch error.kind {
            case .timeout: kind = .timeout
            case .invalidURL: kind = .invalidURL
            case .tls: kind = .tls
            case .unreachable, .protocolError: kind = .unreachable
            }
            throw RegistryError(kind, url: error.url, error.message)
        }
        let json = try? JSON.decode(response.body)
        let status = response.status
        guard (200..<300).contains(status) else {
            let code = json?["error_code"]?.int64Value.map(Int.init)
            let detail = json?["message"]?.stringValue ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            let codeText = code.map { "error \($0)" } ?? "HTTP \(status)"
            let lead = status == 404 ? "\(notFound) (\(codeText): \(detail))" : "\(method) \(path) failed: \(codeText): \(detail)"
            throw RegistryError(.registry(status: status, code: code), url: endpoint.description + path, lead)
        }
        guard let json else {
            throw RegistryError(.invalidResponse, url: endpoint.description + path, "the answer is not JSON")
        }
        return json
    }
}
