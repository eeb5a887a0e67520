import Foundation

/// `--help` text for any command path, wrapped to 80 columns.
enum HelpRenderer {
    static let width = 80
    static let optionColumn = 28

    static func render(root: CommandSpec, path: [String]) -> String {
        let chain = CommandSpec.chain(root: root, path: path)
        let command = chain.last!
        let fullName = (["pgk"] + path).joined(separator: " ")
        var out = "Usage: " + usageLine(command, fullName: fullName) + "\n\n"
        out += TextWrap.paragraphs(capitalized(command.summary) + ".", width: width) + "\n"
        if !command.discussion.isEmpty {
            out += "\n" + TextWrap.paragraphs(command.discussion, width: width) + "\n"
        }
        if command.isGroup {
            out += "\nCommands:\n"
            let rows = command.subcommands.map { ("  " + $0.name, $0.summary) }
            out += columns(rows, column: min(optionColumn, (rows.map(\.0.count).max() ?? 0) + 3))
        }
        if !command.arguments.isEmpty {
            out += "\nArguments:\n"
            out += columns(command.arguments.map { ("  " + $0.name, $0.help) }, column: optionColumn)
        }
        let locals = path.isEmpty ? command.options.filter { !$0.isGlobal } : command.options
        if !locals.isEmpty {
            out += "\nOptions:\n" + columns(locals.map(optionRow), column: optionColumn)
        }
        out += "\nGlobal options:\n"
        let globals = root.options.filter(\.isGlobal)
        out += columns(globals.map(optionRow) + [("  -h, --help", "Show this help")], column: optionColumn)
        if !command.examples.isEmpty {
            out += "\nExamples:\n"
            for example in command.examples {
                out += "  " + example.command + "\n"
                out += TextWrap.wrap(example.explanation, width: width, indent: 6) + "\n"
            }
        }
        if command.isGroup {
            out += "\nRun '\(fullName) COMMAND --help' for more on a command.\n"
        }
        if path.isEmpty {
            out += "Every option can also be set as PGK_<OPTION>, e.g. PGK_BROKERS.\n"
        }
        return out
    }

    static func usageLine(_ command: CommandSpec, fullName: String) -> String {
        var parts = [fullName]
        if command.isGroup { parts.append("COMMAND") }
        parts.append("[OPTIONS]")
        parts += command.arguments.map(\.usageForm)
        return parts.joined(separator: " ")
    }

    static func optionRow(_ option: OptionSpec) -> (String, String) {
        var left = "  "
        left += option.short.map { "-\($0), " } ?? "    "
        left += "--" + option.long
        if option.isNegatable { left = left.replacingOccurrences(of: "--" + option.long, with: "--[no-]" + option.long) }
        if option.takesValue { left += " " + displayValueName(option) }
        var help = option.help
        if let value = option.defaultValue { help += " [default: \(value)]" }
        if !option.aliases.isEmpty {
            help += " [alias: " + option.aliases.map { "--" + $0 }.joined(separator: ", ") + "]"
        }
        return (left, help)
    }

    static func displayValueName(_ option: OptionSpec) -> String {
        if option.valueName == "VALUE", case .value(.choice(let words, _)) = option.kind {
            return words.joined(separator: "|")
        }
        return option.valueName
    }

    static func columns(_ rows: [(String, String)], column: Int) -> String {
        var out = ""
        for (left, help) in rows {
            if left.count + 2 > column {
                out += left + "\n" + TextWrap.wrap(help, width: width, indent: column) + "\n"
            } else {
                let wrapped = TextWrap.wrap(help, width: width, indent: column)
                out += left + String(repeating: " ", count: column - left.count)
                out += wrapped.dropFirst(column) + "\n"
            }
        }
        return out
    }

    static func capitalized(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.uppercased() + text.dropFirst()
    }
}

extension CommandSpec {
    /// The specs from the root down to `path`; unknown names stop the walk.
    static func chain(root: CommandSpec, path: [String]) -> [CommandSpec] {
        var chain = [root]
        for name in path {
            guard let next = chain.last!.subcommand(named: name) else { break }
            chain.append(next)
        }
        return chain
    }

    /// Every leaf command with its path, depth first.
    func leaves(path: [String] = []) -> [(path: [String], spec: CommandSpec)] {
        if !isGroup { return [(path, self)] }
        // A group that also runs by itself (`pgk sql -f …`) is a page too.
        let own: [(path: [String], spec: CommandSpec)] = run != nil && !path.isEmpty ? [(path, self)] : []
        return own + subcommands.flatMap { $0.leaves(path: path + [$0.name]) }
    }

    /// Every command (groups and leaves) with its path, depth first.
    func allCommands(path: [String] = []) -> [(path: [String], spec: CommandSpec)] {
        [(path, self)] + subcommands.flatMap { $0.allCommands(path: path + [$0.name]) }
    }
}

enum TextWrap {
    /// Wraps each paragraph (separated by blank lines) to `width`. Lines
    /// that start with spaces are kept verbatim, for code in discussions.
    static func paragraphs(_ text: String, width: Int) -> String {
        text.split(separator: "\n\n", omittingEmptySubsequences: false).map { paragraph in
            let lines = paragraph.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.contains(where: { $0.hasPrefix(" ") }) { return String(paragraph) }
            return wrap(String(paragraph), width: width, indent: 0)
        }.joined(separator: "\n\n")
    }

    /// Word-wraps `text`, prefixing every line with `indent` spaces.
    static func wrap(_ text: String, width: Int, indent: Int) -> String {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = ""
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                lines.append(pad + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(pad + line)
        return lines.joined(separator: "\n")
    }
}
