import Foundation
import Testing
@testable import PGKCore

/// kafkaesk itself (PyPI `kafkaesk`, aiokafka underneath) consumes what
/// `pgk publish` sends, on the mock cluster: the wire format is theirs.
/// A missing python3 or kafkaesk fails the test (scripts/install-deps --test).
@Suite struct KafkaeskInteropTests {
    static let script = RepositoryPaths.path("Tests/Fixtures/kafkaesk/consume_orders.py")

    @Test func kafkaeskAppWithPydanticModelsConsumesWhatPgkPublishes() throws {
        let fixture = try PublishCommandTests.Fixture()
        let stream = KafkaTestSupport.uniqueName("orders")
        try fixture.cluster.createTopic("ks." + stream, partitions: 3)
        let input = """
            {"id": 1, "customer": "ann", "lines": [{"sku": "A", "qty": 2}]}
            {"id": 2, "customer": "bob", "lines": [], "note": "café"}
            {"id": 3, "customer": "bob", "lines": [{"sku": "B", "qty": 0}]}
            {"id": 4, "customer": "cy", "lines": [{"sku": "C", "qty": 1}, {"sku": "D", "qty": 3}]}
            """
        let published = try fixture.publish([stream, "-s", "Order:1", "--topic-prefix", "ks.", "--key-field", "customer",
                                             "-H", "origin=pgk"], stdin: input)
        #expect(published.status == 1, "line 3 is invalid: \(published.stderr)")
        #expect(published.stderr.contains("3 sent, 1 rejected, 0 failed"), "\(published.stderr)")

        let check = try CommandRunner.run("python3", ["-c", "import kafkaesk, pydantic"])
        try #require(check.status == 0, "python3 cannot import kafkaesk: run scripts/install-deps --test\n\(check.stderr)")
        let consumed = try CommandRunner.run("python3", [Self.script, fixture.cluster.bootstrapServers, "ks.", stream, "3", "60"],
                                             timeoutSeconds: 120)
        #expect(consumed.status == 0, "kafkaesk did not receive the events: \(consumed.stderr)")
        let received = consumed.stdout.split(separator: "\n").map(String.init).sorted()
        #expect(received == [
            #"{"data": {"customer": "ann", "id": 1, "lines": [{"qty": 2, "sku": "A"}], "note": null}, "headers": {"origin": "pgk"}, "key": "ann", "schema": "Order:1"}"#,
            #"{"data": {"customer": "bob", "id": 2, "lines": [], "note": "caf\u00e9"}, "headers": {"origin": "pgk"}, "key": "bob", "schema": "Order:1"}"#,
            #"{"data": {"customer": "cy", "id": 4, "lines": [{"qty": 1, "sku": "C"}, {"qty": 3, "sku": "D"}], "note": null}, "headers": {"origin": "pgk"}, "key": "cy", "schema": "Order:1"}"#,
        ], "\(consumed.stderr)")
    }
}
