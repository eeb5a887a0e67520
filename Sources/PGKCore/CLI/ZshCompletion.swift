/// zsh completion: one `_arguments` function per command path, in the
/// style of zsh's own completions for git-like tools.
enum ZshCompletion {
    static func render(_ root: CommandSpec) -> String {
        var functions: [String] = []
        for (path, command) in root.allCommands() {
            functions.append(function(path: path, command: command, root: root))
        }
        return """
        #compdef pgk
        # zsh completion for pgk. Generated from pgk's command table; do not edit.
        # Install: copy to a directory on $fpath as _pgk

        \(functions.joined(separator: "\n\n"))

        _pgk "$@"

        """
    }

    static func functionName(_ path: [String]) -> String {
        (["_pgk"] + path.map { $0.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() })
            .joined(separator: "_")
    }

    static func function(path: [String], command: CommandSpec, root: CommandSpec) -> String {
        let options = CompletionRenderer.options(at: command, isRoot: path.isEmpty, root: root)
        var specs = options.flatMap(optionSpecs)
        specs.append("'(- *)'{-h,--help}'[Show help]'")
        var body = ""
        if command.isGroup {
            specs += ["'1: :->command'", "'*:: :->argument'"]
            let described = command.subcommands.map { "'\($0.name):\(escape($0.summary))'" }
            var dispatch = ""
            for sub in command.subcommands {
                let names = ([sub.name] + sub.aliases).joined(separator: "|")
                dispatch += "        \(names)) \(functionName(path + [sub.name])) ;;\n"
            }
            body = """
              local curcontext="$curcontext" state line ret=1
              _arguments -C -s \\
                \(specs.joined(separator: " \\\n    ")) && ret=0
              case $state in
                command)
                  local -a commands
                  commands=(\(described.joined(separator: " ")))
                  _describe -t commands 'pgk command' commands && ret=0 ;;
                argument)
                  case $words[1] in
            \(dispatch)      esac ;;
              esac
              return ret
            """
        } else {
            for (index, argument) in command.arguments.enumerated() {
                let action = argument.completion == .file ? "_files"
                    : argument.completion == .command ? "_command_names -e" : " "
                let position = argument.isVariadic || argument.capturesRest ? "'*" : "'\(index + 1)"
                specs.append("\(position):\(escape(argument.name)):\(action)'")
            }
            body = """
              _arguments -s \\
                \(specs.joined(separator: " \\\n    "))
            """
        }
        return "\(functionName(path))() {\n\(body)\n}"
    }

    static func optionSpecs(_ option: OptionSpec) -> [String] {
        let help = escape(option.help)
        var value = ""
        if option.takesValue {
            let name = escape(option.valueName)
            if !option.choiceWords.isEmpty {
                value = ":\(name):(\(option.choiceWords.joined(separator: " ")))"
            } else if option.completion == .file {
                value = ":\(name):_files"
            } else if option.completion == .directory {
                value = ":\(name):_files -/"
            } else {
                value = ":\(name): "
            }
        }
        let repeats = option.repeatable || { if case .counter = option.kind { return true }; return false }()
        let longs = ["--" + option.long] + option.aliases.map { "--" + $0 }
        var names = longs
        if let short = option.short { names.insert("-\(short)", at: 0) }
        let exclusion = repeats ? "'*'" : "'(\(names.joined(separator: " ")))'"
        let equals = option.takesValue ? "=" : ""
        var result: [String]
        if names.count == 1 {
            result = [(repeats ? "'*" : "'") + "\(names[0])\(equals)[\(help)]\(value)'"]
        } else {
            result = ["\(exclusion){\(names.map { $0.hasPrefix("--") ? $0 + equals : $0 }.joined(separator: ","))}'[\(help)]\(value)'"]
        }
        if option.isNegatable {
            result.append("'--no-\(option.long)[Negates --\(option.long)]'")
        }
        return result
    }

    /// Escapes text inside a single-quoted `_arguments` spec.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "'": out += "'\\''"
            case "[", "]", ":", "\\": out += "\\" + String(c)
            default: out.append(c)
            }
        }
        return out
    }
}
