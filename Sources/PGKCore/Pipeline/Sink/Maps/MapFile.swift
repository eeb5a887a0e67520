import Foundation
import Yams

/// A YAML map file that could not be used; `description` names the file
/// and, when known, the line and column.
struct MapFileError: Error, CustomStringConvertible, Sendable {
    var path: String
    var line: Int?
    var column: Int?
    var message: String

    var description: String {
        var place = path
        if let line { place += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return "map \(place): \(message)"
    }
}

/// Reads YAML map files, strictly: unknown keys, missing types and
/// references to undeclared columns are errors that say where they are.
///
///     description: …                # optional
///     columns:
///       - name: time
///         type: timestamptz
///         expression: to_timestamp((value->>'time')::float8)
///         default: now()            # optional SQL default
///         not_null: true            # optional
///         primary_key: true         # optional
///         identity: true            # optional, bigint identity
///         index: true               # optional; or an access method: gist
///         unique: true              # optional single-column unique
///     unique: [[name, time]]        # unique constraints
///     indexes: [{columns: [geom], using: gist}, [time]]
///     conflict: [name, time]        # upsert conflict target
///     checks: [{name: has_name, expression: "value ? 'name'"}]
///     filter: value->>'kind' = 'feature'
enum MapFile {
    static func load(path: String) throws -> SinkMap {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MapFileError(path: path, message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MapFileError(path: path, message: "the file is not UTF-8 text")
        }
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try parse(text, path: path, name: name)
    }

    static func parse(_ text: String, path: String, name: String) throws -> SinkMap {
        if let (line, column) = YAMLNesting.tooDeep(text) {
            throw MapFileError(path: path, line: line, column: column,
                               message: "nested deeper than \(YAMLNesting.maxDepth) levels")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlFailure(error, path: path)
        }
        guard let root else { throw MapFileError(path: path, message: "the file is empty") }
        var reader = Reader(path: path)
        return try reader.map(root, name: name)
    }

    static func yamlFailure(_ error: YamlError, path: String) -> MapFileError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return MapFileError(path: path, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)")
        default:
            return MapFileError(path: path, message: "invalid YAML: \(error)")
        }
    }
}

private struct Reader {
    let path: String

    func fail(_ node: Node?, _ message: String) -> MapFileError {
        MapFileError(path: path, line: node?.mark?.line, column: node?.mark?.column, message: message)
    }

    /// The mapping's entries by key, refusing keys outside `allowed`.
    func entries(_ node: Node, what: String, allowed: [String]) throws -> [(key: String, keyNode: Node, value: Node)] {
        guard let mapping = node.mapping else { throw fail(node, "\(what) must be a mapping") }
        var result: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else { throw fail(keyNode, "\(what) keys must be plain names") }
            guard allowed.contains(key) else {
                let hint = Suggestions.closest(to: key, among: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                throw fail(keyNode, "unknown key '\(key)' in \(what)\(hint); allowed: \(allowed.joined(separator: ", "))")
            }
            if result.contains(where: { $0.0 == key }) { throw fail(keyNode, "duplicate key '\(key)' in \(what)") }
            result.append((key, keyNode, value))
        }
        return result
    }

    func text(_ node: Node, _ what: String) throws -> String {
        guard let scalar = node.scalar else { throw fail(node, "\(what) must be a string") }
        let value = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw fail(node, "\(what) must not be empty") }
        return value
    }

    func flag(_ node: Node, _ what: String) throws -> Bool {
        guard let value = node.bool else { throw fail(node, "\(what) must be true or false") }
        return value
    }

    func names(_ node: Node, _ what: String) throws -> [String] {
        if node.scalar != nil { return [try text(node, what)] }
        guard let sequence = node.sequence, !sequence.isEmpty else {
            throw fail(node, "\(what) must be a column name or a list of column names")
        }
        return try sequence.map { try text($0, what) }
    }

    mutating func map(_ root: Node, name: String) throws -> SinkMap {
        var map = SinkMap(name: name, origin: path)
        var references: [(columns: [String], node: Node, what: String)] = []
        for entry in try entries(root, what: "the map",
                                 allowed: ["description", "columns", "unique", "indexes", "conflict", "checks", "filter"]) {
            switch entry.key {
            case "description": _ = try text(entry.value, "description")
            case "columns":
                guard let list = entry.value.sequence, !list.isEmpty else {
                    throw fail(entry.value, "columns must be a non-empty list")
                }
                for item in list {
                    let (column, extras) = try column(item)
                    if map.columns.contains(where: { $0.name == column.name }) {
                        throw fail(item, "column '\(column.name)' is declared twice")
                    }
                    map.columns.append(column)
                    map.indexes += extras.indexes
                    map.uniques += extras.uniques
                }
            case "unique":
                guard let list = entry.value.sequence else { throw fail(entry.value, "unique must be a list of column lists") }
                for item in list {
                    let columns = try names(item, "a unique constraint")
                    map.uniques.append(columns)
                    references.append((columns, item, "unique constraint"))
                }
            case "indexes":
                guard let list = entry.value.sequence else { throw fail(entry.value, "indexes must be a list") }
                for item in list {
                    let index = try self.index(item)
                    map.indexes.append(index)
                    references.append((index.columns, item, "index"))
                }
            case "conflict":
                map.conflict = try names(entry.value, "conflict")
                references.append((map.conflict, entry.value, "conflict"))
            case "checks":
                guard let list = entry.value.sequence else { throw fail(entry.value, "checks must be a list") }
                for item in list {
                    let check = try self.check(item)
                    if map.checks.contains(where: { $0.name == check.name }) {
                        throw fail(item, "check '\(check.name)' is declared twice")
                    }
                    map.checks.append(check)
                }
            case "filter": map.filter = try text(entry.value, "filter")
            default: break
            }
        }
        guard !map.columns.isEmpty else { throw fail(root, "the map declares no columns") }
        guard !map.writtenColumns.isEmpty else {
            throw fail(root, "no column has an expression, so nothing would be written")
        }
        for reference in references {
            for column in reference.columns where map.column(named: column) == nil {
                throw fail(reference.node, "\(reference.what) names column '\(column)', which the map does not declare")
            }
        }
        if !map.conflict.isEmpty {
            let keys = Set(map.conflict)
            let primary = Set(map.columns.filter(\.primaryKey).map(\.name))
            let covered = primary == keys || map.uniques.contains { Set($0) == keys }
                || map.indexes.contains { $0.unique && Set($0.columns) == keys }
            guard covered else {
                throw fail(root, "conflict (\(map.conflict.joined(separator: ", "))) needs a matching unique constraint "
                    + "or primary key; add 'unique: [[\(map.conflict.joined(separator: ", "))]]'")
            }
        }
        return map
    }

    func column(_ node: Node) throws -> (MapColumn, (indexes: [MapIndex], uniques: [[String]])) {
        let fields = try entries(node, what: "a column",
                                 allowed: ["name", "type", "expression", "default", "not_null", "primary_key",
                                           "identity", "index", "unique"])
        guard let nameEntry = fields.first(where: { $0.key == "name" }) else { throw fail(node, "a column needs a name") }
        let name = try text(nameEntry.value, "a column name")
        guard let typeEntry = fields.first(where: { $0.key == "type" }) else {
            throw fail(node, "column '\(name)' has no type")
        }
        var column = MapColumn(name: name, type: try text(typeEntry.value, "the type of column '\(name)'"))
        var indexes: [MapIndex] = []
        var uniques: [[String]] = []
        for field in fields {
            switch field.key {
            case "expression": column.expression = try text(field.value, "the expression of column '\(name)'")
            case "default": column.defaultValue = try text(field.value, "the default of column '\(name)'")
            case "not_null": column.notNull = try flag(field.value, "not_null")
            case "primary_key": column.primaryKey = try flag(field.value, "primary_key")
            case "identity": column.identity = try flag(field.value, "identity")
            case "unique": if try flag(field.value, "unique") { uniques.append([name]) }
            case "index":
                if let on = field.value.bool {
                    if on { indexes.append(MapIndex(columns: [name])) }
                } else {
                    indexes.append(MapIndex(columns: [name], method: try method(field.value)))
                }
            default: break
            }
        }
        if column.identity && column.expression != nil {
            throw fail(node, "column '\(name)' is an identity column and cannot also have an expression")
        }
        return (column, (indexes, uniques))
    }

    func index(_ node: Node) throws -> MapIndex {
        if node.sequence != nil || node.scalar != nil { return MapIndex(columns: try names(node, "an index")) }
        let fields = try entries(node, what: "an index", allowed: ["columns", "unique", "using"])
        guard let columns = fields.first(where: { $0.key == "columns" }) else { throw fail(node, "an index needs columns") }
        var index = MapIndex(columns: try names(columns.value, "index columns"))
        for field in fields {
            if field.key == "unique" { index.unique = try flag(field.value, "unique") }
            if field.key == "using" { index.method = try method(field.value) }
        }
        return index
    }

    /// Index access methods are identifiers; refusing anything else keeps
    /// this from becoming a way to smuggle SQL into CREATE INDEX.
    func method(_ node: Node) throws -> String {
        let value = try text(node, "an index method")
        guard value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw fail(node, "index method '\(value)' is not a plain name (btree, hash, gist, gin, brin, spgist)")
        }
        return value.lowercased()
    }

    func check(_ node: Node) throws -> MapCheck {
        let fields = try entries(node, what: "a check", allowed: ["name", "expression"])
        guard let name = fields.first(where: { $0.key == "name" }),
              let expression = fields.first(where: { $0.key == "expression" }) else {
            throw fail(node, "a check needs a name and an expression")
        }
        return MapCheck(name: try text(name.value, "a check name"), expression: try text(expression.value, "a check expression"))
    }
}

/// Finds `--map NAME|FILE`: a built-in first, then a file path, then
/// `NAME.yaml` (or `.yml`) in each directory of PGK_MAPS_PATH
/// (default `./maps:~/.config/pgk/maps`).
enum MapLocator {
    static let defaultSearchPath = "./maps:~/.config/pgk/maps"

    static func resolve(_ name: String, environment: [String: String]) throws -> SinkMap {
        if let builtin = BuiltinMaps.named(name) { return builtin }
        let manager = FileManager.default
        if name.contains("/") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            guard manager.fileExists(atPath: name) else { throw UsageError("--map \(name): no such file") }
            return try MapFile.load(path: name)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let directories = (environment["PGK_MAPS_PATH"] ?? defaultSearchPath).split(separator: ":").map { entry -> String in
            entry.hasPrefix("~/") ? home + entry.dropFirst() : String(entry)
        }
        for directory in directories {
            for suffix in [".yaml", ".yml"] {
                let candidate = directory + "/" + name + suffix
                if manager.fileExists(atPath: candidate) { return try MapFile.load(path: candidate) }
            }
        }
        let builtins = BuiltinMaps.names.keys.sorted().joined(separator: ", ")
        throw UsageError("--map \(name): not a built-in map (\(builtins)) and no \(name).yaml in "
            + directories.joined(separator: ", ") + " (PGK_MAPS_PATH)")
    }
}
