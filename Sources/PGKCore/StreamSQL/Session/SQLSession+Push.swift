import Foundation

/// Push queries (`… EMIT CHANGES [LIMIT n]`): a transient query whose rows
/// print as they arrive (an aggregation's as its groups change), until
/// LIMIT or Ctrl-C. Its state, result table and offsets are removed when
/// it ends. A stream's pull query (`scanning`) runs the same way from the
/// earliest offsets, stops at the topic's current end and prints its rows
/// as a pull query's table.
extension SQLSession {
    func push(_ select: Select, scanning: Bool = false) throws {
        // An aggregation prints its table's changes, coalesced per key about once a second.
        let aggregates = !select.groupBy.isEmpty
        let id = "TRANSIENT_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        var sources = try store.sources()
        // A table in FROM prints its changes: its topic read as a stream, as in ksqlDB.
        // An aggregation of a table keeps its retractions.
        if !aggregates, let index = sources.firstIndex(where: { $0.name == select.from.name }) { sources[index].kind = .stream }
        var body = select
        body.emitChanges = false
        body.limit = nil
        // DELIMITED keeps rows as documents for printing (JSON would be pre-rendered text).
        let create = CreateAsSelect(kind: aggregates ? .table : .stream, name: id,
                                    properties: [SourceProperty(name: "VALUE_FORMAT", value: .string("DELIMITED"))],
                                    select: body)
        var planner = QueryPlanner(store: store, sources: sources)
        planner.limits = try FunctionLimits(properties: properties)
        planner.printsRows = true
        let plan = try planner.plan(create, queryID: id, statement: "")
        let query = SQLQuery(id: id, sink: id, statement: "",
                             offsetReset: scanning ? "earliest" : properties["auto.offset.reset"] ?? "latest")
        let runner = QueryRunner(query: query, plan: plan, store: store, kafka: kafka, registry: registry, untilEnd: scanning)
        defer {
            runner.stop()
            // Its bad records were reported on stderr; a transient query keeps nothing.
            do {
                try store.connection.transaction {
                    try dropQueryState(id)
                    try store.connection.execute("DELETE FROM \(store.table("dead_letters")) WHERE query_id = $1", [id])
                    try store.connection.execute("DELETE FROM \(store.table("changelog")) WHERE query_id = $1", [id])
                    if let table = plan.sink.resultTable { try store.connection.execute("DROP TABLE IF EXISTS \(table)") }
                }
            } catch {
                Log.warning("sql: removing the state of push query \(id): \(error)")
            }
        }
        let columns = zip(plan.outputColumns, plan.sink.columns).map { (postgres: $0.name, name: $1.name) }
        var printed = 0
        let width = columns.map { max($0.name.count, 12) }
        if format == .table && !scanning {
            try output.write(zip(columns, width).map { pad($0.name, $1) }.joined(separator: " | ") + "\n")
            try output.flush()
        }
        var scanned: [ValueObject] = []
        runner.rowSink = { [self] row in
            let values = columns.map { row[$0.postgres] ?? .null }
            // A scan's aligned table needs every row first; its NDJSON goes out as it comes.
            if scanning && format == .table {
                scanned.append(ValueObject(zip(columns, values).map { ($0.name, $1) }))
                return select.limit.map { scanned.count < $0 } ?? true
            }
            switch format {
            case .json:
                try output.write(JSON.encode(.object(ValueObject(zip(columns, values).map { ($0.name, $1) }))) + "\n")
            case .table:
                try output.write(zip(values, width).map { pad(TextTable.cell($0), $1) }.joined(separator: " | ") + "\n")
            }
            try output.flush()
            printed += 1
            return select.limit.map { printed < $0 } ?? true
        }
        try runner.start()
        while !stop.isStopped && !runner.rowSinkIsFull && !(scanning && runner.reachedEnd) {
            try runner.step(timeoutMilliseconds: 200)
        }
        if scanning && format == .table { return try write(scanned, columns: columns.map(\.name)) }
        if !scanning && select.limit != nil && runner.rowSinkIsFull { Log.info("sql: limit reached; query terminated") }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
