/// A persistent query compiled to PostgreSQL statements.
///
/// Each batch of input records is copied into the inputs' staging tables
/// (temporary, emptied at commit); then `batch` runs in the same
/// transaction: it folds the changes into the state tables, recomputes
/// the result rows they touch and queues their changelog, and the source
/// offsets are stored last. A crash anywhere rolls all of it back.
struct QueryPlan {
    struct Input {
        var source: CatalogSource
        /// The name its columns are qualified with in the query (alias or name).
        var qualifier: String
        /// Internal SQL alias (`i0`, `i1`): user text never names a relation.
        var alias: String
        /// Quoted temp table the batch is copied into.
        var staging: String
        /// Quoted state table (tables, and streams that feed an aggregate).
        var state: String?
        /// Staged columns in COPY order, as (PostgreSQL name, PostgreSQL type).
        var columns: [(name: String, type: String)]
        /// PostgreSQL names of the key columns (tables).
        var keyColumns: [String]
    }

    struct SQL {
        var text: String
        var parameters: [String?] = []
    }

    enum Output {
        /// CREATE STREAM AS SELECT: rows go to the topic, at least once.
        /// `emit` returns (row jsonb, raw key bytea, NULL, ROWTIME); with
        /// `valueText`, (the final JSON value, raw key bytea, key columns
        /// json, ROWTIME). Output records keep their input's timestamp.
        case stream(emit: SQL, valueText: Bool)
        /// CREATE TABLE AS SELECT: rows live in `table`, the changelog
        /// goes to the topic through the outbox.
        case table(table: String)
    }

    var queryID: String
    var inputs: [Input]
    var output: Output
    /// Idempotent DDL run before the first batch of every process.
    var setup: [SQL]
    var batch: [SQL]
    /// The sink as the catalog will hold it.
    var sink: CatalogSource
    /// Output columns (PostgreSQL names, PostgreSQL types) in order.
    var outputColumns: [(name: String, type: String)]
    /// PostgreSQL names of the output key columns.
    var outputKeys: [String]
    /// A stream-table join's `emit` for a batch without table records.
    var emitWithoutTableChanges: SQL?
    /// Run after a stream's rows are emitted, in the same transaction.
    var afterOutput: [SQL] = []
}
