# fish completion for pgk. Generated from pgk's command table; do not edit.
# Install: copy to ~/.config/fish/completions/pgk.fish

function __pgk_path_is
    set -l path ''
    for token in (commandline -opc)[2..-1]
        set -l candidate (string trim -- "$path $token")
        switch $candidate
            case 'help' 'completion'
                set path $candidate
        end
    end
    test "$path" = "$argv[1]"
end

complete -c pgk -f
complete -c pgk -n "__pgk_path_is ''" -a help -d 'show help for a command'
complete -c pgk -n "__pgk_path_is ''" -a completion -d 'print a shell completion script'
complete -c pgk -n "__pgk_path_is ''" -s b -l brokers -r -d 'Kafka bootstrap servers, comma-separated'
complete -c pgk -n "__pgk_path_is ''" -s X -l kafka-property -r -d 'librdkafka property, passed through verbatim (repeatable); \'-X list\' prints every property'
complete -c pgk -n "__pgk_path_is ''" -s d -l database -r -d 'PostgreSQL conninfo or URL; unset, libpq\'s PG* variables apply'
complete -c pgk -n "__pgk_path_is ''" -l registry -r -d 'Confluent Schema Registry URL, for Avro'
complete -c pgk -n "__pgk_path_is ''" -s v -l verbose -d 'More diagnostics on stderr (repeat for more)'
complete -c pgk -n "__pgk_path_is ''" -s q -l quiet -d 'Only errors on stderr'
complete -c pgk -n "__pgk_path_is 'help'" -s b -l brokers -r -d 'Kafka bootstrap servers, comma-separated'
complete -c pgk -n "__pgk_path_is 'help'" -s X -l kafka-property -r -d 'librdkafka property, passed through verbatim (repeatable); \'-X list\' prints every property'
complete -c pgk -n "__pgk_path_is 'help'" -s d -l database -r -d 'PostgreSQL conninfo or URL; unset, libpq\'s PG* variables apply'
complete -c pgk -n "__pgk_path_is 'help'" -l registry -r -d 'Confluent Schema Registry URL, for Avro'
complete -c pgk -n "__pgk_path_is 'help'" -s v -l verbose -d 'More diagnostics on stderr (repeat for more)'
complete -c pgk -n "__pgk_path_is 'help'" -s q -l quiet -d 'Only errors on stderr'
complete -c pgk -n "__pgk_path_is 'completion'" -s b -l brokers -r -d 'Kafka bootstrap servers, comma-separated'
complete -c pgk -n "__pgk_path_is 'completion'" -s X -l kafka-property -r -d 'librdkafka property, passed through verbatim (repeatable); \'-X list\' prints every property'
complete -c pgk -n "__pgk_path_is 'completion'" -s d -l database -r -d 'PostgreSQL conninfo or URL; unset, libpq\'s PG* variables apply'
complete -c pgk -n "__pgk_path_is 'completion'" -l registry -r -d 'Confluent Schema Registry URL, for Avro'
complete -c pgk -n "__pgk_path_is 'completion'" -s v -l verbose -d 'More diagnostics on stderr (repeat for more)'
complete -c pgk -n "__pgk_path_is 'completion'" -s q -l quiet -d 'Only errors on stderr'
