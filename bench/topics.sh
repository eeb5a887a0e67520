#!/usr/bin/env bash
# pgk topics produce / tail against kcat -P / kcat -C -e, in one run on one
# mock cluster (pgk dev up). Prints msgs/s (median of RUNS) and the pgk/kcat
# ratios. Exits 1 if any tool lost or duplicated messages.
#
# Environment: MESSAGES (1000000), SIZE bytes per message (100), PARTITIONS
# (64: the mock keeps only ~5 MiB per partition), RUNS (5), SKIP_BUILD=1 to
# reuse .build/release/pgk.
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${MESSAGES:-1000000}
size=${SIZE:-100}
partitions=${PARTITIONS:-64}
runs=${RUNS:-5}
# Keyless messages: without this, librdkafka's sticky partitioner fills one
# partition at a time, past the mock's per-partition retention.
producer_settings=(-X sticky.partitioning.linger.ms=0)

fail() { echo "bench/topics: $*" >&2; exit 1; }
command -v kcat >/dev/null || fail "kcat not found (scripts/install-deps --test)"
(( size >= 30 )) || fail "SIZE must be at least 30 bytes"

pgk="$PWD/.build/release/pgk"
# The body runs inside `pgk dev run`, which starts the mock cluster with the
# topics pre-created and removes it on exit.
if [[ -z "${PGK_BENCH_IN_DEV:-}" ]]; then
  if [[ -z "${SKIP_BUILD:-}" ]]; then
    swift build -c release >&2 || fail "release build failed"
  fi
  [[ -x "$pgk" ]] || fail "no release build at $pgk (run without SKIP_BUILD)"
  # One fresh topic per produce run and producer, so every count is exact.
  topic_args=()
  for ((run = 1; run <= runs; run++)); do
    for producer in pgk kcat kcat-idempotent; do topic_args+=(--create-topic "bench-$producer-$run:$partitions"); done
  done
  PGK_BENCH_IN_DEV=1 exec "$pgk" -q dev run "${topic_args[@]}" -- "$PWD/bench/$(basename "$0")" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgk-bench-topics.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
producers=(pgk kcat kcat-idempotent)
brokers=$PGK_BROKERS

# Unique lines of exactly SIZE bytes plus the newline: small JSON objects.
input="$work/input.ndjson"
awk -v n="$messages" -v size="$size" 'BEGIN {
  pad = "abcdefghijklmnopqrstuvwxyz0123456789"
  while (length(pad) < size) pad = pad pad
  for (i = 0; i < n; i++) {
    id = sprintf("%d", i)
    printf "{\"id\":%s,\"payload\":\"%s\"}\n", id, substr(pad, 1, size - 20 - length(id))
  }
}' >"$input"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Messages stored in a topic, from its watermarks.
stored() {
  "$pgk" topics describe "$1" -b "$brokers" -o json -q \
    | grep -o '"messages":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}

# pgk's own client defaults, for the like-for-like kcat rows: its producer
# is idempotent, its consumer lifts librdkafka 2.0.2's fetch-queue limits
# (see shared ENVIRONMENT.md: the defaults stall a fast consumer).
idempotent=(-X enable.idempotence=true)
deep_queues=(-X queued.min.messages=10000000 -X queued.max.messages.kbytes=2097151)

declare -A rates=() cpu=()
TIMEFORMAT='%R %U %S'
# measure NAME KIND(produce|consume) TARGET-TOPIC COMMAND... : one timed run.
# Records msgs/s (wall clock) and client CPU µs per message (user + system
# of the tool; for consumers also `wc -l`, the same for both), which other
# load on a shared machine disturbs much less.
measure() {
  local name=$1 kind=$2 topic=$3 count real user system
  shift 3
  if [[ $kind == produce ]]; then
    { time timeout 900 "$@" <"$input" 2>"$work/stderr"; } 2>"$work/time" \
      || fail "$name failed: $(tail -5 "$work/stderr")"
    count=$(stored "$topic")
  else
    { time timeout 900 "$@" 2>"$work/stderr" | wc -l >"$work/count"; } 2>"$work/time" \
      || fail "$name failed: $(tail -5 "$work/stderr")"
    count=$(<"$work/count")
  fi
  [[ "$count" == "$messages" ]] || fail "$name: $count of $messages messages"
  read -r real user system <"$work/time"
  rates[$name]+="$(awk -v n="$messages" -v s="$real" 'BEGIN { printf "%.0f", n / s }') "
  cpu[$name]+="$(awk -v n="$messages" -v u="$user" -v k="$system" 'BEGIN { printf "%.2f", (u + k) * 1e6 / n }') "
}

# Interleaved, so load from anything else on the machine hits every tool alike.
for ((run = 1; run <= runs; run++)); do
  measure "pgk topics produce" produce "bench-pgk-$run" \
    "$pgk" topics produce "bench-pgk-$run" -b "$brokers" "${producer_settings[@]}"
  measure "kcat -P" produce "bench-kcat-$run" \
    kcat -P -b "$brokers" -t "bench-kcat-$run" "${producer_settings[@]}"
  measure "kcat -P, idempotent" produce "bench-kcat-idempotent-$run" \
    kcat -P -b "$brokers" -t "bench-kcat-idempotent-$run" "${producer_settings[@]}" "${idempotent[@]}"
done
for ((run = 1; run <= runs; run++)); do
  measure "pgk topics tail" consume bench-pgk-1 "$pgk" topics tail bench-pgk-1 -b "$brokers"
  measure "kcat -C -e" consume bench-pgk-1 kcat -C -b "$brokers" -t bench-pgk-1 -o beginning -e -q
  measure "kcat -C -e, deep queues" consume bench-pgk-1 \
    kcat -C -b "$brokers" -t bench-pgk-1 -o beginning -e -q "${deep_queues[@]}"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "meets" : "BELOW") " target " t }'; }
declare -A medians=()
echo "topics: $messages messages of $size bytes, $partitions partitions, median of $runs runs"
echo "        $("$pgk" --version); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in "pgk topics produce" "kcat -P" "kcat -P, idempotent" "pgk topics tail" "kcat -C -e" "kcat -C -e, deep queues"; do
  # shellcheck disable=SC2086
  medians[$name]=$(median ${rates[$name]})
  # shellcheck disable=SC2086
  printf '  %-24s %9s msgs/s %6s µs CPU/msg   msgs/s runs: %s\n' "$name" "${medians[$name]}" \
    "$(median ${cpu[$name]})" "${rates[$name]% }"
done
produce_ratio=$(ratio "${medians[pgk topics produce]}" "${medians[kcat -P]}")
tail_ratio=$(ratio "${medians[pgk topics tail]}" "${medians[kcat -C -e]}")
echo "  produce pgk/kcat = $produce_ratio ($(verdict "$produce_ratio" 0.5));" \
  "vs idempotent kcat $(ratio "${medians[pgk topics produce]}" "${medians[kcat -P, idempotent]}")"
echo "  tail    pgk/kcat = $tail_ratio ($(verdict "$tail_ratio" 0.8));" \
  "vs deep-queue kcat $(ratio "${medians[pgk topics tail]}" "${medians[kcat -C -e, deep queues]}")"
echo "  every run delivered and read all $messages messages"
