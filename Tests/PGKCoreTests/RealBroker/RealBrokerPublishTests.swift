import Foundation
import Testing
@testable import PGKCore

/// `pgk publish --create-topic` against a real broker (Tansu), since the
/// mock cluster has no CreateTopics.
@Suite(.enabled(if: RealBrokerTier.isEnabled, RealBrokerTier.disabledReason))
struct RealBrokerPublishTests {
    @Test func createTopicUsesPartitionsRetentionAndTheClusterBrokerCount() throws {
        let broker = try TansuBroker()
        let schemas = try SchemaCatalogTests.directory(["Order.1.json": PublishCommandTests.orderSchema])
        defer { try? FileManager.default.removeItem(atPath: schemas) }
        let stream = KafkaTestSupport.uniqueName("orders")
        let event = #"{"id":1,"customer":"ann","lines":[]}"#
        // A bootstrap list naming the one broker twice: kafkaesk would ask
        // for two replicas; the cluster's metadata says one broker.
        let created = try broker.pgk(["publish", stream, "-s", "Order:1", "--schemas", schemas, "--create-topic",
                                      "--topic-prefix", "rb.", "--retention", "3600",
                                      "-X", "bootstrap.servers=\(broker.bootstrap),\(broker.bootstrap)"], stdin: event)
        try #require(created.status == 0, "\(created.stderr)\n\(broker.log)")
        #expect(created.stderr.contains("created topic rb.\(stream) (7 partitions, replication factor 1, retention.ms 3600000)"),
                "\(created.stderr)")
        let described = try broker.pgk(["topics", "describe", "rb." + stream, "--all-configs", "--output", "json"])
        try #require(described.status == 0, "\(described.stderr)")
        let document = try JSON.decode(described.stdout)
        guard case .array(let partitions)? = document["partitions"] else {
            Issue.record("no partitions in \(described.stdout)")
            return
        }
        #expect(partitions.count == 7)
        guard case .array(let configs)? = document["configs"] else {
            Issue.record("no configs in \(described.stdout)")
            return
        }
        #expect(configs.contains { $0["name"] == .string("retention.ms") && $0["value"] == .string("3600000") },
                "\(described.stdout)")

        // Existing topics are used as they are.
        let again = try broker.pgk(["publish", stream, "-s", "Order:1", "--schemas", schemas, "--create-topic",
                                    "--topic-prefix", "rb.", "--partitions", "2"], stdin: event)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!again.stderr.contains("created topic"), "\(again.stderr)")
    }
}
