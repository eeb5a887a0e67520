/// One way an instance fails a schema.
///
/// Rendered as `<instanceLocation>: '<keyword>' <message> at <schemaLocation>`,
/// for example `/items/3/price: 'minimum' 0, got -1 at #/properties/items/items/properties/price`.
///
/// - `instanceLocation` is an RFC 6901 JSON Pointer into the instance; the
///   whole instance is the empty pointer, which the rendering shows as `/`.
/// - `schemaLocation` is the schema object holding the keyword: `#` plus a
///   JSON Pointer inside the compiled document (`#` alone is its root), or
///   `<document URI>#<pointer>` when a `$ref` led into another document.
/// - `message` starts with the keyword's value (`0`, `"integer"`) or a short
///   explanation, followed by what the instance had where useful.
struct SchemaViolation: CustomStringConvertible, Equatable, Sendable {
    var instanceLocation: String
    var keyword: String
    var schemaLocation: String
    var message: String

    var description: String {
        "\(instanceLocation.isEmpty ? "/" : instanceLocation): '\(keyword)' \(message) at \(schemaLocation)"
    }
}

/// A schema compiled for repeated validation; cheap to copy and safe to
/// share between threads.
struct CompiledSchema: Sendable {
    let graph: SchemaGraph

    /// Every failure found (subschemas that only decide, such as the
    /// branches of `anyOf`, are summarised by their keyword). Empty when
    /// the instance is valid.
    func validate(_ instance: Value) -> [SchemaViolation] {
        var evaluator = SchemaEvaluator(graph: graph, collecting: true)
        var parts = EvaluatedParts()
        _ = evaluator.evaluate(graph.root, instance, track: false, into: &parts)
        return evaluator.violations
    }

    /// The first failure, or nil; stops as soon as one is found.
    func firstViolation(_ instance: Value) -> SchemaViolation? {
        if isValid(instance) { return nil }
        return validate(instance).first
    }

    /// Whether the instance is valid; the fastest mode.
    func isValid(_ instance: Value) -> Bool {
        var evaluator = SchemaEvaluator(graph: graph, collecting: false)
        var parts = EvaluatedParts()
        return evaluator.evaluate(graph.root, instance, track: false, into: &parts)
    }
}
