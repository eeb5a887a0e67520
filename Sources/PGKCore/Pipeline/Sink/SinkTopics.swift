import Foundation

/// The topics a sink subscribes to, resolved against the cluster.
enum SinkTopics {
    /// The existing topics that `patterns` name: exact names, or regexes
    /// (a leading `^`) matched against the cluster's topic list.
    static func resolve(_ patterns: [String], among names: [String]) -> [String] {
        var result: [String] = []
        for pattern in patterns {
            if !pattern.hasPrefix("^") {
                if names.contains(pattern) { result.append(pattern) }
                continue
            }
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            result += names.filter { name in
                regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
            }
        }
        return Array(Set(result)).sorted()
    }

    /// How far librdkafka may read ahead. With the high-level consumer
    /// its queued.* limits apply to the one queue all partitions feed
    /// (not per partition, whatever the docs say), and once past them
    /// librdkafka 2.0.2 fetches again only when its broker thread wakes,
    /// which `KafkaFetchNudger` makes happen every 10 ms instead of every
    /// second (2.2.0 and later wait `fetch.queue.backoff.ms`, which the
    /// consumer sets to 10 ms where it exists). A budget of 100,000
    /// messages (32 MiB) keeps the sink under 200 MB: over 10M ~100-byte
    /// messages, 172 MB in 37.9 s, where 150,000 (48 MiB) took 202 MB and
    /// 41.6 s once the nudger kept it full. One fetch response is capped
    /// too, since it can overshoot. `-X` overrides all three.
    static let prefetchDefaults: [(String, String)] = [
        ("queued.min.messages", "100000"),
        ("queued.max.messages.kbytes", "32768"),
        ("fetch.max.bytes", "16777216"),
    ]
}
