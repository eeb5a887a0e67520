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
    /// consumer sets to 10 ms where it exists). A budget
    /// of 150,000 messages (48 MiB) keeps the sink under 200 MB (177 MB
    /// measured over 10M ~100-byte messages with 50,000-message batches)
    /// without starving the writers (300k msgs/s on that run). One fetch
    /// response is capped too, since it can overshoot. `-X` overrides all
    /// three.
    static let prefetchDefaults: [(String, String)] = [
        ("queued.min.messages", "150000"),
        ("queued.max.messages.kbytes", "49152"),
        ("fetch.max.bytes", "16777216"),
    ]
}
