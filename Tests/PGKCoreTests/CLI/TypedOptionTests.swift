import Testing
@testable import PGKCore

/// The real command table through typed options: values are decoded once,
/// bad ones are usage errors, and the registry rule is the same everywhere.
@Suite struct TypedOptionTests {
    let parser = ArgumentParser(root: CommandTable.root)

    func invocation(_ args: [String], env: [String: String] = [:]) throws -> Invocation {
        guard case .run(let invocation) = try parser.parse(args, environment: env, stop: StopToken()) else {
            throw RuntimeError("not a run outcome for \(args)")
        }
        return invocation
    }

    func usageMessage(_ args: [String]) -> String? {
        do {
            _ = try parser.parse(args, environment: [:], stop: StopToken())
            return nil
        } catch {
            return error.message
        }
    }

    @Test func avroWithoutOrWithABadRegistryIsAUsageErrorInEveryVerb() throws {
        let verbs: [[String]] = [
            ["sink", "-t", "x", "--packing", "avro"],
            ["cdc", "wal", "run", "--packing", "avro"],
            ["cdc", "outbox", "run", "--packing", "avro"],
            ["topics", "tail", "t", "--packing", "avro"],
        ]
        for args in verbs {
            let missing = try invocation(args)
            #expect(throws: UsageError.self, "\(args)") { try missing.registryClient(for: [.avro]) }
            let bad = try invocation(args + ["--registry", "ftp://registry:8081"])
            #expect(throws: UsageError.self, "\(args)") { try bad.registryClient(for: [.avro]) }
            let good = try invocation(args + ["--registry", "http://localhost:8081"])
            #expect(try good.registryClient(for: [.avro]) != nil)
            #expect(try good.registryClient(for: [.json]) == nil)
        }
    }

    @Test func parsedValuesAreCheckedWhileParsing() {
        #expect(usageMessage(["sink", "-t", "x", "--table", "\"unterminated"])?.contains("--table") == true)
        #expect(usageMessage(["cdc", "wal", "run", "--key-columns", "orders"])?
            .contains("expected TABLE:COLUMN") == true)
        #expect(usageMessage(["dev", "up", "--create-topic", "t:0"])?.contains("NAME:PARTITIONS") == true)
        #expect(usageMessage(["topics", "tail", "t", "-o", "soon"]) != nil)
    }

    @Test func typedValuesComeBackDecoded() throws {
        let sink = try invocation(["sink", "-t", "a", "-t", "b", "--table", "s.t", "--offset", "largest",
                                   "--key-columns", "id, region", "--batch-timeout", "2s", "--no-create"])
        #expect(sink[SinkCommand.Options.topic] == ["a", "b"])
        #expect(sink[SinkCommand.Options.table] == QualifiedName(schema: "s", name: "t"))
        #expect(sink[SinkCommand.Options.offset] == .latest)
        #expect(sink[SinkCommand.Options.keyColumns] == ["id", "region"])
        #expect(sink[SinkCommand.Options.batchTimeout] == 2000)
        #expect(sink[SinkCommand.Options.create] == false)
        #expect(sink[SinkCommand.Options.batchSize] == 50_000)
        let wal = try invocation(["cdc", "wal", "run", "--key-columns", "orders:a,b", "--heartbeat", "3"])
        let keys = wal[WALCommands.RunOptions.keyColumns]
        #expect(keys.first?.table == QualifiedName(schema: "public", name: "orders"))
        #expect(keys.first?.columns == ["a", "b"])
        #expect(wal[WALCommands.RunOptions.heartbeat] == 3000)
        #expect(wal[WALCommands.RunOptions.tombstones] == nil)
    }

    @Test func destructiveFlagsIgnoreTheEnvironment() throws {
        let env = ["PGK_DROP": "1", "PGK_TRUNCATE": "true", "PGK_FORCE": "yes", "PGK_EVOLVE": "1"]
        let sink = try invocation(["sink", "-t", "x"], env: env)
        #expect(sink[SinkCommand.Options.drop] == false)
        #expect(sink[SinkCommand.Options.truncate] == false)
        #expect(sink[SinkCommand.Options.evolve] == true, "non-destructive flags still read the environment")
        #expect(try invocation(["cdc", "outbox", "uninstall"], env: env)[OutboxCommands.force] == false)
        #expect(try invocation(["sink", "-t", "x", "--drop"])[SinkCommand.Options.drop] == true)
        #expect(SinkCommand.Options.drop.spec.environmentVariables.isEmpty)
    }

    @Test func anOutboxPackingTypoIsAUsageErrorNotJSON() {
        #expect(usageMessage(["cdc", "outbox", "run", "--packing", "avor"])?.contains("expected one of") == true)
    }
}
