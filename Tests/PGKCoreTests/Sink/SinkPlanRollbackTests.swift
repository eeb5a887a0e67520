import Testing
@testable import PGKCore

/// The columns map creates and evolves its table inside a batch's
/// transaction. When that transaction is rolled back and retried, the plan
/// must follow the database, not what the rolled-back attempt did.
@Suite struct SinkPlanRollbackTests {
    /// Makes the next `count` commits touching pgk.sink_offsets fail with a
    /// serialization failure (40001), which the writer retries. A sequence
    /// counts the attempts because it is not rolled back with them.
    static func failNextCommits(_ harness: WriterHarness, _ count: Int) throws {
        try harness.db.executeScript("""
            CREATE SEQUENCE commit_attempts;
            CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF nextval('commit_attempts') <= \(count) THEN
                RAISE EXCEPTION 'injected' USING ERRCODE = '40001';
              END IF;
              RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT OR UPDATE ON pgk.sink_offsets
              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_commit();
            """)
    }

    static let columns = BuiltinMaps.named("columns")!

    @Test func aRetriedBatchRecreatesTheTableTheRollbackRemoved() throws {
        let harness = try WriterHarness("plan-create", map: Self.columns)
        try Self.failNextCommits(harness, 1)
        let outcome = try harness.write(BatchWriterTests.values(["{\"id\": 1, \"name\": \"a\"}"]))
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        #expect(try harness.rows("SELECT id, name FROM t") == [["1", "a"]])
    }

    @Test func aRetriedBatchAddsAgainTheColumnsTheRollbackRemoved() throws {
        let harness = try WriterHarness("plan-evolve", map: Self.columns) { $0.evolve = true }
        _ = try harness.write(BatchWriterTests.values(["{\"id\": 1}"]))
        try Self.failNextCommits(harness, 1)
        let outcome = try harness.write(BatchWriterTests.values(["{\"id\": 2, \"extra\": 5}"], from: 1))
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        #expect(outcome.stats.unknownFields.isEmpty)
        #expect(try harness.rows("SELECT id, extra FROM t ORDER BY id") == [["1", nil], ["2", "5"]])
    }
}
