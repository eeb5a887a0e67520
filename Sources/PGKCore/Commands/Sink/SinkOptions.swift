import Foundation

extension SinkCommand {
    /// `pgk sink`'s options, each declared and decoded once.
    enum Options {
        static let topic: Option<[String]> = .list("topic", short: "t", name: "TOPIC",
                                       help: "Topic to consume (repeatable); a leading ^ makes it a regex")
        static let table: Option<QualifiedName?> = .parsed("table", name: "[SCHEMA.]TABLE",
                                         help: "Target table (default: the topic, non-identifier characters as _)",
                                         QualifiedName.parse)
        static let map: Option<String> = .text("map", aliases: ["lookup"], name: "NAME|FILE",
                                     help: "json, string, columns, or a YAML map", default: "json")
        static let packing: Option<Packing> = .choice("packing", name: "FORMAT",
                                           help: "How values are encoded (avro: Confluent framing, --registry)",
                                           default: .json, only: [.json, .msgpack, .avro])
        static let keyPacking: Option<KeyPacking> = .choice("key-packing", name: "FORMAT",
                                              help: "How keys are encoded; string is UTF-8 text", default: .string)
        static let group: Option<String?> = .text("group", short: "g", aliases: ["consumer"], name: "GROUP",
                                       help: "Consumer group (default: pgk-sink-TABLE)")
        static let offset: Option<StartPosition> = .choice("offset",
                                          aliases: ["smallest": "earliest", "largest": "latest",
                                                    "beginning": "earliest", "end": "latest"],
                                          name: "WHERE", help: "Where to start partitions with no stored offset",
                                          default: .earliest)
        static let mode: Option<SinkMode?> = .choice("mode", name: "MODE",
                                        help: "insert, upsert, update or ignore (default: upsert with key columns)")
        static let keyColumns: Option<[String]?> = .parsed("key-columns", name: "A,B",
                                              help: "Conflict and tombstone key columns (default: the map's)",
                                              parseColumnList)
        static let onTombstone: Option<TombstonePolicy?> = .choice("on-tombstone", name: "ACTION",
                                               help: "Null values: delete the keyed row (default with keys), skip, fail")
        static let create: Option<Bool?> = .negatableFlag("create", help: "Create the table from the map if missing (default)")
        static let evolve: Option<Bool> = .flag("evolve", help: "columns map: add columns for new fields")
        static let drop: Option<Bool> = .destructiveFlag("drop", help: "Drop the table first and forget the group's offsets")
        static let truncate: Option<Bool> = .destructiveFlag(
            "truncate", help: "Empty the table first and forget the group's offsets")
        static let batchSize: Option<Int> = .integer("batch-size", 1...Int64.max,
                                              help: "Messages per transaction at most", default: 50_000)
        static let batchTimeout: Option<Int64> = .duration("batch-timeout", bareUnitMilliseconds: 1, name: "MS",
                                                  help: "Write a batch after this long even if not full",
                                                  default: "1000")
        static let coordinate: Option<SinkCoordination> = .choice("coordinate", name: "HOW",
                                              help: "Share partitions between instances: postgres leases or "
                                                  + "a kafka consumer group", default: .postgres)
        static let untilEnd: Option<Bool> = .flag("until-end", help: "Exit once every assigned partition is written to its end")
        static let maxMessages: Option<Int?> = .integer("max-messages", 1...Int64.max, help: "Exit after N messages")
        static let fromFile: Option<String?> = .path("from-file", aliases: ["datafile"],
                                          help: "Read NDJSON or a JSON array from FILE (- stdin), not Kafka")
        static let dryRun: Option<Bool> = .flag("dry-run", help: "Write nothing: print the DDL and the first mapped rows")
        static let onError: Option<ErrorPolicy> = .choice("on-error", name: "ACTION",
                                           help: "Bad messages: dead-letter, skip or fail", default: .deadLetter)
        static let deadLetter: Option<String?> = .text("dead-letter", name: "TABLE|topic:NAME",
                                            help: "Where bad messages go (default: TABLE_errors)")

        static let all: [OptionSpec] = [
            topic.spec, table.spec, map.spec, packing.spec, keyPacking.spec, group.spec, coordinate.spec, offset.spec,
            mode.spec,
            keyColumns.spec, onTombstone.spec, create.spec, evolve.spec, drop.spec, truncate.spec, batchSize.spec,
            batchTimeout.spec, untilEnd.spec, maxMessages.spec, fromFile.spec, dryRun.spec, onError.spec,
            deadLetter.spec,
            MetricsOptions.metrics.spec,
        ]

        /// `a, b` → ["a", "b"]; empty names are a usage error.
        @Sendable static func parseColumnList(_ text: String) throws -> [String] {
            let names = text.split(separator: ",")
                .map { String($0).trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty }) else {
                throw UsageError("needs column names separated by commas")
            }
            return names
        }
    }
}
