extension TopicsCommand {
    /// `pgk topics tail`'s options.
    enum TailOptions {
        static let count: Option<Int?> = .integer("count", short: "n", 1...Int64.max, help: "Stop after N messages")
        static let follow: Option<Bool> = .flag("follow", short: "f", help: "Keep waiting for new messages")
        static let offset: Option<KafkaStartOffset> = .parsed("offset", short: "o", name: "OFFSET",
                                                        help: "Where to start: " + OffsetSpec.help,
                                                        default: "beginning") { try OffsetSpec.parse($0) }
        static let partition: Option<[Int]> = .integers("partition", short: "p",
                                                        help: "Only this partition (repeatable)")
        static let format: Option<MessageFormat?> = .parsed("format", name: "FORMAT",
                                                            help: "kcat-style output format (default '%s\\n')") {
            try MessageFormat($0)
        }
        static let json: Option<Bool> = .flag(
            "json", help: "One JSON object per message: topic, partition, offset, timestamp, headers, key, value")
        static let packing: Option<Packing> = .choice("packing", name: "PACKING",
                                                      help: "How values are decoded for --json and %s", default: .json)
        static let keyPacking: Option<Packing> = .choice("key-packing", name: "PACKING",
                                                         help: "How keys are decoded for --json and %k", default: .string)
    }

    /// `pgk topics produce`'s options.
    enum ProduceOptions {
        static let file: Option<String?> = .path("file", short: "F", help: "Read lines from FILE instead of stdin")
        static let keyDelimiter: Option<String?> = .text(
            "key-delimiter", short: "K", name: "DELIM", help: "Split each line at the first DELIM into key and value")
        static let header: Option<[(key: String, value: String)]> = .keyValues(
            "header", short: "H", help: "Header on every message (repeatable)", environment: .none)
        static let nullEmpty: Option<Bool> = .flag(
            "null-empty", short: "Z", help: "Send empty values (and keys) as NULL: empty values become tombstones")
        static let partition: Option<Int?> = .integer(
            "partition", short: "p", help: "Write to this partition (default: the partitioner's choice)")
        static let packing: Option<Packing> = .choice(
            "packing", name: "PACKING",
            help: "raw and string send lines as they are (string checks UTF-8); json checks "
                + "each line; msgpack and avro encode each JSON line",
            default: .raw)
        static let schema: Option<String?> = .text(
            "schema", name: "FILE|ID",
            help: "Avro schema file (registered as TOPIC-value) or registry id, for --packing avro")
    }
}
