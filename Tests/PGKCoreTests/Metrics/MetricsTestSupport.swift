import Foundation
import Testing
@testable import PGKCore

/// Scraping a running `--metrics` endpoint, with the exposition text read
/// back by a real Prometheus parser (Python's prometheus_client).
enum MetricsScrape {
    static func get(_ base: String, _ path: String) throws -> HTTPMessage {
        try HTTPClient(endpoint: HTTPEndpoint(base), timeoutMilliseconds: 5_000).request("GET", path)
    }

    /// Every sample of `text` as prometheus_client parses it, keyed
    /// `name` or `name{a="x",b="y"}` (labels sorted). Throws when the
    /// parser rejects the text.
    static func parse(_ text: String) throws -> [String: Double] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    out.append([s.name, s.labels, s.value, family.type, family.documentation])
            print(json.dumps(out))
            """
        let output = try Python.run(script, input: Array(text.utf8), needs: ["prometheus_client"])
        guard let rows = try JSONSerialization.jsonObject(with: Data(output)) as? [[Any]] else {
            throw RuntimeError("unexpected parser output: \(String(decoding: output, as: UTF8.self))")
        }
        var samples: [String: Double] = [:]
        for row in rows {
            guard let name = row[0] as? String, let labels = row[1] as? [String: String],
                  let value = (row[2] as? NSNumber)?.doubleValue else { continue }
            samples[key(name, labels)] = value
        }
        return samples
    }

    static func key(_ name: String, _ labels: [String: String] = [:]) -> String {
        labels.isEmpty ? name
            : name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    /// The parsed samples of `base`/metrics.
    static func samples(_ base: String) throws -> [String: Double] {
        let response = try get(base, "/metrics")
        try #require(response.status == 200)
        #expect(response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return try parse(String(decoding: response.body, as: UTF8.self))
    }

    /// The endpoint a child announced on stderr ("metrics on http://…/metrics").
    static func announcedURL(_ log: () -> String, seconds: Double = 60) -> String? {
        var found: String?
        _ = SinkTestSupport.waitUntil(seconds: seconds) {
            guard let range = log().range(of: #"metrics on (http://[^ \n]+)/metrics"#, options: .regularExpression) else {
                return false
            }
            found = String(log()[range].dropFirst("metrics on ".count).dropLast("/metrics".count))
            return true
        }
        return found
    }

    /// Scrapes until `condition` holds for the samples; returns the last ones.
    static func waitFor(_ base: String, seconds: Double = 60, _ condition: ([String: Double]) -> Bool) -> [String: Double] {
        var last: [String: Double] = [:]
        _ = SinkTestSupport.waitUntil(seconds: seconds) {
            if let samples = try? samples(base) { last = samples }
            return condition(last)
        }
        return last
    }
}
