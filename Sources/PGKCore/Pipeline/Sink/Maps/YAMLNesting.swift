import CYaml

/// Yams builds its node tree recursively, so a map file nested a few
/// thousand levels deep (`a: [[[[…` or `- - - - …`) overflows the stack.
/// libyaml's own event parser is iterative: one pass over its events
/// finds the depth before Yams sees the text.
enum YAMLNesting {
    /// Far beyond any real map (they nest about four levels).
    static let maxDepth = 100

    /// Where the first collection deeper than `maxDepth` starts (1-based
    /// line and column), or nil when there is none. Syntax errors stop
    /// the pass; Yams reports them.
    static func tooDeep(_ text: String) -> (line: Int, column: Int)? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else { return nil }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer -> (line: Int, column: Int)? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) != 0 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    depth += 1
                    if depth > maxDepth {
                        return (Int(event.start_mark.line) + 1, Int(event.start_mark.column) + 1)
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                case YAML_STREAM_END_EVENT, YAML_NO_EVENT:
                    return nil
                default:
                    break
                }
            }
        }
    }
}
