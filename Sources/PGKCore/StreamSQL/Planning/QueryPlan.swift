/// A persistent query compiled to PostgreSQL statements.
///
/// Each batch of input records is copied into the inputs' staging tables
/// (temporary, emptied at commit); then `batch` runs in the same
/// transaction: it folds the changes into the state tables, recomputes
/// the result rows they touch and queues their changelog, and the source
/// offsets are stored last. A crash anywhere rolls all of it back.
struct QueryPlan {
    /// Storage for tables whose rows are rewritten batch after batch
    /// (accumulators, result tables, a table input's state): with half of
    /// each page free, an update that changes no key is a HOT update, on
    /// the same page and without index entries. Measured on 10k groups
    /// upserted per batch: 30–35 ms instead of 63–71 ms.
    static let rewrittenTableStorage = " WITH (fillfactor = 50)"
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
        /// For a statement that queues changelog rows in the outbox: the
        /// same statement returning them instead (query_id, topic, key,
        /// value, ts), for a runner that produces them itself. nil where
        /// a batch's changelog may be far larger than the batch (they are
        /// queued then).
        var changelogRows: String? = nil
    }

    enum Output {
        /// CREATE STREAM AS SELECT: rows go to the topic, at least once.
        /// `emit` returns (row jsonb, raw key bytea, NULL, ROWTIME); with
        /// `valueText`, (the final JSON value, raw key bytea, key columns
        /// json, ROWTIME). Output records keep their input's timestamp.
        case stream(emit: SQL, valueText: Bool)
        /// CREATE TABLE AS SELECT: rows live in `table`; the changelog goes
        /// to the topic before each batch commits (`SQL.changelogRows`), or
        /// through the outbox for a push query.
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
    /// The join conditions' literals: each batch sets them first as the
    /// transaction's settings `JoinConstants.name(n)`.
    var joinConstants: [String] = []
    /// Set for a stream aggregation plain enough to pre-aggregate each
    /// batch in memory (see BatchCombiner); `batch` serves otherwise.
    var combined: Combined?

    /// A batch folded from per-group partial rows that pgk computes
    /// itself: copying 10k partial rows instead of 200k records, and
    /// grouping none of them in SQL, is where an aggregation's time went.
    struct Combined {
        enum Reduction: Equatable {
            /// COUNT(*), COUNT(col): rows, or rows where the field is set.
            case count, countValues
            /// SUM: a bigint over whole numbers, as pg_temp.ksum's; a double over DOUBLE.
            case sum
            /// AVG's running sum: the values as double precision.
            case sumAsDouble
            case min, max
            /// The latest ROWTIME of the group (its changelog timestamp).
            case latestRowtime
        }
        /// Temporary table (emptied at commit) the partial rows go into.
        var table: String
        /// Its columns in COPY order: the group columns, then the partials.
        var columns: [String]
        /// Staged-row field numbers of the GROUP BY columns.
        var groupFields: [Int]
        /// Per partial column, how it reduces and which staged field it reads.
        var reductions: [(Reduction, field: Int)]
        /// Staged-row field numbers of `_deleted` and `_ts`.
        var deletedField: Int
        var rowtimeField: Int
        /// `batch`, folding from `table` instead of the staged records.
        var batch: [SQL]
        /// The fields SUM, AVG, MIN and MAX read that are DOUBLE (the rest are whole numbers).
        var doubleFields: Set<Int> = []
        /// The query's WHERE, applied as records are read; staged rows of
        /// such a query are folded by SQL, which applies it there.
        var filter: FlatFilter?
    }
}

/// Literals of join conditions, read back as settings: a condition is
/// embedded in several statements, each numbering its own parameters,
/// and values are never written into SQL text.
final class JoinConstants {
    private(set) var values: [String] = []

    static func name(_ index: Int) -> String { "pgk_join.c\(index + 1)" }

    /// SQL that reads the literal back, typed; NULL where unset (as when
    /// the planner only describes a statement).
    func add(_ value: String, type: String) -> String {
        values.append(value)
        return "CAST(current_setting('\(Self.name(values.count - 1))', true) AS \(type))"
    }

    /// The statement that sets them, for the start of a batch's transaction.
    static func setting(_ values: [String]) -> QueryPlan.SQL? {
        guard !values.isEmpty else { return nil }
        let calls = values.indices.map { "set_config('\(name($0))', $\($0 + 1), true)" }
        return .init(text: "SELECT " + calls.joined(separator: ", "), parameters: values)
    }
}
