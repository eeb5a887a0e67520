import Foundation

/// `pgk sql run`: the catalog's persistent queries, each with its own
/// PostgreSQL session (temp staging tables, its partition leases) and a
/// writer thread, stepped in turn on this thread with bounded waits until
/// stopped.
///
/// With `--until-end` queries run one after another in creation order, so
/// a query reading another's output starts after that output is complete.
struct SQLRun {
    var conninfo: String?
    var schema: String
    var kafka: KafkaConfig
    var registry: SchemaRegistryClient?
    var untilEnd: Bool
    var only: [String]
    var stop: StopToken

    func run() throws -> Int32 {
        let catalog = try CatalogStore(connection: PostgresConnection(conninfo: conninfo, applicationName: "pgk sql"), schema: schema)
        try catalog.prepare()
        var queries = try catalog.queries()
        if !only.isEmpty {
            let wanted = Set(only.map { $0.uppercased() })
            let unknown = wanted.subtracting(queries.map { $0.id.uppercased() } + queries.map { $0.sink.uppercased() })
            if let name = unknown.first {
                throw RuntimeError("sql run: no query \(name)" + didYouMean(name, among: queries.map(\.id)))
            }
            queries = queries.filter { wanted.contains($0.id.uppercased()) || wanted.contains($0.sink.uppercased()) }
        }
        guard !queries.isEmpty else {
            Log.info("sql run: no persistent queries in \(schema); create some with CREATE … AS SELECT")
            return ExitStatus.ok
        }
        var runners: [QueryRunner] = []
        var unplanned = 0
        for query in queries {
            // One query that no longer plans (say, a source was changed) must not stop the others.
            let runner: QueryRunner
            do { runner = try makeRunner(query) } catch {
                Log.error("sql: \(query.id) cannot run: \(error)")
                unplanned += 1
                continue
            }
            try runner.start()
            runners.append(runner)
        }
        guard !runners.isEmpty else { throw RuntimeError("sql run: none of the queries can run") }
        defer { for runner in runners { runner.stop() } }
        var failed = 0
        if untilEnd {
            for runner in runners {
                do {
                    while !stop.isStopped && !runner.reachedEnd {
                        try runner.step(timeoutMilliseconds: 500)
                    }
                } catch let failure as QueryFailure {
                    // This query stops; the others still run to their end.
                    Log.error(failure.description)
                    failed += 1
                }
                try runner.drain(onlyIfDue: true)
                report(runner)
            }
            return unplanned + failed == 0 ? ExitStatus.ok : ExitStatus.failure
        }
        Log.info("sql run: \(runners.count) quer\(runners.count == 1 ? "y" : "ies") running; stop with Ctrl-C")
        var failures: [String: Int] = [:]
        var lastCatalogCheck = SystemClock.shared.nowMilliseconds
        while !stop.isStopped {
            // TERMINATE or DROP in another session ends the query here too.
            let now = SystemClock.shared.nowMilliseconds
            if now - lastCatalogCheck >= 5_000 {
                lastCatalogCheck = now
                retire(&runners, keeping: catalogQueryIDs())
            }
            var busy = false
            var stopped: Set<String> = []
            for (index, runner) in runners.enumerated() where !stop.isStopped {
                do {
                    busy = try runner.step(timeoutMilliseconds: busy ? 10 : 200 / runners.count) > 0 || busy
                    failures[runner.query.id] = nil
                } catch let failure as QueryFailure {
                    // The query fails for good, as ksqlDB's does; restarting would meet the same record.
                    Log.error(failure.description)
                    runner.stop()
                    report(runner)
                    stopped.insert(runner.query.id)
                    failed += 1
                } catch {
                    // PostgreSQL or Kafka went away: start over from the committed offsets.
                    let count = (failures[runner.query.id] ?? 0) + 1
                    failures[runner.query.id] = count
                    Log.warning("sql: \(runner.query.id) failed (\(error)); restarting from its committed offsets")
                    runner.stop()
                    usleep(UInt32(min(count, 10)) * 500_000)
                    // A query terminated meanwhile is retired at the next catalog check.
                    guard catalogQueryIDs()?.contains(runner.query.id) ?? true else { continue }
                    // If this fails too, the stopped runner throws at its next step and we come back here.
                    if let restarted = try? restart(runner.query) { runners[index] = restarted }
                }
            }
            runners.removeAll { stopped.contains($0.query.id) }
            if runners.isEmpty && !stopped.isEmpty {
                Log.error("sql run: every query failed")
                return ExitStatus.failure
            }
        }
        for runner in runners {
            try? runner.drain()
            report(runner)
        }
        return failed == 0 ? ExitStatus.ok : ExitStatus.failure
    }

    /// The ids of the catalog's queries; nil while PostgreSQL cannot tell.
    private func catalogQueryIDs() -> Set<String>? {
        guard let connection = try? PostgresConnection(conninfo: conninfo, applicationName: "pgk sql"),
              let store = try? CatalogStore(connection: connection, schema: schema),
              let queries = try? store.queries() else { return nil }
        return Set(queries.map(\.id))
    }

    /// Stops the runners of queries no longer in the catalog.
    private func retire(_ runners: inout [QueryRunner], keeping ids: Set<String>?) {
        guard let ids else { return }
        for runner in runners where !ids.contains(runner.query.id) {
            Log.info("sql: \(runner.query.id) was terminated; it stops here")
            runner.stop()
            report(runner)
        }
        runners.removeAll { !ids.contains($0.query.id) }
    }

    private func makeRunner(_ query: SQLQuery) throws -> QueryRunner {
        let connection = try PostgresConnection(conninfo: conninfo, applicationName: "pgk sql \(query.id)")
        let store = try CatalogStore(connection: connection, schema: schema)
        let create: CreateAsSelect
        switch try SQLParser.parseScript(query.statement).first?.statement {
        case .createAsSelect(let statement)?: create = statement
        case .insertSelect(let name, let select)?: create = try SQLSession.insertion(into: name, select: select, store: store)
        default: throw RuntimeError("sql: the catalog's statement for \(query.id) is not CREATE … AS SELECT or INSERT INTO … SELECT")
        }
        // Plan against the sources as they were (the sink is in the catalog already).
        let sources = try store.sources().filter { $0.name != query.sink }
        var planner = QueryPlanner(store: store, sources: sources)
        planner.limits = try FunctionLimits(properties: query.functionProperties)
        planner.wrapsSingleValues = QueryPlanner.wrapsSingleValues(query.functionProperties)
        planner.defaultKeyFormat = QueryPlanner.defaultKeyFormat(query.functionProperties)
        let plan = try planner.plan(create, queryID: query.id, statement: query.statement)
        let runner = QueryRunner(query: query, plan: plan, store: store, kafka: kafka, registry: registry, untilEnd: untilEnd)
        return runner
    }

    private func restart(_ query: SQLQuery) throws -> QueryRunner {
        let runner = try makeRunner(query)
        try runner.start()
        return runner
    }

    private func report(_ runner: QueryRunner) {
        Log.info("sql: \(runner.query.id): \(runner.processed) record(s)"
            + (runner.deadLettered > 0 ? ", \(runner.deadLettered) to dead letters" : ""))
    }
}
