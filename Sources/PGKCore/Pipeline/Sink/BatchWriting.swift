/// What `SinkRunner` needs from a writer: commit one sealed batch on the
/// writer's own thread and say what became of it. `BatchWriter` commits
/// to PostgreSQL; tests give the runner fakes so fencing, revokes and
/// outcome order are checked without a database.
protocol BatchWriting: AnyObject {
    func write(_ batch: StagedBatch) -> WriteOutcome
}

extension BatchWriter: BatchWriting {}
