#!/usr/bin/env bash
# pgk sql throughput against the SQL-only path, side by side in one run,
# on the embedded stack (release build).
#
#   bench/sql.sh                           1M events, 10k keys; a 100k-row table join
#   PGK_BENCH_EVENTS=200000 bench/sql.sh
#
# Aggregation: CREATE TABLE t AS SELECT k, COUNT(*), SUM(v), AVG(v) FROM s
# GROUP BY k over JSON events, `pgk sql run --until-end`, against COPY into
# a staging table plus one INSERT … SELECT … GROUP BY … ON CONFLICT DO
# UPDATE merging counts and sums. Join: a stream-table join enriching the
# events from a 100k-row table, in events/s. Prints wall clock, peak RSS
# and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >&2
export PGK="$PWD/.build/release/pgk"
export PGK_BENCH_EVENTS="${PGK_BENCH_EVENTS:-1000000}"
export PGK_BENCH_TABLE_ROWS="${PGK_BENCH_TABLE_ROWS:-100000}"
exec "$PGK" dev run --create-topic sqlbench:16 --create-topic sqlbench_dim:4 -- bench/sql-run.sh
