import Testing
@testable import PGKCore

/// The fixture's options, read back through their typed handles.
enum Fixture {
    static let count: Option<Int?> = .integer("count", short: "n", 1...Int64.max, help: "count")
    static let follow: Option<Bool> = .flag("follow", short: "f", help: "follow")
    static let offset: Option<String> = .text("offset", short: "o", name: "OFFSET", help: "offset",
                                              default: "beginning")
    static let packing: Option<Packing> = .choice("packing", aliases: ["mp": "msgpack"], name: "P", help: "packing",
                                                  default: .json, only: [.json, .msgpack])
    static let header: Option<[(key: String, value: String)]> = .keyValues("header", short: "H", name: "K=V",
                                                                            help: "header")
    static let timeout: Option<Int64?> = .duration("timeout", bareUnitMilliseconds: 1, name: "T", help: "timeout")
    static let topic: Option<[String]> = .list("topic", short: "t", name: "TOPIC", help: "topic", required: true)
    static let map: Option<String> = .text("map", aliases: ["lookup"], name: "MAP", help: "map", default: "json")
    static let create: Option<Bool?> = .negatableFlag("create", help: "create")
}

/// A small tree that exercises every parser feature without depending on
/// the real verbs.
let fixtureRoot = CommandSpec(
    name: "pgk", summary: "fixture",
    options: GlobalOptions.specs,
    subcommands: [
        CommandSpec(name: "topics", summary: "topics", subcommands: [
            CommandSpec(
                name: "tail", summary: "tail a topic",
                arguments: [ArgumentSpec("TOPIC", help: "topic")],
                options: [
                    Fixture.count.spec, Fixture.follow.spec, Fixture.offset.spec, Fixture.packing.spec,
                    Fixture.header.spec, Fixture.timeout.spec,
                ],
                run: { _ in 0 }),
        ]),
        CommandSpec(
            name: "sink", summary: "sink",
            options: [
                Fixture.topic.spec, Fixture.map.spec, Fixture.create.spec,
            ],
            run: { _ in 0 }),
        CommandSpec(
            name: "run", summary: "run",
            arguments: [ArgumentSpec("COMMAND", help: "cmd", arity: .oneOrMore, capturesRest: true)],
            run: { _ in 0 }),
    ])

@Suite struct ParserTests {
    let parser = ArgumentParser(root: fixtureRoot)

    func invocation(_ args: [String], env: [String: String] = [:]) throws -> Invocation {
        guard case .run(let invocation) = try parser.parse(args, environment: env, stop: StopToken()) else {
            throw RuntimeError("not a run outcome for \(args)")
        }
        return invocation
    }

    func usageError(_ args: [String], env: [String: String] = [:]) -> UsageError? {
        do {
            _ = try parser.parse(args, environment: env, stop: StopToken())
            return nil
        } catch {
            return error
        }
    }

    @Test func acceptsEveryValueSpelling() throws {
        for args in [["--count=5"], ["--count", "5"], ["-n", "5"], ["-n5"]] {
            let parsed = try invocation(["topics", "tail", "T"] + args)
            #expect(parsed[Fixture.count] == 5, "\(args)")
        }
    }

    @Test func bundlesShortFlagsWithATrailingValue() throws {
        let parsed = try invocation(["topics", "tail", "-fvvn7", "T"])
        #expect(parsed[Fixture.follow])
        #expect(parsed.globals.verbosity == 2)
        #expect(parsed[Fixture.count] == 7)
        #expect(parsed.argument("TOPIC") == "T")
    }

    @Test func globalOptionsWorkBeforeAndAfterTheVerb() throws {
        let before = try invocation(["-b", "h1:9092", "topics", "tail", "T"])
        let after = try invocation(["topics", "tail", "T", "-b", "h2:9092"])
        #expect(before.globals.brokers == "h1:9092")
        #expect(after.globals.brokers == "h2:9092")
        #expect(try invocation(["topics", "tail", "T"]).globals.brokers == "localhost:9092")
    }

    @Test func optionValuesMayStartWithADash() throws {
        #expect(try invocation(["topics", "tail", "T", "-o", "-10"])[Fixture.offset] == "-10")
    }

    @Test func defaultsApplyAndIsSetTellsThemApart() throws {
        let parsed = try invocation(["topics", "tail", "T"])
        #expect(parsed[Fixture.offset] == "beginning")
        #expect(parsed.given("offset").isEmpty)
    }

    @Test func repeatableOptionsAccumulateAndOthersKeepTheLast() throws {
        let parsed = try invocation(["topics", "tail", "T", "-H", "a=1", "-Hb=2", "-n", "1", "-n", "2"])
        #expect(parsed[Fixture.header].map(\.key) == ["a", "b"])
        #expect(parsed[Fixture.count] == 2)
    }

    @Test func choicesResolveAliases() throws {
        #expect(try invocation(["topics", "tail", "T", "--packing", "mp"])[Fixture.packing] == .msgpack)
        let error = usageError(["topics", "tail", "T", "--packing", "jsn"])
        #expect(error?.message.contains("expected one of json, msgpack") == true)
        #expect(error?.suggestion == "did you mean 'json'?")
    }

    @Test func integerRangesAreEnforced() {
        #expect(usageError(["topics", "tail", "T", "-n", "0"])?.message.contains("at least 1") == true)
        #expect(usageError(["topics", "tail", "T", "-n", "x"]) != nil)
    }

    @Test func durationsAcceptUnits() throws {
        #expect(try invocation(["topics", "tail", "T", "--timeout", "2s"])[Fixture.timeout] == 2000)
        #expect(try invocation(["topics", "tail", "T", "--timeout", "250"])[Fixture.timeout] == 250)
        #expect(usageError(["topics", "tail", "T", "--timeout", "soon"]) != nil)
    }

    @Test func keyValueValuesNeedAnEqualsSign() {
        #expect(usageError(["topics", "tail", "T", "-H", "novalue"])?.message.contains("KEY=VALUE") == true)
        #expect(usageError(["-X", "nokey"]) != nil)
    }

    @Test func unknownOptionsSuggestTheClosestName() {
        let error = usageError(["topics", "tail", "T", "--folow"])
        #expect(error?.message == "unknown option '--folow'")
        #expect(error?.suggestion == "did you mean '--follow'?")
        #expect(error?.commandPath == ["topics", "tail"])
    }

    @Test func anOptionOfAnotherCommandIsNamed() {
        let error = usageError(["topics", "tail", "T", "--lookup", "x"])
        #expect(error?.suggestion == "'--lookup' is an option of 'pgk sink'")
        let other = usageError(["sink", "-t", "x", "--packing", "json"])
        #expect(other?.suggestion == "'--packing' is an option of 'pgk topics tail'")
    }

    @Test func unknownShortOptionSuggestsTheOtherCase() {
        let error = usageError(["topics", "tail", "T", "-F"])
        #expect(error?.message == "unknown option '-F'")
        #expect(error?.suggestion?.contains("-f") == true)
    }

    @Test func unknownCommandsSuggest() {
        let error = usageError(["topics", "tial"])
        #expect(error?.message == "unknown command 'tial' for 'pgk topics'")
        #expect(error?.suggestion == "did you mean 'tail'?")
    }

    @Test func aGroupWithoutACommandIsAUsageError() {
        #expect(usageError(["topics"])?.message.contains("needs a command: tail") == true)
    }

    @Test func missingAndExtraArgumentsAreReported() {
        #expect(usageError(["topics", "tail"])?.message == "missing argument TOPIC for 'pgk topics tail'")
        #expect(usageError(["topics", "tail", "a", "b"])?.message == "unexpected argument 'b' for 'pgk topics tail'")
    }

    @Test func helpWinsAnywhereBeforeDoubleDash() throws {
        for args in [["topics", "tail", "--help"], ["topics", "-h", "tail"], ["topics", "tail", "--bogus", "-h"]] {
            guard case .help(let path) = try parser.parse(args, stop: StopToken()) else {
                Issue.record("no help for \(args)")
                continue
            }
            #expect(path == ["topics", "tail"], "\(args)")
        }
        let after = try invocation(["run", "--", "echo", "--help"])
        #expect(after.arguments("COMMAND") == ["echo", "--help"])
    }

    @Test func capturingArgumentTakesTheRestVerbatim() throws {
        let parsed = try invocation(["run", "psql", "-c", "select 1", "-v"])
        #expect(parsed.arguments("COMMAND") == ["psql", "-c", "select 1", "-v"])
        #expect(parsed.globals.verbosity == 0)
    }

    @Test func environmentFallsBackPerOption() throws {
        let env = ["PGK_TOPIC": "a,b", "PGK_MAP": "StringMap", "PGK_CREATE": "no", "PGK_BROKERS": "envhost:1"]
        let parsed = try invocation(["sink"], env: env)
        #expect(parsed[Fixture.topic] == ["a", "b"])
        #expect(parsed[Fixture.map] == "StringMap")
        #expect(parsed[Fixture.create] == false)
        #expect(parsed.globals.brokers == "envhost:1")
        let cli = try invocation(["sink", "-t", "c", "--create"], env: env)
        #expect(cli[Fixture.topic] == ["c"])
        #expect(cli[Fixture.create] == true)
    }

    @Test func databaseFallsBackToDatabaseURL() throws {
        let parsed = try invocation(["sink", "-t", "x"], env: ["DATABASE_URL": "postgres://u@h/db"])
        #expect(parsed.globals.database == "postgres://u@h/db")
        let both = try invocation(["sink", "-t", "x"], env: ["DATABASE_URL": "a", "PGK_DATABASE": "b"])
        #expect(both.globals.database == "b")
    }

    @Test func invalidEnvironmentValuesNameTheVariable() {
        let error = usageError(["topics", "tail", "T"], env: ["PGK_COUNT": "lots"])
        #expect(error?.message.contains("environment variable PGK_COUNT") == true)
    }

    @Test func requiredOptionsMentionTheirVariable() {
        #expect(usageError(["sink"])?.message == "missing required option --topic (or set PGK_TOPIC)")
    }

    @Test func aliasesAndNegationsWork() throws {
        let parsed = try invocation(["sink", "-t", "x", "--lookup", "StringMap", "--no-create"])
        #expect(parsed[Fixture.map] == "StringMap")
        #expect(parsed[Fixture.create] == false)
        #expect(try invocation(["sink", "-t", "x"])[Fixture.create] == nil)
    }

    @Test func versionOnlyAtTheRoot() throws {
        guard case .version = try parser.parse(["--version"], stop: StopToken()) else {
            Issue.record("--version not recognised")
            return
        }
        #expect(usageError(["topics", "tail", "T", "--version"]) != nil)
    }

    @Test func suggestionDistanceCountsTranspositionsOnce() {
        #expect(Suggestions.distance("tial", "tail") == 1)
        #expect(Suggestions.distance("", "abc") == 3)
        #expect(Suggestions.closest(to: "zzzzzz", among: ["tail", "list"]) == nil)
    }
}
