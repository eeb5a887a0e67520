#!/usr/bin/env bash
# The body of bench/sql.sh, run inside `pgk dev run` (PGK_BROKERS, PGK_DATABASE set).
set -euo pipefail
N=$PGK_BENCH_EVENTS
ROWS=$PGK_BENCH_TABLE_ROWS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql() { command psql "$PGK_DATABASE" -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
produce() { # topic file [key-delimiter]
  kcat -P -b "$PGK_BROKERS" -t "$1" ${3:+-K "$3"} -X linger.ms=50 -X batch.num.messages=10000 \
       -X queue.buffering.max.messages=1000000 -l "$2"
}
# Runs a command under GNU time; prints "wall_seconds max_rss_mb".
measured() {
  local t0 t1
  t0=$(now)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" 2> "$work/run.log" || { cat "$work/run.log" >&2; exit 1; }
  t1=$(now)
  echo "$(elapsed "$t0" "$t1") $(( $(tail -1 "$work/rss") / 1024 ))"
}

echo "generating $N events over 10000 keys and a $ROWS-row table…" >&2
# Keyed by k, so the events spread over the partitions (the mock keeps ~5 MiB each).
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "%d|{\"k\":%d,\"v\":%d,\"dim\":%d}\n", i % 10000, i % 10000, i % 1000, i % 100000 }' \
  > "$work/events.ndjson"
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "%d,%d\n", i % 10000, i % 1000 }' > "$work/events.csv"
awk -v n="$ROWS" 'BEGIN { for (i = 0; i < n; i++) printf "%d|{\"name\":\"dim-%06d\",\"weight\":%d}\n", i, i, i % 7 }' \
  > "$work/dim.txt"
# The table first: a stream-table join sees the table as of each event's timestamp.
produce sqlbench_dim "$work/dim.txt" "|"
produce sqlbench "$work/events.ndjson" "|"

# SQL-only aggregation: COPY into a staging table, one merging upsert.
psql -c "CREATE UNLOGGED TABLE IF NOT EXISTS stage (k integer, v integer)" \
     -c "CREATE TABLE sql_totals (k integer PRIMARY KEY, n bigint, s bigint, avg_sum double precision, avg_n bigint)"
t0=$(now)
psql -c "\\copy stage FROM '$work/events.csv' CSV" \
     -c "INSERT INTO sql_totals SELECT k, count(*), sum(v), sum(v::double precision), count(v) FROM stage GROUP BY k
         ON CONFLICT (k) DO UPDATE SET n = sql_totals.n + EXCLUDED.n, s = sql_totals.s + EXCLUDED.s,
           avg_sum = sql_totals.avg_sum + EXCLUDED.avg_sum, avg_n = sql_totals.avg_n + EXCLUDED.avg_n"
t1=$(now)
sql_s=$(elapsed "$t0" "$t1")

# The floor for any Kafka consumer here: kcat reading the same topic to its
# end, at its best (no read-ahead stall, pgk's end-of-partition wait).
read -r kcat_s _ < <(measured bash -c 'kcat -C -b "$PGK_BROKERS" -t sqlbench -o beginning -e -q -f "%s\n" \
  -X fetch.wait.max.ms=100 -X queued.min.messages=10000000 -X queued.max.messages.kbytes=2097151 > /dev/null')

"$PGK" sql -q -e "
  SET 'auto.offset.reset'='earliest';
  CREATE STREAM s (k INT, v INT, dim INT) WITH (KAFKA_TOPIC='sqlbench', VALUE_FORMAT='JSON');
  CREATE TABLE t AS SELECT k, COUNT(*) AS n, SUM(v) AS total, AVG(v) AS mean FROM s GROUP BY k;
"
read -r agg_s agg_rss < <(measured "$PGK" sql run --until-end --query T -v)
got=$(psql -tAc "SELECT sum(n) FROM t")
[[ "$got" == "$N" ]] || echo "WARNING: t counts $got events, expected $N" >&2
same=$(psql -tAc "SELECT count(*) FROM t JOIN sql_totals USING (k) WHERE t.n = sql_totals.n AND t.total = sql_totals.s")
[[ "$same" == 10000 ]] || echo "WARNING: only $same of 10000 keys agree with the SQL-only path" >&2

# Join: the table's KAFKA key is the id as text (kcat -K), so it is a STRING.
"$PGK" sql -q -e "
  SET 'auto.offset.reset'='earliest';
  CREATE TABLE dims (id STRING PRIMARY KEY, name STRING, weight INT) WITH (KAFKA_TOPIC='sqlbench_dim', VALUE_FORMAT='JSON');
  CREATE STREAM enriched AS SELECT d.id, s.k, s.v, d.name, d.weight FROM s LEFT JOIN dims d ON CAST(s.dim AS STRING) = d.id;
"
read -r join_s join_rss < <(measured "$PGK" sql run --until-end --query ENRICHED -v)
unmatched=$(kcat -C -b "$PGK_BROKERS" -t ENRICHED -e -q -f '%s\n' | grep -c '"NAME" *: *null' || true)
[[ "$unmatched" == 0 ]] || echo "WARNING: $unmatched enriched events found no table row" >&2

awk -v n="$N" -v sq="$sql_s" -v kc="$kcat_s" -v ag="$agg_s" -v ar="$agg_rss" -v js="$join_s" -v jr="$join_rss" 'BEGIN {
  printf "aggregation, %d events, 10000 keys:\n", n
  printf "  SQL only (COPY + merging upsert)  %8.2f s  %9d events/s\n", sq, n / sq
  printf "  pgk sql run --until-end           %8.2f s  %9d events/s  peak RSS %d MB\n", ag, n / ag, ar
  printf "  kcat -C -e of the topic alone    %8.2f s  %9d events/s\n", kc, n / kc
  printf "  ratio pgk/SQL-only                %8.2f   (kcat alone: %.2f)\n", sq / ag, sq / kc
  printf "stream-table join, %d events:\n", n
  printf "  pgk sql run --until-end           %8.2f s  %9d events/s  peak RSS %d MB\n", js, n / js, jr
}'
