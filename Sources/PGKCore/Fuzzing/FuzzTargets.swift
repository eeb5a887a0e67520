import Foundation

/// The entry points that `pgk-fuzz` (libFuzzer) and `FuzzCorpusTests`
/// (corpus replay) feed bytes into. Each target runs one untrusted-input
/// parser the way pgk runs it; thrown errors are expected outcomes, and
/// only a trap, a sanitizer report, a hang or a runaway allocation is a
/// finding. The checks that follow a successful parse (round trips that
/// must succeed) are what pgk's own callers rely on.
public enum FuzzTargets {
    /// Target names, as `PGK_FUZZ_TARGET`, `scripts/fuzz` and the corpus
    /// directories (`fuzz/corpus/<name>/`) spell them.
    public static var names: [String] { targets.map(\.name) }

    /// Runs target `name` over one input; false when no target has that name.
    @discardableResult
    public static func run(_ name: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let target = targets.first(where: { $0.name == name }) else { return false }
        target.body(Array(bytes))
        return true
    }

    static let targets: [(name: String, body: @Sendable ([UInt8]) -> Void)] = [
        ("json", json),
        ("msgpack", msgpack),
        ("avro", AvroFuzzing.avro),
        ("confluent", AvroFuzzing.confluent),
        ("pgoutput", pgoutput),
        ("copy-text", copyText),
        ("pg-array", pgArray),
        ("sink-map", sinkMap),
        ("cli", cli),
    ]

    /// JSON.read with both option sets, and the sink's JSONScanner. What the
    /// scanner accepts (after normalizing) the reader must accept too, and
    /// whatever the reader builds must survive its own writer.
    static func json(_ bytes: [UInt8]) {
        let strict = try? JSON.read(bytes)
        let lenient = try? JSON.read(bytes, options: JSON.ReadOptions(nonFiniteAsNull: true, preserveNumberText: true))
        for result in [strict, lenient].compactMap({ $0 }) {
            let text = JSON.encodeBytes(result.value)
            _ = JSON.encode(result.value, pretty: true)
            guard (try? JSON.decode(text, options: JSON.ReadOptions(preserveNumberText: true))) != nil else {
                fatalError("JSON writer output does not read back: \(String(decoding: text, as: UTF8.self))")
            }
        }
        bytes.withUnsafeBytes { raw in
            _ = try? JSONScanner.topLevelElements(raw)
            guard (try? JSONScanner.scan(raw)) != nil else { return }
            var normalized: [UInt8] = []
            JSONScanner.appendNormalized(raw, to: &normalized)
            guard (try? JSON.read(normalized)) != nil else {
                fatalError("scanner accepted what the reader rejects: \(String(decoding: normalized, as: UTF8.self))")
            }
        }
    }

    /// MsgPack.decode, then the value written back as msgpack and JSON, as
    /// `topics tail` and the sinks do.
    static func msgpack(_ bytes: [UInt8]) {
        guard let value = try? MsgPack.decode(bytes) else { return }
        let again = MsgPack.encode(value)
        guard (try? MsgPack.decode(again)) != nil else { fatalError("msgpack re-encoding does not decode") }
        _ = JSON.encodeBytes(value)
    }

    /// ReplicationMessage.parse of a CopyData payload and PgOutputDecoder on
    /// its XLogData (or the whole input as a bare plugin message); each text
    /// column is mapped as every value kind the WAL streamer uses.
    static func pgoutput(_ bytes: [UInt8]) {
        var offsets = [0]
        if case .xlogData(_, _, _, let payload)? = try? ReplicationMessage.parse(bytes) { offsets.append(payload) }
        for offset in offsets {
            guard let message = try? PgOutputDecoder.decode(bytes, offset: offset) else { continue }
            let tuples: [TupleData]
            switch message {
            case .insert(_, let new): tuples = [new]
            case .update(_, let old, _, let new): tuples = [old, new].compactMap { $0 }
            case .delete(_, let old, _): tuples = [old]
            default: tuples = []
            }
            for tuple in tuples {
                for case .text(let range) in tuple.columns {
                    for kind in PgValueKind.fuzzKinds { _ = PgValueMapper.value(kind, tuple.storage[range]) }
                }
            }
        }
    }

    /// Each line through CopyTextDecoder; decoded fields re-encoded must
    /// decode to the same fields.
    static func copyText(_ bytes: [UInt8]) {
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            guard let fields = try? CopyTextDecoder.decodeFields(Array(line)) else { continue }
            var encoder = CopyTextEncoder()
            for field in fields {
                if let field { encoder.append(field: field) } else { encoder.appendNull() }
            }
            encoder.endRow()
            guard let again = try? CopyTextDecoder.decodeFields(encoder.buffer), again == fields else {
                fatalError("COPY text round trip changed \(fields)")
            }
        }
    }

    /// PgArrayText with both delimiters, PostgresTextArray (whose literal
    /// must parse back to the same elements), and the value mapper.
    static func pgArray(_ bytes: [UInt8]) {
        _ = try? PgArrayText.parse(bytes, delimiter: UInt8(ascii: ","))
        _ = try? PgArrayText.parse(bytes, delimiter: UInt8(ascii: ";"))
        let elements = PostgresTextArray.parse(String(decoding: bytes, as: UTF8.self))
        guard PostgresTextArray.parse(PostgresTextArray.literal(elements)) == elements else {
            fatalError("text[] literal does not parse back to \(elements)")
        }
        for kind in PgValueKind.fuzzKinds { _ = PgValueMapper.value(kind, bytes[...]) }
    }

    /// The sink's YAML map loader, on the file's text.
    static func sinkMap(_ bytes: [UInt8]) {
        _ = try? MapFile.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.yaml", name: "fuzz")
    }

    /// The command line parser over the real command table. The input is
    /// split on NUL or newline into argv; `PGK_…=value` tokens become
    /// environment variables instead.
    static func cli(_ bytes: [UInt8]) {
        var arguments: [String] = []
        var environment: [String: String] = [:]
        for token in bytes.split(omittingEmptySubsequences: false, whereSeparator: { $0 == 0 || $0 == 10 }) {
            let text = String(decoding: token, as: UTF8.self)
            if text.hasPrefix("PGK_"), let equals = text.firstIndex(of: "=") {
                environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
            } else {
                arguments.append(text)
            }
        }
        let parser = ArgumentParser(root: CommandTable.root)
        do {
            switch try parser.parse(arguments, environment: environment, stop: StopToken()) {
            case .help(let path): _ = HelpRenderer.render(root: CommandTable.root, path: path)
            case .version: break
            case .run(let invocation): _ = invocation.globals.logLevel
            }
        } catch {
            _ = error.description
        }
    }
}

extension PgValueKind {
    /// Every scalar kind, and arrays of a few, for the mapper.
    static let fuzzKinds: [PgValueKind] = {
        let scalars: [PgValueKind] = [.integer, .float, .numeric, .boolean, .json, .bytea, .timestamp, .timestamptz, .text]
        return scalars + [.array(element: .integer, delimiter: UInt8(ascii: ",")),
                          .array(element: .json, delimiter: UInt8(ascii: ",")),
                          .array(element: .timestamptz, delimiter: UInt8(ascii: ",")),
                          .array(element: .text, delimiter: UInt8(ascii: ";"))]
    }()
}
