import Foundation
import Testing
@testable import PGKCore

/// Lambdas and constructors, run by PostgreSQL over real records.
@Suite struct SQLExpressionTests {
    typealias Fixture = SQLCommandTests.Fixture

    @Test func lambdasAndConstructorsInAStreamQuery() throws {
        let fx = try Fixture("sql-lambdas")
        try fx.cluster.createTopic("nums", partitions: 1)
        try fx.produce("nums", [#"{"NUMBERS": [3, 6, 9], "NAME": "a"}"#, #"{"NUMBERS": null, "NAME": "b"}"#], keys: ["k1", "k2"])
        try fx.run("""
            SET 'auto.offset.reset'='earliest';
            CREATE STREAM nums (id STRING KEY, numbers ARRAY<INT>, name STRING) WITH (KAFKA_TOPIC='nums', VALUE_FORMAT='JSON');
            CREATE STREAM shaped AS SELECT id, FILTER(numbers, x => x > 5) AS big, TRANSFORM(numbers, x => x * 2) AS twice,
              ARRAY[name, 'z'] AS names, STRUCT(who := name, n := 1) AS s, UCASE(name) FROM nums;
            """)
        let values = try fx.topic("SHAPED").compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        // An unnamed expression is KSQL_COL_0, as the first one ksqlDB names.
        #expect(values == [#"{"BIG":[6,9],"TWICE":[6,12,18],"NAMES":["a","z"],"S":{"N":1,"WHO":"a"},"KSQL_COL_0":"A"}"#,
                           #"{"BIG":null,"TWICE":null,"NAMES":["b","z"],"S":{"N":1,"WHO":"b"},"KSQL_COL_0":"B"}"#], "\(values)")
    }
}
