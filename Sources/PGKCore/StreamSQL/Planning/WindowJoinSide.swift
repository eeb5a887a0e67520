/// One side of a window join, as relations with the same columns: the
/// data columns, then `_ts, _seq, _ord, _id, _part, _off`. A side is a
/// stream's records, or the pairs that the window join before it emitted
/// (ksqlDB joins `a JOIN b … JOIN c` as `(a JOIN b) JOIN c`).
///
/// `_seq` orders records by arrival (a pair arrives with its later
/// record), `_ord` orders the pairs that arrived with one record, and
/// `_id` names a buffered record (a stream record's `_seq`; a pair's own number).
struct WindowJoinSide {
    /// The window buffer, a state table.
    let state: String
    /// The buffer's records, `_padded` last.
    let buffered: String
    /// This batch's records.
    let batch: String
    /// The alias that carries the side's `_ts`, `_seq`, `_ord` and `_id`
    /// (a stream's own, or the pairs' relation).
    let alias: String
    /// Binds a relation of the side's records: `AS iN` for a stream; for
    /// pairs, each stream's columns under its own alias again, so the
    /// query's expressions read them as they read a stream.
    let bind: (String) -> String
    /// Whether the side is a stream's records (else pairs).
    let isStream: Bool
    /// The statement that buffers the batch, given the ids it padded.
    let bufferBatch: (_ padded: String) -> String
    /// The buffer column that holds `_id`.
    let idColumn: String

    /// Every record: the buffer, then the batch.
    var all: String { "(SELECT * FROM \(buffered) AS b UNION ALL SELECT *, false FROM \(batch) AS n)" }

    static let bookkeeping = ["_ts", "_seq", "_ord", "_id", "_part", "_off"]

    /// A stream's records: its staging table and window buffer.
    static func stream(_ input: QueryPlan.Input, state: String, quote: (String) throws -> String) throws -> WindowJoinSide {
        let columns = try input.columns.map { try quote($0.name) }
        let data = (columns + ["_ts", "_seq"]).joined(separator: ", ")
        // A stream record is one arrival: nothing to order it by beyond `_seq`.
        let uniform = "\(data), '{}'::bigint[] AS _ord, _seq AS _id, _part, _off"
        let stored = (columns + ["_ts", "_seq", "_part", "_off"]).joined(separator: ", ")
        return WindowJoinSide(
            state: state,
            buffered: "(SELECT \(uniform), _padded FROM \(state))",
            batch: "(SELECT \(uniform) FROM \(input.staging) WHERE NOT _deleted)",
            alias: input.alias, bind: { "\($0) AS \(input.alias)" }, isStream: true,
            bufferBatch: { padded in
                "INSERT INTO \(state) (\(stored), _padded) SELECT \(stored), _seq IN (\(padded)) FROM \(input.staging) WHERE NOT _deleted"
            },
            idColumn: "_seq")
    }

    /// The pairs of join `level`, which joined `streams` (i0 … i(level+1),
    /// tables among them): each one's columns as `_pgk_<input>_<column>`.
    static func pairs(level: Int, streams: ArraySlice<QueryPlan.Input>, state: String, batchTable: String,
                      quote: (String) throws -> String) throws -> WindowJoinSide {
        let alias = "p\(level)"
        let columns = pairColumns(streams).map(\.name)
        let all = (columns + bookkeeping).joined(separator: ", ")
        // Each stream's own time, partition and offset (ROWTIME & co.); the pair's are `alias`'s.
        let laterals = try streams.map { input in
            let fields = try input.columns.enumerated().map { index, column in
                "\(alias)._pgk_\(input.alias.dropFirst())_\(index) AS \(try quote(column.name))"
            } + recordPositions.map { "\(alias)._pgk_\(input.alias.dropFirst())\($0) AS \($0)" }
            return " CROSS JOIN LATERAL (SELECT \(fields.joined(separator: ", "))) AS \(input.alias)"
        }.joined()
        return WindowJoinSide(
            state: state,
            buffered: "(SELECT \(all), _padded FROM \(state))",
            batch: "(SELECT \(all) FROM \(batchTable))",
            alias: alias, bind: { "(\($0) AS \(alias)\(laterals))" }, isStream: false,
            bufferBatch: { padded in "INSERT INTO \(state) (\(all), _padded) SELECT \(all), _id IN (\(padded)) FROM \(batchTable)" },
            idColumn: "_id")
    }

    /// A stream record's time, partition and offset, kept per stream in a pair.
    static let recordPositions = ["_ts", "_part", "_off"]

    /// A pair's data columns and their PostgreSQL types: each stream's
    /// columns, then its time, partition and offset.
    static func pairColumns(_ streams: ArraySlice<QueryPlan.Input>) -> [(name: String, type: String)] {
        streams.flatMap { input in
            let stream = input.alias.dropFirst()
            return input.columns.enumerated().map { index, column in ("_pgk_\(stream)_\(index)", column.type) }
                + zip(recordPositions, ["bigint", "integer", "bigint"]).map { ("_pgk_\(stream)\($0)", $1) }
        }
    }
}
