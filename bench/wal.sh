#!/usr/bin/env bash
# Benchmark: `pgk cdc wal run` to the embedded (mock) Kafka against
# pg_recvlogical --plugin=pgoutput writing to /dev/null, over the same WAL
# in the same run. Two slots are created at the same LSN (the second is a
# copy of the first), then the workload runs, then each consumer drains
# its slot to the WAL position after the workload.
#
# Workloads: 1M rows in one transaction; 1M rows in 10k transactions of 100.
# Prints median rows/s for both over ROUNDS runs (default 3), the ratio
# pgk/pg_recvlogical and pgk's peak RSS.
#
# Usage: bench/wal.sh [ROWS]   (default 1000000; needs a release build,
# which it runs first)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
ROUNDS=${ROUNDS:-3}
TXN_ROWS=100
TXNS=$((ROWS / TXN_ROWS))
# ~330-byte events, ~5 MiB kept per mock partition: room for every event.
PARTITIONS=$(( ROWS / 10000 + 8 ))

PGK=$PWD/.build/release/pgk
# The body runs inside `pgk dev run` (PostgreSQL, mock Kafka, topics created).
if [[ -z "${PGK_BENCH_IN_DEV:-}" ]]; then
    swift build -c release --product pgk >/dev/null
    PGK_BENCH_IN_DEV=1 exec "$PGK" -q dev run --create-topic "pgk.bench.public.one_txn:$PARTITIONS" \
        --create-topic "pgk.bench.public.many_txns:$PARTITIONS" -- "$PWD/bench/$(basename "$0")" "$@"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The server's bin directory, as LocalPostgresCluster finds it (Debian layout).
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1"
$PSQL "$PGK_DATABASE" -c "CREATE DATABASE bench"
DB=${PGK_DATABASE%/postgres}/bench
$PSQL "$DB" -c "CREATE TABLE one_txn (id bigint PRIMARY KEY, name text, amount numeric(12,2), created timestamptz)" \
            -c "CREATE TABLE many_txns (LIKE one_txn INCLUDING ALL)"
"$PGK" -q -d "$DB" cdc wal setup --slot pgk --publication bench --tables one_txn,many_txns
"$PGK" -q -d "$DB" cdc wal teardown --slot pgk --keep-publication 2>/dev/null

high_sum() { # the topic's end offsets summed: counts everything ever produced
    "$PGK" topics describe "$1" -o json 2>/dev/null | python3 -c \
        'import json,sys; print(sum(p["high"] for p in json.load(sys.stdin)["partitions"]))'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Runs each consumer ROUNDS times over the same WAL (one slot per run, all
# created at the same LSN before the workload), alternating which goes
# first, and reports medians: the two cores are shared, so single runs are noisy.
measure() { # $1 = label, $2 = SQL workload, $3 = pgk's topic
    local label=$1 sql=$2 topic=$3 r
    $PSQL "$DB" -c "SELECT pg_create_logical_replication_slot('pgk1', 'pgoutput')" >/dev/null
    for r in $(seq 2 "$ROUNDS"); do
        $PSQL "$DB" -c "SELECT pg_copy_logical_replication_slot('pgk1', 'pgk$r')" >/dev/null
    done
    for r in $(seq 1 "$ROUNDS"); do
        $PSQL "$DB" -c "SELECT pg_copy_logical_replication_slot('pgk1', 'recv$r')" >/dev/null
    done
    $PSQL "$DB" -c "$sql"
    local endpos
    endpos=$($PSQL "$DB" -At -c "SELECT pg_current_wal_lsn()")
    local recv_times=() pgk_times=() rss_values=()
    run_recv() {
        local t0 t1
        t0=$(date +%s.%N)
        "$PGBIN/pg_recvlogical" -d "$DB" --slot "recv$1" --start --endpos "$endpos" --no-loop \
            -o proto_version=1 -o publication_names=bench -f /dev/null
        t1=$(date +%s.%N)
        recv_times+=("$(echo "$t1 - $t0" | bc -l)")
    }
    run_pgk() {
        local t0 t1 before after
        before=$(high_sum "$topic" || echo 0)
        t0=$(date +%s.%N)
        /usr/bin/time -f "%M" -o "$work/rss" "$PGK" -q -d "$DB" cdc wal run --slot "pgk$1" --publication bench \
            --snapshot never --exit-when-caught-up --heartbeat 0 --topic-prefix pgk.bench
        t1=$(date +%s.%N)
        pgk_times+=("$(echo "$t1 - $t0" | bc -l)")
        rss_values+=("$(cat "$work/rss")")
        after=$(high_sum "$topic")
        [[ $((after - before)) == "$ROWS" ]] || { echo "pgk produced $((after - before)) events to $topic, expected $ROWS" >&2; exit 1; }
    }
    for r in $(seq 1 "$ROUNDS"); do
        if (( r % 2 )); then run_recv "$r"; run_pgk "$r"; else run_pgk "$r"; run_recv "$r"; fi
    done
    local recv pgk rss
    recv=$(median "${recv_times[@]}")
    pgk=$(median "${pgk_times[@]}")
    rss=$(printf '%s\n' "${rss_values[@]}" | sort -n | tail -1)
    printf '%-30s pg_recvlogical %5.2f s (%6.0f rows/s)  pgk %5.2f s (%6.0f rows/s)  ratio %.2f  pgk peak RSS %d MiB\n' \
        "$label" "$recv" "$(echo "$ROWS / $recv" | bc -l)" "$pgk" "$(echo "$ROWS / $pgk" | bc -l)" \
        "$(echo "$recv / $pgk" | bc -l)" $((rss / 1024))
    echo "    runs: pg_recvlogical ${recv_times[*]}; pgk ${pgk_times[*]}"
    for r in $(seq 1 "$ROUNDS"); do
        $PSQL "$DB" -c "SELECT pg_drop_replication_slot('pgk$r'), pg_drop_replication_slot('recv$r')" >/dev/null
    done
}

measure "$ROWS rows, 1 transaction" \
    "INSERT INTO one_txn SELECT g, 'name ' || g, g * 1.25, now() FROM generate_series(1, $ROWS) g" \
    pgk.bench.public.one_txn
measure "$ROWS rows, $TXNS transactions" \
    "DO \$\$ BEGIN FOR t IN 0..$((TXNS - 1)) LOOP
        INSERT INTO many_txns SELECT g, 'name ' || g, g * 1.25, now() FROM generate_series(t * $TXN_ROWS + 1, (t + 1) * $TXN_ROWS) g;
        COMMIT; END LOOP; END \$\$" pgk.bench.public.many_txns
