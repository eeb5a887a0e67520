# bash completion for pgk. Generated from pgk's command table; do not edit.
# Install: source this file, or copy it to /usr/share/bash-completion/completions/pgk

_pgk_subcommands() {
  case "$1" in
    "") echo "sink cdc topics publish subscribe sql dev help completion" ;;
    "cdc") echo "outbox wal" ;;
    "cdc outbox") echo "setup teardown uninstall run status" ;;
    "cdc wal") echo "setup run status teardown" ;;
    "topics") echo "list describe create delete alter tail produce groups" ;;
    "sql") echo "run" ;;
    "dev") echo "up run" ;;
  esac
}

_pgk_options() {
  case "$1" in
    "") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "sink") echo "--topic -t --table --map --lookup --packing --key-packing --group --consumer -g --coordinate --offset --mode --key-columns --on-tombstone --create --no-create --evolve --drop --truncate --batch-size --batch-timeout --until-end --max-messages --from-file --datafile --dry-run --on-error --dead-letter --metrics --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc outbox") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc outbox setup") echo "--no-snapshot --snapshot-chunk-size --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc outbox teardown") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc outbox uninstall") echo "--force --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc outbox run") echo "--topic-prefix --topic-template --batch-size --packing --create-topics --exit-when-empty --dry-run --poll-interval --table --metrics --event-id-column --aggregate-type-column --aggregate-id-column --event-type-column --payload-column --order-column --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc outbox status") echo "--output -o --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc wal") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc wal setup") echo "--slot --publication --tables --all-tables --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc wal run") echo "--slot --publication --snapshot --topic-prefix --format --packing --key-columns --create-topics --topic-partitions --exit-when-caught-up --heartbeat --tombstones --no-tombstones --metrics --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc wal status") echo "--slot --publication --output -o --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "cdc wal teardown") echo "--slot --publication --keep-publication --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics list") echo "--output -o --internal --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics describe") echo "--output -o --all-configs --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics create") echo "--partitions --replication-factor --config --if-not-exists --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics delete") echo "--if-exists --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics alter") echo "--config --delete-config --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics tail") echo "--count -n --follow -f --offset -o --partition -p --format --json --packing --key-packing --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics produce") echo "--file -F --key-delimiter -K --header -H --null-empty -Z --partition -p --packing --schema --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "topics groups") echo "--topic --output -o --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "publish") echo "--schema -s --schemas --file -F --data --raw --key-field --key-delimiter -K --header -H --topic-prefix --on-invalid --create-topic --partitions --retention --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "subscribe") echo "--group -g --topic-prefix --schema -s --schemas --output -o --dead-letter --exec --worker --concurrency -c --order --retries --backoff --timeout --on-error --count -n --until-end --offset --metrics --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "sql") echo "--file -f --execute -e --run --until-end --state-schema --group -g --output -o --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "sql run") echo "--until-end --query --state-schema --group -g --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "dev") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "dev up") echo "--create-topic --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "dev run") echo "--create-topic --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "help") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
    "completion") echo "--brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key --verbose -v --quiet -q --help" ;;
  esac
}

_pgk_valued_options() {
  case "$1" in
    "") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "sink") echo " --topic -t --table --map --lookup --packing --key-packing --group --consumer -g --coordinate --offset --mode --key-columns --on-tombstone --batch-size --batch-timeout --max-messages --from-file --datafile --on-error --dead-letter --metrics --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc outbox") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc outbox setup") echo " --snapshot-chunk-size --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc outbox teardown") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc outbox uninstall") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc outbox run") echo " --topic-prefix --topic-template --batch-size --packing --poll-interval --table --metrics --event-id-column --aggregate-type-column --aggregate-id-column --event-type-column --payload-column --order-column --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc outbox status") echo " --output -o --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc wal") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc wal setup") echo " --slot --publication --tables --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc wal run") echo " --slot --publication --snapshot --topic-prefix --format --packing --key-columns --topic-partitions --heartbeat --metrics --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc wal status") echo " --slot --publication --output -o --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "cdc wal teardown") echo " --slot --publication --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics list") echo " --output -o --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics describe") echo " --output -o --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics create") echo " --partitions --replication-factor --config --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics delete") echo " --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics alter") echo " --config --delete-config --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics tail") echo " --count -n --offset -o --partition -p --format --packing --key-packing --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics produce") echo " --file -F --key-delimiter -K --header -H --partition -p --packing --schema --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "topics groups") echo " --topic --output -o --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "publish") echo " --schema -s --schemas --file -F --data --key-field --key-delimiter -K --header -H --topic-prefix --on-invalid --partitions --retention --timeout --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "subscribe") echo " --group -g --topic-prefix --schema -s --schemas --output -o --dead-letter --exec --worker --concurrency -c --order --retries --backoff --timeout --on-error --count -n --offset --metrics --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "sql") echo " --file -f --execute -e --state-schema --group -g --output -o --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "sql run") echo " --query --state-schema --group -g --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "dev") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "dev up") echo " --create-topic --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "dev run") echo " --create-topic --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "help") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
    "completion") echo " --brokers -b --kafka-property -X --database -d --registry --registry-ca --registry-cert --registry-key " ;;
  esac
}

_pgk_values() {
  case "$1|$2" in
    "|--registry-ca") echo "__files__" ;;
    "|--registry-cert") echo "__files__" ;;
    "|--registry-key") echo "__files__" ;;
    "sink|--packing") echo "json msgpack avro" ;;
    "sink|--key-packing") echo "string json msgpack avro" ;;
    "sink|--coordinate") echo "postgres kafka" ;;
    "sink|--offset") echo "earliest latest" ;;
    "sink|--mode") echo "insert upsert update ignore" ;;
    "sink|--on-tombstone") echo "delete skip fail" ;;
    "sink|--from-file"|"sink|--datafile") echo "__files__" ;;
    "sink|--on-error") echo "dead-letter skip fail" ;;
    "sink|--registry-ca") echo "__files__" ;;
    "sink|--registry-cert") echo "__files__" ;;
    "sink|--registry-key") echo "__files__" ;;
    "cdc|--registry-ca") echo "__files__" ;;
    "cdc|--registry-cert") echo "__files__" ;;
    "cdc|--registry-key") echo "__files__" ;;
    "cdc outbox|--registry-ca") echo "__files__" ;;
    "cdc outbox|--registry-cert") echo "__files__" ;;
    "cdc outbox|--registry-key") echo "__files__" ;;
    "cdc outbox setup|--registry-ca") echo "__files__" ;;
    "cdc outbox setup|--registry-cert") echo "__files__" ;;
    "cdc outbox setup|--registry-key") echo "__files__" ;;
    "cdc outbox teardown|--registry-ca") echo "__files__" ;;
    "cdc outbox teardown|--registry-cert") echo "__files__" ;;
    "cdc outbox teardown|--registry-key") echo "__files__" ;;
    "cdc outbox uninstall|--registry-ca") echo "__files__" ;;
    "cdc outbox uninstall|--registry-cert") echo "__files__" ;;
    "cdc outbox uninstall|--registry-key") echo "__files__" ;;
    "cdc outbox run|--packing") echo "json msgpack avro" ;;
    "cdc outbox run|--registry-ca") echo "__files__" ;;
    "cdc outbox run|--registry-cert") echo "__files__" ;;
    "cdc outbox run|--registry-key") echo "__files__" ;;
    "cdc outbox status|--output"|"cdc outbox status|-o") echo "table json" ;;
    "cdc outbox status|--registry-ca") echo "__files__" ;;
    "cdc outbox status|--registry-cert") echo "__files__" ;;
    "cdc outbox status|--registry-key") echo "__files__" ;;
    "cdc wal|--registry-ca") echo "__files__" ;;
    "cdc wal|--registry-cert") echo "__files__" ;;
    "cdc wal|--registry-key") echo "__files__" ;;
    "cdc wal setup|--registry-ca") echo "__files__" ;;
    "cdc wal setup|--registry-cert") echo "__files__" ;;
    "cdc wal setup|--registry-key") echo "__files__" ;;
    "cdc wal run|--snapshot") echo "initial never only" ;;
    "cdc wal run|--format") echo "debezium pg_to_brokers flat" ;;
    "cdc wal run|--packing") echo "json msgpack avro" ;;
    "cdc wal run|--registry-ca") echo "__files__" ;;
    "cdc wal run|--registry-cert") echo "__files__" ;;
    "cdc wal run|--registry-key") echo "__files__" ;;
    "cdc wal status|--output"|"cdc wal status|-o") echo "table json" ;;
    "cdc wal status|--registry-ca") echo "__files__" ;;
    "cdc wal status|--registry-cert") echo "__files__" ;;
    "cdc wal status|--registry-key") echo "__files__" ;;
    "cdc wal teardown|--registry-ca") echo "__files__" ;;
    "cdc wal teardown|--registry-cert") echo "__files__" ;;
    "cdc wal teardown|--registry-key") echo "__files__" ;;
    "topics|--registry-ca") echo "__files__" ;;
    "topics|--registry-cert") echo "__files__" ;;
    "topics|--registry-key") echo "__files__" ;;
    "topics list|--output"|"topics list|-o") echo "table json" ;;
    "topics list|--registry-ca") echo "__files__" ;;
    "topics list|--registry-cert") echo "__files__" ;;
    "topics list|--registry-key") echo "__files__" ;;
    "topics describe|--output"|"topics describe|-o") echo "table json" ;;
    "topics describe|--registry-ca") echo "__files__" ;;
    "topics describe|--registry-cert") echo "__files__" ;;
    "topics describe|--registry-key") echo "__files__" ;;
    "topics create|--registry-ca") echo "__files__" ;;
    "topics create|--registry-cert") echo "__files__" ;;
    "topics create|--registry-key") echo "__files__" ;;
    "topics delete|--registry-ca") echo "__files__" ;;
    "topics delete|--registry-cert") echo "__files__" ;;
    "topics delete|--registry-key") echo "__files__" ;;
    "topics alter|--registry-ca") echo "__files__" ;;
    "topics alter|--registry-cert") echo "__files__" ;;
    "topics alter|--registry-key") echo "__files__" ;;
    "topics tail|--packing") echo "json msgpack avro raw string" ;;
    "topics tail|--key-packing") echo "json msgpack avro raw string" ;;
    "topics tail|--registry-ca") echo "__files__" ;;
    "topics tail|--registry-cert") echo "__files__" ;;
    "topics tail|--registry-key") echo "__files__" ;;
    "topics produce|--file"|"topics produce|-F") echo "__files__" ;;
    "topics produce|--packing") echo "json msgpack avro raw string" ;;
    "topics produce|--registry-ca") echo "__files__" ;;
    "topics produce|--registry-cert") echo "__files__" ;;
    "topics produce|--registry-key") echo "__files__" ;;
    "topics groups|--output"|"topics groups|-o") echo "table json" ;;
    "topics groups|--registry-ca") echo "__files__" ;;
    "topics groups|--registry-cert") echo "__files__" ;;
    "topics groups|--registry-key") echo "__files__" ;;
    "publish|--schemas") echo "__files__" ;;
    "publish|--file"|"publish|-F") echo "__files__" ;;
    "publish|--on-invalid") echo "skip fail" ;;
    "publish|--registry-ca") echo "__files__" ;;
    "publish|--registry-cert") echo "__files__" ;;
    "publish|--registry-key") echo "__files__" ;;
    "subscribe|--schemas") echo "__files__" ;;
    "subscribe|--output"|"subscribe|-o") echo "data envelope record" ;;
    "subscribe|--order") echo "partition key" ;;
    "subscribe|--on-error") echo "dead-letter stop skip" ;;
    "subscribe|--offset") echo "earliest latest" ;;
    "subscribe|--registry-ca") echo "__files__" ;;
    "subscribe|--registry-cert") echo "__files__" ;;
    "subscribe|--registry-key") echo "__files__" ;;
    "sql|--file"|"sql|-f") echo "__files__" ;;
    "sql|--output"|"sql|-o") echo "table json" ;;
    "sql|--registry-ca") echo "__files__" ;;
    "sql|--registry-cert") echo "__files__" ;;
    "sql|--registry-key") echo "__files__" ;;
    "sql run|--registry-ca") echo "__files__" ;;
    "sql run|--registry-cert") echo "__files__" ;;
    "sql run|--registry-key") echo "__files__" ;;
    "dev|--registry-ca") echo "__files__" ;;
    "dev|--registry-cert") echo "__files__" ;;
    "dev|--registry-key") echo "__files__" ;;
    "dev up|--registry-ca") echo "__files__" ;;
    "dev up|--registry-cert") echo "__files__" ;;
    "dev up|--registry-key") echo "__files__" ;;
    "dev run|--registry-ca") echo "__files__" ;;
    "dev run|--registry-cert") echo "__files__" ;;
    "dev run|--registry-key") echo "__files__" ;;
    "help|--registry-ca") echo "__files__" ;;
    "help|--registry-cert") echo "__files__" ;;
    "help|--registry-key") echo "__files__" ;;
    "completion|--registry-ca") echo "__files__" ;;
    "completion|--registry-cert") echo "__files__" ;;
    "completion|--registry-key") echo "__files__" ;;
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
