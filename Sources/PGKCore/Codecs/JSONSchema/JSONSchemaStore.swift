/// Schemas by URI, the place `$ref`s are resolved.
///
/// Documents are registered under their retrieval URI; every `$id` inside
/// one registers a further resource, every `$anchor`/`$dynamicAnchor` a
/// plain-name fragment. A URI not registered yet is fetched on demand:
/// first from the built-in draft 2020-12 metaschemas, then from `loader`
/// (which maps an absolute URI without fragment to a parsed document, e.g.
/// a file in a schemas directory; nil when there is none).
///
///     let store = JSONSchemaStore { uri in try? loadSchemaFile(uri) }
///     try store.register(document, uri: "file:///schemas/order.json")
///     let schema = try store.compile(uri: "file:///schemas/order.json")
///     schema.validate(event)   // [SchemaViolation]
final class JSONSchemaStore {
    struct Options {
        /// Make `format` an assertion for date-time, date, time, email,
        /// uuid, ipv4 and ipv6 (by default it is an annotation only).
        var assertFormats = false
        /// The dialect of schemas without `$schema`.
        var defaultDialect = SchemaDialect.draft2020_12
        init(assertFormats: Bool = false, defaultDialect: SchemaDialect = .draft2020_12) {
            self.assertFormats = assertFormats
            self.defaultDialect = defaultDialect
        }
    }

    struct ResolvedReference {
        var location: SchemaLocation
        /// Set when the fragment names a `$dynamicAnchor`.
        var dynamicAnchor: String?
    }

    let options: Options
    private let loader: (String) -> Value?
    private(set) var documents: [SchemaDocument] = []
    private var documentIndex: [String: Int] = [:]
    private var resources: [String: SchemaLocation] = [:]
    private var anchors: [String: (location: SchemaLocation, dynamic: Bool)] = [:]
    private var dynamicAnchors: [String: [(name: String, location: SchemaLocation)]] = [:]
    private var metaschemasBeingRead: Set<String> = []
    private var inlineCount = 0

    init(options: Options = Options(), loader: @escaping (String) -> Value? = { _ in nil }) {
        self.options = options
        self.loader = loader
    }

    /// Adds a document under `uri` (absolute; a fragment is ignored).
    /// Registering the same document twice is harmless; a different one
    /// under a taken URI is an error.
    func register(_ document: Value, uri: String) throws(SchemaError) {
        let key = SchemaURI(uri).withoutFragment.description
        if let existing = documentIndex[key] {
            if documents[existing].root == document { return }
            throw SchemaError(location: key, reason: "a different document is already registered under this URI")
        }
        guard SchemaURI(key).isAbsolute else {
            throw SchemaError(location: key, reason: "documents are registered under absolute URIs")
        }
        let schemaDocument = SchemaDocument(uri: key, root: document)
        let identifiers = try schemaDocument.index(
            dialectFor: { (uri) throws(SchemaError) -> SchemaDialect in try self.dialect(forMetaschema: uri) },
            defaultDialect: options.defaultDialect)
        let number = documents.count
        documents.append(schemaDocument)
        documentIndex[key] = number
        for (uri, pointer) in identifiers.resources where resources[uri] == nil {
            resources[uri] = SchemaLocation(document: number, pointer: pointer)
        }
        for anchor in identifiers.anchors {
            let location = SchemaLocation(document: number, pointer: anchor.pointer)
            let key = anchor.resource + "#" + anchor.name
            if anchors[key] == nil || anchor.dynamic { anchors[key] = (location, anchor.dynamic) }
            if anchor.dynamic { dynamicAnchors[anchor.resource, default: []].append((anchor.name, location)) }
        }
    }

    /// Compiles the schema at `uri` (which may carry a fragment: a JSON
    /// Pointer or an anchor), loading documents as needed.
    func compile(uri: String) throws(SchemaError) -> CompiledSchema {
        let target = try resolve(uri, base: uri, from: uri)
        var compiler = SchemaCompiler(store: self, rootDocument: target.location.document)
        return CompiledSchema(graph: try compiler.compile(root: target.location))
    }

    /// Registers `document` under a fresh `urn:pgk:schema:N` URI (or its
    /// own absolute `$id`) and compiles it.
    func compile(_ document: Value) throws(SchemaError) -> CompiledSchema {
        inlineCount += 1
        let uri = "urn:pgk:schema:\(inlineCount)"
        try register(document, uri: uri)
        return try compile(uri: uri)
    }

    // MARK: - For the compiler

    func value(at location: SchemaLocation) -> Value? { documents[location.document].value(at: location.pointer) }

    func position(at location: SchemaLocation) -> SchemaPosition {
        documents[location.document].position(at: location.pointer)
    }

    /// Where a `$ref`-style reference leads. `from` names the referring
    /// schema for the error message.
    func resolve(_ reference: String, base: String, from: String) throws(SchemaError) -> ResolvedReference {
        let target = SchemaURI(base).resolving(reference)
        let resourceURI = target.withoutFragment.description
        guard let resource = try resource(resourceURI) else {
            throw SchemaError(location: from, reason: "cannot resolve '\(reference)': no schema at \(resourceURI)")
        }
        let fragment = SchemaURI.percentDecode(target.fragment ?? "")
        if fragment.isEmpty { return ResolvedReference(location: resource) }
        if fragment.hasPrefix("/") {
            guard JSONPointer.tokens(fragment) != nil else {
                throw SchemaError(location: from, reason: "'\(reference)': malformed JSON Pointer")
            }
            let location = SchemaLocation(document: resource.document, pointer: resource.pointer + fragment)
            guard value(at: location) != nil else {
                throw SchemaError(location: from, reason: "cannot resolve '\(reference)': nothing at \(resourceURI)#\(fragment)")
            }
            return ResolvedReference(location: location)
        }
        guard let anchor = anchors[resourceURI + "#" + fragment] else {
            throw SchemaError(location: from, reason: "cannot resolve '\(reference)': no anchor '\(fragment)' in \(resourceURI)")
        }
        return ResolvedReference(location: anchor.location, dynamicAnchor: anchor.dynamic ? fragment : nil)
    }

    /// The `$dynamicAnchor`s a resource declares.
    func dynamicAnchors(ofResource uri: String) -> [(name: String, location: SchemaLocation)] {
        dynamicAnchors[uri] ?? []
    }

    /// `uri#pointer`, or just `#pointer` inside the compiled root document.
    func render(_ location: SchemaLocation, rootDocument: Int) -> String {
        location.document == rootDocument ? "#" + location.pointer : documents[location.document].uri + "#" + location.pointer
    }

    // MARK: - Loading

    private func resource(_ uri: String) throws(SchemaError) -> SchemaLocation? {
        if let found = resources[uri] { return found }
        if documentIndex[uri] == nil {
            if let builtIn = Metaschemas.document(uri) {
                try register(builtIn, uri: uri)
            } else if let loaded = loader(uri) {
                try register(loaded, uri: uri)
            }
        }
        return resources[uri]
    }

    /// The dialect a `$schema` value selects: one of the built-in two, or
    /// what a custom metaschema's `$vocabulary` (else its own `$schema`) says.
    private func dialect(forMetaschema uri: String) throws(SchemaError) -> SchemaDialect {
        if let known = SchemaDialect.builtIn(uri) { return known }
        let key = SchemaURI(uri).withoutFragment.description
        if metaschemasBeingRead.contains(key) { return options.defaultDialect }
        metaschemasBeingRead.insert(key)
        defer { metaschemasBeingRead.remove(key) }
        guard let location = try resource(key), case .object(let metaschema)? = value(at: location) else {
            throw SchemaError(location: key, reason: "unknown $schema (not draft 2020-12 or draft-07, and no metaschema could be loaded)")
        }
        if case .object(let vocabulary)? = metaschema["$vocabulary"] {
            return try SchemaDialect.fromVocabulary(vocabulary, metaschema: key)
        }
        if let parent = metaschema["$schema"]?.stringValue {
            return try dialect(forMetaschema: parent)
        }
        return options.defaultDialect
    }
}
