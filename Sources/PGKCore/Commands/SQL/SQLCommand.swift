import Foundation

/// `pgk sql`: ksqlDB's streaming SQL with its state and results in PostgreSQL.
enum SQLCommand {
    static let file = Option<[String]>.list("file", short: "f", .path, name: "FILE",
                                            help: "Run the statements in FILE (repeatable; - is stdin)", environment: .none)
    static let execute = Option<String?>.text("execute", short: "e", name: "STATEMENTS",
                                              help: "Run these ;-separated statements", environment: .none)
    static let runAfter = Option<Bool>.flag("run", help: "Then run the persistent queries (as 'pgk sql run')",
                                            environment: .none)
    static let untilEnd = Option<Bool>.flag("until-end", help: "Run each query until its inputs are read to their end")
    static let query = Option<[String]>.list("query", name: "NAME",
                                             help: "Run only this query (id or sink name; repeatable)", environment: .none)
    // ksqlDB's service id: the processes sharing one state schema are one group.
    static let stateSchema = Option<String>.text("state-schema", short: "g", aliases: ["group"], name: "SCHEMA",
                                                 help: "PostgreSQL schema of the catalog and query state; "
                                                     + "the processes sharing it are one group", default: "pgk_sql")
    static let output = OutputFormat.option

    static let runSpec = CommandSpec(
        name: "run",
        summary: "run the registered persistent queries until stopped",
        discussion: """
        Runs every CREATE … AS SELECT in the catalog (or those named by \
        --query). Several processes share each query's partitions through \
        PostgreSQL advisory locks; when one exits or dies the others take \
        its partitions over. A batch's state, result rows and source offsets \
        commit in one transaction, after its output records were \
        acknowledged: results in PostgreSQL are exactly once, output topics \
        at least once. SIGINT or SIGTERM finishes the \
        batch in hand and exits 0.
        """,
        options: [untilEnd.spec, query.spec, stateSchema.spec],
        examples: [
            Example("pgk sql run", "Run all persistent queries until Ctrl-C."),
            Example("pgk sql run --until-end --query RESEARCH_AVE_BOOST", "Catch one query up, then exit."),
        ],
        run: { invocation in
            try SQLRun(conninfo: invocation.globals.database, schema: invocation[stateSchema], kafka: invocation.kafkaConfig,
                       registry: try registry(invocation), untilEnd: invocation[untilEnd], only: invocation[query],
                       stop: invocation.stop).run()
        })

    static let spec = CommandSpec(
        name: "sql",
        summary: "streaming SQL in ksqlDB's dialect, its state and results in PostgreSQL",
        discussion: """
        Runs ksqlDB statements from -f FILE, -e or stdin (on a terminal, a \
        prompt; 'exit' leaves): CREATE STREAM|TABLE over topics, CREATE STREAM|TABLE … AS SELECT (persistent queries), \
        pull queries on their tables, INSERT INTO … VALUES|SELECT, SHOW, DESCRIBE, \
        ALTER, DROP, TERMINATE, SET. \
        Statements end with ';'; '--' starts a comment; a '\\' at the end \
        of a line continues it.

        The catalog lives in PostgreSQL (--state-schema, default pgk_sql), so \
        statements survive restarts. Each CREATE TABLE … AS SELECT keeps its \
        rows in a PostgreSQL table named after it in lower case, queryable \
        with any SQL; its changelog goes to its topic (KAFKA_TOPIC, or the \
        upper-cased name). Filters, projections, joins and aggregates run \
        inside PostgreSQL over the query's state tables.

        Formats: JSON, AVRO (Confluent framing; --registry), DELIMITED and \
        KAFKA values; KAFKA, JSON, DELIMITED and AVRO keys (several key columns \
        in all but KAFKA). Records that cannot be decoded or \
        do not fit a column go to the dead_letters table of the state schema.
        """,
        options: [file.spec, execute.spec, runAfter.spec, untilEnd.spec, stateSchema.spec, output.spec],
        subcommands: [runSpec],
        examples: [
            Example("pgk sql -f pipeline.sql", "Create the streams, tables and queries of a file."),
            Example("pgk sql -f pipeline.sql --run", "Create them, then run the queries until Ctrl-C."),
            Example(#"pgk sql -e "SELECT * FROM research_ave_boost WHERE research = 1;""#,
                    "A pull query, answered from PostgreSQL."),
            Example("pgk sql -e 'SHOW QUERIES;' -o json", "The persistent queries as JSON."),
        ],
        run: { invocation in try runStatements(invocation) })

    static func registry(_ invocation: Invocation) throws -> SchemaRegistryClient? {
        guard let url = invocation.globals.registry else { return nil }
        do {
            return try SchemaRegistryClient(url: url, tls: invocation.globals.registryTLS)
        } catch {
            throw invocation.usageError("--registry: \(error)")
        }
    }

    private static func runStatements(_ invocation: Invocation) throws -> Int32 {
        var scripts: [(name: String, text: String)] = []
        for path in invocation[file] {
            let text = path == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                                   : try String(contentsOfFile: path, encoding: .utf8)
            scripts.append((path, text))
        }
        if let statements = invocation[execute] { scripts.append(("-e", statements)) }
        let interactive = scripts.isEmpty && !invocation[runAfter] && isatty(0) != 0
        if scripts.isEmpty && !invocation[runAfter] && !interactive {
            scripts.append(("stdin", String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)))
        }
        var parsed: [ParsedStatement] = []
        for script in scripts {
            do {
                parsed += try SQLParser.parseScript(script.text)
            } catch let error as SQLSyntaxError {
                throw RuntimeError("\(script.name): \(error)")
            }
        }
        let registry = try registry(invocation)
        let schema = invocation[stateSchema]
        let store = try CatalogStore(connection: PostgresConnection(conninfo: invocation.globals.database, applicationName: "pgk sql"),
                                     schema: schema)
        try store.prepare()
        let session = SQLSession(store: store, kafka: invocation.kafkaConfig, registry: registry,
                                 output: invocation.output, format: invocation[output], stop: invocation.stop)
        if interactive { return prompt(session) }
        for statement in parsed { try session.execute(statement) }
        guard invocation[runAfter] else { return ExitStatus.ok }
        return try SQLRun(conninfo: invocation.globals.database, schema: schema, kafka: invocation.kafkaConfig,
                          registry: registry, untilEnd: invocation[untilEnd], only: [], stop: invocation.stop).run()
    }

    /// The prompt on a terminal, as ksql's CLI: statements run when a line
    /// ends with ';'; an error is printed and the session goes on; `exit`,
    /// `quit` or end of input leave.
    private static func prompt(_ session: SQLSession) -> Int32 {
        var pending = ""
        while true {
            StandardError.write(pending.isEmpty ? "pgk sql> " : "      -> ")
            guard let line = readLine(strippingNewline: true) else { break }
            let word = line.trimmingCharacters(in: .whitespaces).lowercased()
            if pending.isEmpty && (word == "exit" || word == "quit" || word == "exit;" || word == "quit;") { break }
            pending += line + "\n"
            guard line.trimmingCharacters(in: .whitespaces).hasSuffix(";") else { continue }
            defer { pending = "" }
            do {
                for statement in try SQLParser.parseScript(pending) { try session.execute(statement) }
            } catch {
                StandardError.write("pgk: error: \(error)\n")
            }
        }
        return ExitStatus.ok
    }
}
