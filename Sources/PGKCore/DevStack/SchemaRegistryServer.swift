/// An in-memory Confluent-compatible schema registry on a loopback port,
/// for `pgk dev` and tests, on the shared `HTTPServer` (keep-alive
/// clients such as Confluent's Python client hold connections open, which
/// its poll loop serves side by side). Serves:
///
///     GET  /subjects                          GET  /schemas/ids/{id}
///     GET  /subjects/{s}/versions             GET  /schemas/ids/{id}/schema
///     GET  /subjects/{s}/versions/{v|latest}[/schema]
///     GET  /schemas/ids/{id}/versions         GET  /schemas/ids/{id}/subjects
///     POST /subjects/{s}/versions  (register) POST /subjects/{s}  (look up)
///     GET  /config[/{s}]  (always NONE: compatibility is not checked)
final class SchemaRegistryServer: Sendable {
    /// "http://127.0.0.1:PORT".
    let url: String
    let port: UInt16
    private let store: RegistryStore
    private let server: HTTPServer

    /// `port` 0 picks a free port; read `url` or `port` afterwards.
    init(host: String = "127.0.0.1", port: UInt16 = 0) throws(RuntimeError) {
        let store = RegistryStore()
        self.store = store
        server = try HTTPServer(label: "schema registry", host: host, port: port) { request in
            Self.answer(request, store: store)
        }
        self.port = server.port
        url = server.url
    }

    /// Stops accepting, closes every connection and joins the thread.
    /// Idempotent.
    func stop() { server.stop() }

    /// Registers without HTTP (for seeding `pgk dev`); same ids as POST.
    func register(subject: String, schemaJSON: String) throws(CodecError) -> Int32 {
        try store.register(subject: subject, schemaJSON: schemaJSON)
    }

    var subjects: [String] { store.subjects }

    private static func answer(_ request: HTTPMessage, store: RegistryStore) -> HTTPReply {
        var segments: [String] = []
        for part in request.path.split(separator: "/") {
            guard let decoded = PercentEncoding.decode(String(part)) else {
                return reply(RegistryStore.Reply(status: 400, body: ["error_code": 400, "message": "bad percent-encoding in path"]))
            }
            segments.append(decoded)
        }
        return reply(store.handle(method: request.method, segments: segments, body: request.body))
    }

    private static func reply(_ reply: RegistryStore.Reply) -> HTTPReply {
        HTTPReply(status: reply.status, contentType: SchemaRegistryClient.contentType, body: JSON.encodeBytes(reply.body))
    }
}
