/// Shell completion scripts generated from the command table.
enum CompletionRenderer {
    enum Shell: String, CaseIterable, Sendable { case bash, zsh, fish }

    static func render(_ shell: Shell, root: CommandSpec) -> String {
        switch shell {
        case .bash: return bash(root)
        case .zsh: return ZshCompletion.render(root)
        case .fish: return fish(root)
        }
    }

    static func fileName(_ shell: Shell) -> String {
        switch shell {
        case .bash: return "pgk.bash"
        case .zsh: return "_pgk"
        case .fish: return "pgk.fish"
        }
    }

    /// Options visible at a command path, globals included.
    static func options(at command: CommandSpec, isRoot: Bool, root: CommandSpec) -> [OptionSpec] {
        let globals = root.options.filter(\.isGlobal)
        return (isRoot ? root.options.filter { !$0.isGlobal } : command.options) + globals
    }

    static func flagForms(_ option: OptionSpec) -> [String] {
        var forms = ["--" + option.long] + option.aliases.map { "--" + $0 }
        if option.isNegatable { forms.append("--no-" + option.long) }
        if let short = option.short { forms.append("-\(short)") }
        return forms
    }

    // MARK: bash

    static func bash(_ root: CommandSpec) -> String {
        let commands = root.allCommands()
        var subcommandCases = "", optionCases = "", valueCases = "", takesValueCases = ""
        for (path, command) in commands {
            let key = path.joined(separator: " ")
            let opts = options(at: command, isRoot: path.isEmpty, root: root)
            if command.isGroup {
                subcommandCases += "    \"\(key)\") echo \"\(command.subcommands.map(\.name).joined(separator: " "))\" ;;\n"
            }
            optionCases += "    \"\(key)\") echo \"\(opts.flatMap(flagForms).joined(separator: " ")) --help\" ;;\n"
            let valued = opts.filter(\.takesValue)
            takesValueCases += "    \"\(key)\") echo \" \(valued.flatMap(flagForms).joined(separator: " ")) \" ;;\n"
            for option in valued {
                let words: String
                if !option.choiceWords.isEmpty { words = option.choiceWords.joined(separator: " ") }
                else if option.completion == .file { words = "__files__" }
                else if option.completion == .directory { words = "__dirs__" }
                else { continue }
                let pattern = flagForms(option).map { "\"\(key)|\($0)\"" }.joined(separator: "|")
                valueCases += "    \(pattern)) echo \"\(words)\" ;;\n"
            }
        }
        return """
        # bash completion for pgk. Generated from pgk's command table; do not edit.
        # Install: source this file, or copy it to /usr/share/bash-completion/completions/pgk

        _pgk_subcommands() {
          case "$1" in
        \(subcommandCases)  esac
        }

        _pgk_options() {
          case "$1" in
        \(optionCases)  esac
        }

        _pgk_valued_options() {
          case "$1" in
        \(takesValueCases)  esac
        }

        _pgk_values() {
          case "$1|$2" in
        \(valueCases)  esac
        }

        _pgk() {
          local cur prev path="" i word subs
          cur="${COMP_WORDS[COMP_CWORD]}"
          prev="${COMP_WORDS[COMP_CWORD-1]}"
          for ((i = 1; i < COMP_CWORD; i++)); do
            word="${COMP_WORDS[i]}"
            [[ "$word" == "--" ]] && { COMPREPLY=($(compgen -f -- "$cur")); return; }
            if [[ "$(_pgk_valued_options "$path")" == *" $word "* ]]; then
              ((i++)); continue
            fi
            subs=" $(_pgk_subcommands "$path") "
            if [[ "$word" != -* && "$subs" == *" $word "* ]]; then
              path="${path:+$path }$word"
            fi
          done
          if [[ "$(_pgk_valued_options "$path")" == *" $prev "* ]]; then
            local values
            values="$(_pgk_values "$path" "$prev")"
            case "$values" in
              __files__) COMPREPLY=($(compgen -f -- "$cur")) ;;
              __dirs__) COMPREPLY=($(compgen -d -- "$cur")) ;;
              *) COMPREPLY=($(compgen -W "$values" -- "$cur")) ;;
            esac
            return
          fi
          if [[ "$cur" == -* ]]; then
            COMPREPLY=($(compgen -W "$(_pgk_options "$path")" -- "$cur"))
          elif [[ -n "$(_pgk_subcommands "$path")" ]]; then
            COMPREPLY=($(compgen -W "$(_pgk_subcommands "$path")" -- "$cur"))
          else
            COMPREPLY=($(compgen -f -- "$cur"))
          fi
        }

        complete -F _pgk pgk

        """
    }

    // MARK: fish

    static func fish(_ root: CommandSpec) -> String {
        let knownPaths = root.allCommands().dropFirst()
            .map { "'" + $0.path.joined(separator: " ") + "'" }.joined(separator: " ")
        var lines: [String] = []
        for (path, command) in root.allCommands() {
            let key = path.joined(separator: " ")
            let condition = "__pgk_path_is '\(key)'"
            for sub in command.subcommands {
                lines.append("complete -c pgk -n \"\(condition)\" -a \(sub.name) -d '\(fishEscape(sub.summary))'")
            }
            for option in options(at: command, isRoot: path.isEmpty, root: root) {
                var line = "complete -c pgk -n \"\(condition)\""
                if let short = option.short { line += " -s \(short)" }
                line += " -l \(option.long)"
                if option.takesValue {
                    line += " -r"
                    if !option.choiceWords.isEmpty {
                        line += " -f -a '\(option.choiceWords.joined(separator: " "))'"
                    } else if option.completion == .file || option.completion == .directory {
                        line += " -F"
                    }
                }
                line += " -d '\(fishEscape(option.help))'"
                lines.append(line)
                if option.isNegatable {
                    lines.append("complete -c pgk -n \"\(condition)\" -l no-\(option.long) -d 'Negates --\(option.long)'")
                }
            }
        }
        return """
        # fish completion for pgk. Generated from pgk's command table; do not edit.
        # Install: copy to ~/.config/fish/completions/pgk.fish

        function __pgk_path_is
            set -l path ''
            for token in (commandline -opc)[2..-1]
                set -l candidate (string trim -- "$path $token")
                switch $candidate
                    case \(knownPaths)
                        set path $candidate
                end
            end
            test "$path" = "$argv[1]"
        end

        complete -c pgk -f
        \(lines.joined(separator: "\n"))

        """
    }

    static func fishEscape(_ text: String) -> String {
        var out = ""
        for c in text {
            if c == "'" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
