import Foundation
import Testing
@testable import PGKCore

/// The `--metrics` HTTP endpoint, in process and through the binary.
@Suite struct MetricsEndpointTests {
    private func endpoint(port: UInt16 = 0) throws -> (MetricsEndpoint, MetricsRegistry, HealthStatus) {
        let registry = MetricsRegistry()
        let health = HealthStatus(starting: "starting: no partitions assigned yet")
        let endpoint = try MetricsEndpoint(address: MetricsAddress(host: "127.0.0.1", port: port),
                                           registry: registry, health: health)
        return (endpoint, registry, health)
    }

    @Test func servesMetricsAsPrometheusText() throws {
        let (endpoint, registry, _) = try endpoint()
        defer { endpoint.stop() }
        #expect(endpoint.port != 0)
        registry.counter("pgk_test_requests_total", help: "r").add(3)
        let response = try MetricsScrape.get(endpoint.url, "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.header("Connection") == "close")
        #expect(try MetricsScrape.parse(String(decoding: response.body, as: UTF8.self)) == ["pgk_test_requests_total": 3])
        // A query string is ignored, as scrapers sometimes add one.
        #expect(try MetricsScrape.get(endpoint.url, "/metrics?x=1").status == 200)
    }

    @Test func healthzFollowsTheHealthStatus() throws {
        let (endpoint, _, health) = try endpoint()
        defer { endpoint.stop() }
        let starting = try MetricsScrape.get(endpoint.url, "/healthz")
        #expect(starting.status == 503)
        #expect(String(decoding: starting.body, as: UTF8.self) == "starting: no partitions assigned yet\n")
        health.healthy()
        let ok = try MetricsScrape.get(endpoint.url, "/healthz")
        #expect(ok.status == 200 && String(decoding: ok.body, as: UTF8.self) == "ok\n")
        health.unhealthy("replication connection lost; reconnecting")
        let lost = try MetricsScrape.get(endpoint.url, "/healthz")
        #expect(lost.status == 503 && String(decoding: lost.body, as: UTF8.self).hasPrefix("replication connection lost"))
    }

    @Test func otherPathsAre404AndOtherMethods405() throws {
        let (endpoint, _, _) = try endpoint()
        defer { endpoint.stop() }
        #expect(try MetricsScrape.get(endpoint.url, "/").status == 404)
        #expect(try MetricsScrape.get(endpoint.url, "/metrics/x").status == 404)
        let post = try HTTPClient(endpoint: HTTPEndpoint(endpoint.url)).request("POST", "/metrics", body: [1])
        #expect(post.status == 405)
    }

    @Test func aBusyPortIsAnErrorNamingTheAddress() throws {
        let (first, _, _) = try endpoint()
        defer { first.stop() }
        do {
            let second = try endpoint(port: first.port)
            second.0.stop()
            Issue.record("a second endpoint bound \(first.port) too")
        } catch let error as RuntimeError {
            #expect(error.message.contains("127.0.0.1:\(first.port)"), "\(error)")
            #expect(error.message.contains("in use"), "\(error)")
        }
    }

    @Test func theBinaryRejectsABadAddressAndABusyPort() throws {
        let bad = try CommandRunner.pgk(["sink", "-t", "x", "--metrics", "localhost"], environment: WALFixture.environment)
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("--metrics"), "\(bad.stderr)")
        let (busy, _, _) = try endpoint()
        defer { busy.stop() }
        // Nothing answers on the database or broker ports: the bind must fail first.
        for verb in [["sink", "-t", "x"], ["cdc", "wal", "run"], ["cdc", "outbox", "run"]] {
            let result = try CommandRunner.pgk(verb + ["--metrics", "127.0.0.1:\(busy.port)", "-d", "postgresql://127.0.0.1:1/x",
                                                       "-b", "127.0.0.1:1"], environment: WALFixture.environment)
            #expect(result.status == 1, "\(verb): \(result.stderr)")
            #expect(result.stderr.contains("metrics: cannot listen on 127.0.0.1:\(busy.port)"), "\(verb): \(result.stderr)")
        }
    }
}
