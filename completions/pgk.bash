# bash completion for pgk. Generated from pgk's command table; do not edit.
# Install: source this file, or copy it to /usr/share/bash-completion/completions/pgk

_pgk_subcommands() {
  case "$1" in
    "") echo "help completion" ;;
  esac
}

_pgk_options() {
  case "$1" in
    "") echo "--brokers -b --kafka-property -X --database -d --registry --verbose -v --quiet -q --help" ;;
    "help") echo "--brokers -b --kafka-property -X --database -d --registry --verbose -v --quiet -q --help" ;;
    "completion") echo "--brokers -b --kafka-property -X --database -d --registry --verbose -v --quiet -q --help" ;;
  esac
}

_pgk_valued_options() {
  case "$1" in
    "") echo " --brokers -b --kafka-property -X --database -d --registry " ;;
    "help") echo " --brokers -b --kafka-property -X --database -d --registry " ;;
    "completion") echo " --brokers -b --kafka-property -X --database -d --registry " ;;
  esac
}

_pgk_values() {
  case "$1|$2" in
  esac
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
