import Foundation
import Synchronization

/// A kafkaesk schema id, `Name:version`: what an envelope's `schema` holds.
struct SchemaID: Hashable, Sendable, CustomStringConvertible {
    var name: String
    var version: Int

    var description: String { "\(name):\(version)" }

    /// Parses `Name:1`. The name must be usable as a file name (no `/`, not
    /// empty, no leading dot); the version is a positive decimal integer.
    static func parse(_ text: String) throws(SchemaCatalogError) -> SchemaID {
        guard let colon = text.lastIndex(of: ":") else { throw .badID(text, "expected NAME:VERSION") }
        let name = String(text[..<colon])
        let versionText = text[text.index(after: colon)...]
        try checkName(name, in: text)
        guard !versionText.isEmpty, versionText.utf8.allSatisfy({ $0 &- 48 < 10 }), versionText.utf8.count <= 9,
              let version = Int(versionText), version > 0 else {
            throw .badID(text, "the version must be a positive integer")
        }
        return SchemaID(name: name, version: version)
    }

    static func checkName(_ name: String, in text: String) throws(SchemaCatalogError) {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"), !name.contains("\0") else {
            throw .badID(text, "the name must be a non-empty file name (no '/', no leading '.')")
        }
    }

    /// `NAME.VERSION.json`, the file that holds this schema in a catalog.
    var fileName: String { "\(name).\(version).json" }
}

/// Why a schema could not be found or used. Each case names the path tried.
enum SchemaCatalogError: Error, CustomStringConvertible, Equatable {
    case badID(String, String)
    case missingDirectory(String)
    case missingFile(SchemaID, String)
    case noVersions(String, String)
    case unreadable(String, String)
    case notJSON(String, String)
    case invalidSchema(String, String)

    var description: String {
        switch self {
        case .badID(let text, let reason): return "bad schema id '\(text)': \(reason)"
        case .missingDirectory(let path):
            return "schema directory \(path) does not exist (set --schemas DIR or PGK_SCHEMAS)"
        case .missingFile(let id, let path): return "unknown schema \(id): no file \(path)"
        case .noVersions(let name, let pattern): return "unknown schema \(name): no file matches \(pattern)"
        case .unreadable(let path, let reason): return "cannot read schema \(path): \(reason)"
        case .notJSON(let path, let reason): return "schema \(path) is not valid JSON: \(reason)"
        case .invalidSchema(let path, let reason): return "schema \(path) is not a valid JSON Schema: \(reason)"
        }
    }
}

/// JSON Schema documents in one directory, one file per `NAME:VERSION`:
///
///     schemas/Order.1.json      → Order:1
///     schemas/Order.2.json      → Order:2
///     schemas/common.json       → only reachable by `$ref: "common.json#/..."`
///
/// Each schema is registered under its `file://` URI, so a `$ref` to
/// another file of the directory (`"$ref": "Money.1.json"`) resolves by
/// reading that file. Schemas are compiled once and cached; lookups are
/// safe from several threads.
final class SchemaCatalog: Sendable {
    let directory: String
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var store: JSONSchemaStore
        var compiled: [SchemaID: CompiledSchema] = [:]
        var documents: [SchemaID: Value] = [:]
    }

    /// Opens a catalog; a missing directory is an error now, not at the
    /// first event.
    init(directory: String, options: JSONSchemaStore.Options = .init()) throws(SchemaCatalogError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingDirectory(directory)
        }
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.directory = directory
        // The loader serves `$ref`s to sibling files; a file that cannot be
        // read or parsed simply is not there for the store, which then names
        // the reference it could not resolve.
        let store = JSONSchemaStore(options: options) { uri in
            guard uri.hasPrefix("file://") else { return nil }
            let path = String(uri.dropFirst("file://".count))
            guard path.hasPrefix(absolute + "/"), let data = FileManager.default.contents(atPath: path) else { return nil }
            return try? JSON.decode([UInt8](data))
        }
        state = Mutex(State(store: store))
    }

    /// Where schemas are looked for when neither `--schemas` nor
    /// `PGK_SCHEMAS` says otherwise.
    static let defaultDirectory = "./schemas"

    func path(of id: SchemaID) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + id.fileName
    }

    /// The compiled schema for `id`, compiling it on first use.
    func schema(_ id: SchemaID) throws(SchemaCatalogError) -> CompiledSchema {
        let path = path(of: id)
        return try state.withLock { (state) throws(SchemaCatalogError) -> CompiledSchema in
            if let found = state.compiled[id] { return found }
            guard FileManager.default.fileExists(atPath: path) else { throw .missingFile(id, path) }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .unreadable(path, "permission denied or not a regular file")
            }
            let document: Value
            do throws(CodecError) {
                document = try JSON.decode([UInt8](data))
            } catch {
                throw .notJSON(path, error.description)
            }
            let uri = "file://" + URL(fileURLWithPath: path).standardizedFileURL.path
            do throws(SchemaError) {
                try state.store.register(document, uri: uri)
                let compiled = try state.store.compile(uri: uri)
                state.compiled[id] = compiled
                state.documents[id] = document
                return compiled
            } catch {
                throw .invalidSchema(path, error.description)
            }
        }
    }

    /// The JSON document of a schema `schema(_:)` has compiled.
    func document(_ id: SchemaID) throws(SchemaCatalogError) -> Value {
        _ = try schema(id)
        return state.withLock { $0.documents[id]! }
    }

    /// The compiled schema an envelope's `schema` text names.
    func schema(named text: String) throws(SchemaCatalogError) -> (SchemaID, CompiledSchema) {
        let id = try SchemaID.parse(text)
        return (id, try schema(id))
    }

    /// Every version of `name` the directory holds, lowest first; for
    /// filters such as `--schema NAME` that accept all versions.
    func versions(of name: String) throws(SchemaCatalogError) -> [SchemaID] {
        try SchemaID.checkName(name, in: name)
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .unreadable(directory, "\(error.localizedDescription)")
        }
        let prefix = name + "."
        var found: [SchemaID] = []
        for file in files where file.hasPrefix(prefix) && file.hasSuffix(".json") {
            let middle = file.dropFirst(prefix.count).dropLast(".json".count)
            guard !middle.isEmpty, middle.utf8.allSatisfy({ $0 &- 48 < 10 }), let version = Int(middle), version > 0,
                  String(version) == middle else { continue }
            found.append(SchemaID(name: name, version: version))
        }
        return found.sorted { $0.version < $1.version }
    }

    /// `NAME:VERSION` as one id, or `NAME` as all its versions (an error
    /// when there are none, naming the directory).
    func resolveFilter(_ text: String) throws(SchemaCatalogError) -> [SchemaID] {
        if text.contains(":") { return [try SchemaID.parse(text)] }
        let all = try versions(of: text)
        guard !all.isEmpty else { throw .noVersions(text, path(ofAnyVersion: text)) }
        return all
    }

    private func path(ofAnyVersion name: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + name + ".*.json"
    }
}
