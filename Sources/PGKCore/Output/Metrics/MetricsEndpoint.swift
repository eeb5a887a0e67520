import Synchronization

/// Whether a long-running verb is doing its job, for `/healthz`. The
/// pipeline sets it at its transitions (joined, streaming, reconnecting);
/// the server thread reads it.
final class HealthStatus: Sendable {
    private let state: Mutex<String?>

    /// Starts unhealthy with `reason` (nothing is running yet).
    init(starting reason: String) { state = Mutex(reason) }

    func healthy() { state.withLock { $0 = nil } }
    func unhealthy(_ reason: String) { state.withLock { $0 = reason } }
    /// nil when healthy, else why not.
    var problem: String? { state.withLock { $0 } }
}

/// `--metrics HOST:PORT`: serves `GET /metrics` (the registry's text)
/// and `GET /healthz` (200 "ok", or 503 and the reason) on a thread of
/// its own until stopped. Every long-running verb starts one the same way.
final class MetricsEndpoint: Sendable {
    let registry: MetricsRegistry
    let health: HealthStatus
    private let server: HTTPServer

    var port: UInt16 { server.port }
    var url: String { server.url }

    init(address: MetricsAddress, registry: MetricsRegistry, health: HealthStatus) throws(RuntimeError) {
        self.registry = registry
        self.health = health
        server = try HTTPServer(label: "metrics", host: address.host, port: address.port, keepAlive: false) { request in
            Self.answer(request, registry: registry, health: health)
        }
        Log.info("metrics on \(server.url)/metrics")
    }

    func stop() { server.stop() }

    static func answer(_ request: HTTPMessage, registry: MetricsRegistry, health: HealthStatus) -> HTTPReply {
        let known = ["/metrics", "/healthz"]
        guard known.contains(request.path) else {
            return HTTPReply(status: 404, text: "not found; try /metrics or /healthz\n")
        }
        guard request.method == "GET" else {
            return HTTPReply(status: 405, text: "only GET\n")
        }
        if request.path == "/metrics" {
            return HTTPReply(status: 200, contentType: MetricsText.contentType, body: Array(registry.render().utf8))
        }
        if let problem = health.problem { return HTTPReply(status: 503, text: problem + "\n") }
        return HTTPReply(status: 200, text: "ok\n")
    }
}

/// Where `--metrics` listens: `HOST:PORT`, `[IPv6]:PORT`, or `:PORT` for
/// every interface. Port 0 picks a free one (logged).
struct MetricsAddress: Sendable, Equatable {
    var host: String
    var port: UInt16

    @Sendable static func parse(_ text: String) throws -> MetricsAddress {
        guard let colon = text.lastIndex(of: ":") else { throw UsageError("expected HOST:PORT, e.g. 127.0.0.1:9187") }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = UInt16(portText) else { throw UsageError("'\(portText)' is not a port (0-65535)") }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw UsageError("put an IPv6 host in brackets: [\(host)]:\(port)")
        }
        if host.isEmpty { host = "0.0.0.0" }
        guard !host.contains(where: { $0 == " " || $0 == "/" }) else { throw UsageError("'\(host)' is not a host") }
        return MetricsAddress(host: host, port: port)
    }
}

/// The one `--metrics` option every long-running verb lists.
enum MetricsOptions {
    static let metrics: Option<MetricsAddress?> = .parsed(
        "metrics", name: "HOST:PORT",
        help: "Serve Prometheus metrics at /metrics and health at /healthz (port 0: any free port)",
        MetricsAddress.parse)
}

/// A verb's metrics: registered in a fresh registry, with the health
/// `/healthz` reports.
protocol ServedMetrics: Sendable {
    init(_ registry: MetricsRegistry)
    var health: HealthStatus { get }
}

extension SinkMetrics: ServedMetrics {}
extension WALMetrics: ServedMetrics {}
extension OutboxMetrics: ServedMetrics {}

extension Invocation {
    /// The verb's metrics and the endpoint `--metrics` asks for, started;
    /// nil without the option. A port in use is an error naming the
    /// address. Keep the endpoint until the verb ends.
    func startMetrics<M: ServedMetrics>(_: M.Type) throws -> (metrics: M, endpoint: MetricsEndpoint)? {
        guard let address = self[MetricsOptions.metrics] else { return nil }
        let registry = MetricsRegistry()
        let metrics = M(registry)
        return (metrics, try MetricsEndpoint(address: address, registry: registry, health: metrics.health))
    }
}
