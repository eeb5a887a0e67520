#!/usr/bin/env bash
# pgk sink throughput against psql on the embedded stack (release build).
#
#   bench/sink.sh                          1M messages of ~100 bytes
#   PGK_BENCH_MESSAGES=200000 bench/sink.sh
#   PGK_BENCH_RSS=1 bench/sink.sh          also sink 10M messages and report peak RSS
#                                          (PGK_BENCH_RSS_MESSAGES to change the count)
#
# Prints msgs/s for: psql \copy into a jsonb table vs pgk sink with the json
# map; the same INSERT … SELECT … ON CONFLICT run in SQL from a jsonb staging
# table vs pgk sink with a YAML map (bench/sink-map.yaml) upserting on id;
# and the ratios. The mock broker keeps ~5 MiB per partition, so topics are
# pre-created with enough partitions.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >&2
export PGK="$PWD/.build/release/pgk"
export PGK_BENCH_MESSAGES="${PGK_BENCH_MESSAGES:-1000000}"
export PGK_BENCH_RSS_MESSAGES="${PGK_BENCH_RSS_MESSAGES:-10000000}"
rss_partitions=$(( PGK_BENCH_RSS_MESSAGES / 40000 + 1 ))
topics=(--create-topic "sinkbench:32")
if [[ "${PGK_BENCH_RSS:-}" == 1 ]]; then topics+=(--create-topic "sinkbench_rss:$rss_partitions"); fi
exec "$PGK" dev run "${topics[@]}" -- bench/sink-run.sh
