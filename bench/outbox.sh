#!/usr/bin/env bash
# Benchmarks for `pgk cdc outbox` on the embedded stack (release build):
#   1. trigger overhead: INSERT throughput with the capture triggers / without
#      (pgbench, one INSERT per transaction; a bulk INSERT ... SELECT; a bulk
#      DELETE), next to the row trigger pgk used before schema version 2
#   2. shipping rate from a pre-filled queue (PGK_BENCH_EVENTS, default 1M),
#      next to the bare DELETE ... RETURNING claim rate on the same queue
#   3. commit-to-Kafka latency p50/p99 at 1k events/s
# Prints one line per figure. Needs psql, pgbench and python3 with
# confluent-kafka (scripts/install-deps --test installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${PGK_BENCH_EVENTS:-1000000}
ROUNDS=${PGK_BENCH_ROUNDS:-3}
PGBENCH_SECONDS=${PGK_BENCH_PGBENCH_SECONDS:-10}
LATENCY_SECONDS=${PGK_BENCH_LATENCY_SECONDS:-20}

PGK=$PWD/.build/release/pgk
# The body runs inside `pgk dev run` (PostgreSQL, mock Kafka, registry).
# The mock keeps ~5 MiB per partition: a 1M-event topic needs many.
if [[ -z "${PGK_BENCH_IN_DEV:-}" ]]; then
  swift build -c release >/dev/null
  PGK_BENCH_IN_DEV=1 exec "$PGK" -q dev run --create-topic pgk.bench.fill:64 --create-topic pgk.bench.lat:4 \
    --create-topic pgk.bench.lat1:1 -- "$PWD/bench/$(basename "$0")" "$@"
fi
PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -1)")
WORK=$(mktemp -d)
SHIPPER=
cleanup() {
  [[ -n $SHIPPER ]] && kill "$SHIPPER" 2>/dev/null && wait "$SHIPPER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PGK_DATABASE" -c "CREATE DATABASE bench"
export PGK_DATABASE=${PGK_DATABASE%/*}/bench
sql() { psql -qtAX "$PGK_DATABASE" -c "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

echo "== pgk cdc outbox benchmarks ($(nproc) cores; $(date -u +%FT%TZ))"

# --- 1. trigger overhead --------------------------------------------------
# t_trig is set up by pgk (INSERT captured per statement); t_row has the row
# trigger for everything, as pgk attached it before schema version 2 (and
# still does on partitioned tables), for comparison in the same run.
sql "CREATE TABLE t_plain (id bigserial PRIMARY KEY, sku text, name text, qty int, price numeric)"
sql "CREATE TABLE t_trig (LIKE t_plain INCLUDING ALL)"
sql "CREATE TABLE t_row (LIKE t_plain INCLUDING ALL)"
"$PGK" -q cdc outbox setup t_trig sku --no-snapshot
"$PGK" -q cdc outbox setup t_row sku --no-snapshot
sql "DROP TRIGGER pgk_outbox_capture_insert ON t_row; DROP TRIGGER pgk_outbox_partition_guard ON t_row;
     DROP TRIGGER pgk_outbox_capture ON t_row;
     CREATE TRIGGER pgk_outbox_capture AFTER INSERT OR UPDATE OR DELETE ON t_row FOR EACH ROW
     EXECUTE FUNCTION pgk.outbox_capture('sku', 'public', 't_row')"
# Throughput on a shared machine is noisy, so the servers' CPU per
# transaction is measured too: backends' CPU is added to the postmaster's
# children times when they exit (pgbench disconnects at the end).
POSTMASTER=$(head -1 "$(sql "SHOW data_directory")/postmaster.pid")
TICKS=$(getconf CLK_TCK)
server_cpu_ms() { awk -v t="$TICKS" '{print ($16 + $17) * 1000 / t}' "/proc/$POSTMASTER/stat"; }
declare -A tps cpu
for _ in $(seq 1 "$ROUNDS"); do
  for table in t_plain t_trig t_row; do
    echo "INSERT INTO $table (sku, name, qty, price) VALUES ('sku-' || random(), 'product', 3, 9.99);" >"$WORK/$table.sql"
    before=$(server_cpu_ms)
    out=$("$PGBIN/pgbench" -n -c 2 -j 2 -T "$PGBENCH_SECONDS" -f "$WORK/$table.sql" "$PGK_DATABASE" 2>/dev/null)
    sleep 1 # until the postmaster has reaped the exited backends
    after=$(server_cpu_ms)
    count=$(awk '/number of transactions actually processed/ {print $NF}' <<<"$out")
    tps[$table]+="$(awk '/^tps/ {print $3}' <<<"$out") "
    cpu[$table]+="$(awk -v a="$before" -v b="$after" -v n="$count" 'BEGIN {printf "%.1f", (b - a) * 1000 / n}') "
  done
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
p=$(med "${tps[t_plain]}"); t=$(med "${tps[t_trig]}"); r=$(med "${tps[t_row]}")
pc=$(med "${cpu[t_plain]}"); tc=$(med "${cpu[t_trig]}"); rc=$(med "${cpu[t_row]}")
echo "trigger overhead, 1 INSERT per transaction (pgbench, 2 clients): without ${p%.*} tps, with ${t%.*} tps, ratio $(ratio "$t" "$p") (target >= 0.5); row trigger ${r%.*} tps, ratio $(ratio "$r" "$p")"
echo "  server CPU per transaction: without $pc us, with $tc us, ratio $(ratio "$pc" "$tc"); row trigger $rc us, ratio $(ratio "$pc" "$rc")"

bulk_ms() {
  psql -qX "$PGK_DATABASE" -c "TRUNCATE $1" -c "TRUNCATE pgk.outbox_events" -c '\timing on' \
    -c "INSERT INTO $1 (sku, name, qty, price) SELECT 'sku-' || i, 'product ' || i, i % 100, i * 1.5 FROM generate_series(1, 100000) i" \
    | awk '/^Time/ {print $2}'
}
delete_ms() {
  psql -qX "$PGK_DATABASE" -c "TRUNCATE pgk.outbox_events" -c '\timing on' -c "DELETE FROM $1" | awk '/^Time/ {print $2}'
}
declare -A bulk deletes
for _ in $(seq 1 "$ROUNDS"); do
  for table in t_plain t_trig t_row; do bulk[$table]+="$(bulk_ms $table) "; done
  for table in t_plain t_trig; do deletes[$table]+="$(delete_ms $table) "; done
done
p=$(med "${bulk[t_plain]}"); t=$(med "${bulk[t_trig]}"); r=$(med "${bulk[t_row]}")
echo "trigger overhead, bulk INSERT ... SELECT of 100k rows: without $p ms, with $t ms, ratio $(ratio "$p" "$t"); row trigger $r ms, ratio $(ratio "$p" "$r")"
p=$(med "${deletes[t_plain]}"); t=$(med "${deletes[t_trig]}")
echo "trigger overhead, bulk DELETE of 100k rows (captured per row): without $p ms, with $t ms, ratio $(ratio "$p" "$t")"
"$PGK" -q cdc outbox teardown t_trig
"$PGK" -q cdc outbox teardown t_row
sql "TRUNCATE pgk.outbox_events"

# --- 2. shipping rate ------------------------------------------------------
sql "CREATE TABLE fill (id int PRIMARY KEY, v text)"
"$PGK" -q cdc outbox setup fill id --no-snapshot
fill_queue() { sql "INSERT INTO fill SELECT i, md5(i::text) FROM generate_series($1, $2) i"; }

# The bare claim, for comparison: what the database alone allows.
fill_queue 1 "$EVENTS"
{
  echo '\o /dev/null'
  for _ in $(seq 1 $(( (EVENTS + 9999) / 10000 ))); do
    echo "WITH c AS (DELETE FROM pgk.outbox_events WHERE id = ANY (ARRAY(SELECT id FROM pgk.outbox_events ORDER BY id LIMIT 10000)) RETURNING *) SELECT * FROM c ORDER BY id;"
  done
} >"$WORK/claim.sql"
start=$(date +%s.%N)
psql -qX "$PGK_DATABASE" -f "$WORK/claim.sql"
end=$(date +%s.%N)
echo "bare DELETE ... RETURNING claim, 10k batches: $(awk -v n="$EVENTS" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f", n/(e-s)}') rows/s"

sql "TRUNCATE fill; TRUNCATE pgk.outbox_events"
fill_queue 1 "$EVENTS"
sql "VACUUM ANALYZE pgk.outbox_events"
start=$(date +%s.%N)
"$PGK" cdc outbox run --exit-when-empty --batch-size 10000 2>"$WORK/ship.log"
end=$(date +%s.%N)
left=$(sql "SELECT count(*) FROM pgk.outbox_events")
produced=$(python3 - "$PGK_BROKERS" <<'EOF'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "bench-count"})
md = c.list_topics("pgk.bench.fill", timeout=10)
print(sum(c.get_watermark_offsets(TopicPartition("pgk.bench.fill", p), timeout=10)[1]
          for p in md.topics["pgk.bench.fill"].partitions))
c.close()
EOF
)
echo "shipping rate, $EVENTS queued events, batches of 10k: $(awk -v n="$EVENTS" -v s="$start" -v e="$end" 'BEGIN {printf "%.0f", n/(e-s)}') events/s (target >= 50k); $produced in Kafka, $left left queued"
grep -h "outbox:" "$WORK/ship.log" | tail -1 | sed 's/^/  pgk says: /'

# --- 3. latency at 1k events/s --------------------------------------------
# lat: 4 partitions, as real topics have; lat1: one partition. The mock
# answers a producer's several per-partition requests ~40 ms apart (its
# sockets appear to delay small writes), which one partition avoids.
for table in lat lat1; do
  sql "CREATE TABLE $table (id int PRIMARY KEY, at timestamptz DEFAULT now())"
  "$PGK" -q cdc outbox setup "$table" id --no-snapshot
done
"$PGK" cdc outbox run 2>"$WORK/latency-shipper.log" &
SHIPPER=$!
sleep 1
for table in lat lat1; do
  result=$(python3 bench/outbox_latency.py --database "$PGK_DATABASE" --brokers "$PGK_BROKERS" \
    --topic "pgk.bench.$table" --table "$table" --rate 1000 --seconds "$LATENCY_SECONDS")
  echo "latency commit-to-Kafka at 1k events/s, topic pgk.bench.$table (target p99 < 100 ms): $result"
done
kill -TERM "$SHIPPER"; wait "$SHIPPER"; SHIPPER=
