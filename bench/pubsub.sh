#!/usr/bin/env bash
# pgk publish (validating every event against a 10-property schema and
# wrapping it in a kafkaesk envelope) against kcat -P of the same enveloped
# lines, pgk subscribe to stdout against kcat -C, and pgk subscribe --worker
# with a trivial Python worker (target 50k msgs/s), in one run on one mock
# cluster (inside pgk dev run). Prints msgs/s (median
# of RUNS), client CPU per message and the pgk/kcat ratio (target >= 0.5),
# and the multiple of kafkaesk's publish rate measured on this machine
# (18.7k msgs/s, shared ENVIRONMENT.md). Exits 1 if any tool lost or
# duplicated messages, or if pgk's bytes differ from the kcat ones.
#
# Environment: MESSAGES (1000000), PARTITIONS (64: the mock keeps only
# ~5 MiB per partition), RUNS (3), SKIP_BUILD=1 to reuse .build/release/pgk.
set -euo pipefail
cd "$(dirname "$0")/.."

messages=${MESSAGES:-1000000}
partitions=${PARTITIONS:-64}
runs=${RUNS:-3}
kafkaesk_publish=18700
# Keyless messages: without this, librdkafka's sticky partitioner fills one
# partition at a time, past the mock's per-partition retention.
producer_settings=(-X sticky.partitioning.linger.ms=0)
# pgk's producer is idempotent with acks=all; kcat gets the same settings.
idempotent=(-X enable.idempotence=true -X acks=all)

fail() { echo "bench/pubsub: $*" >&2; exit 1; }
command -v kcat >/dev/null || fail "kcat not found (scripts/install-deps --test)"

pgk="$PWD/.build/release/pgk"
# The body runs inside `pgk dev run`, which starts the mock cluster with the
# topics pre-created and removes it on exit.
if [[ -z "${PGK_BENCH_IN_DEV:-}" ]]; then
  if [[ -z "${SKIP_BUILD:-}" ]]; then
    swift build -c release >&2 || fail "release build failed"
  fi
  [[ -x "$pgk" ]] || fail "no release build at $pgk (run without SKIP_BUILD)"
  topic_args=()
  for ((run = 1; run <= runs; run++)); do
    for producer in pgk kcat; do topic_args+=(--create-topic "bench-$producer-$run:$partitions"); done
  done
  PGK_BENCH_IN_DEV=1 exec "$pgk" -q dev run "${topic_args[@]}" -- "$PWD/bench/$(basename "$0")" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgk-bench-pubsub.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
brokers=$PGK_BROKERS

# The schema: 10 properties with the checks real event schemas carry.
mkdir -p "$work/schemas"
cat >"$work/schemas/PageView.1.json" <<'JSON'
{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
 "properties": {
   "id": {"type": "integer", "minimum": 0},
   "user": {"type": "string", "minLength": 1, "maxLength": 32},
   "page": {"type": "string", "maxLength": 64},
   "kind": {"enum": ["view", "click", "scroll"]},
   "ms": {"type": "integer", "minimum": 0, "maximum": 600000},
   "score": {"type": "number"},
   "new": {"type": "boolean"},
   "ref": {"type": ["string", "null"]},
   "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
   "v": {"const": 1}},
 "required": ["id", "user", "page", "kind", "ms", "score", "new", "ref", "tags", "v"],
 "additionalProperties": false}
JSON

# Events (the data objects) for pgk, and the same events enveloped for kcat:
# about 150 bytes per enveloped line.
events="$work/events.ndjson"
enveloped="$work/enveloped.ndjson"
awk -v n="$messages" -v events="$events" -v enveloped="$enveloped" 'BEGIN {
  split("view click scroll", kinds, " ")
  for (i = 0; i < n; i++) {
    data = sprintf("{\"id\":%d,\"user\":\"u%05d\",\"page\":\"/p%04d\",\"kind\":\"%s\",\"ms\":%d,\"score\":%d.%02d,\"new\":%s,\"ref\":null,\"tags\":[\"a\"],\"v\":1}",
                   i, i % 100000, i % 10000, kinds[i % 3 + 1], i % 60000, i % 100, i % 97, (i % 2 ? "true" : "false"))
    print data >events
    print "{\"schema\":\"PageView:1\",\"data\":" data "}" >enveloped
  }
}'
size=$(awk '{ s += length($0) } END { printf "%.0f", s / NR }' "$enveloped")

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

stored() {
  "$pgk" topics describe "$1" -b "$brokers" -o json -q \
    | grep -o '"messages":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}

declare -A rates=() cpu=()
TIMEFORMAT='%R %U %S'
# measure NAME TOPIC INPUT COMMAND... : one timed run, checked by count.
measure() {
  local name=$1 topic=$2 input=$3 count real user system
  shift 3
  { time timeout 900 "$@" <"$input" 2>"$work/stderr"; } 2>"$work/time" \
    || fail "$name failed: $(tail -5 "$work/stderr")"
  count=$(stored "$topic")
  [[ "$count" == "$messages" ]] || fail "$name: $count of $messages messages"
  read -r real user system <"$work/time"
  rates[$name]+="$(awk -v n="$messages" -v s="$real" 'BEGIN { printf "%.0f", n / s }') "
  cpu[$name]+="$(awk -v n="$messages" -v u="$user" -v k="$system" 'BEGIN { printf "%.2f", (u + k) * 1e6 / n }') "
}

# Interleaved, so load from anything else on the machine hits both alike.
for ((run = 1; run <= runs; run++)); do
  measure "pgk publish" "bench-pgk-$run" "$events" \
    "$pgk" publish "bench-pgk-$run" --schema PageView:1 --schemas "$work/schemas" -b "$brokers" -q \
    "${producer_settings[@]}"
  measure "kcat -P" "bench-kcat-$run" "$enveloped" \
    kcat -P -b "$brokers" -t "bench-kcat-$run" "${producer_settings[@]}" "${idempotent[@]}"
done

# Consuming to stdout: pgk subscribe (envelope checks, a group, offsets
# committed after each flush) against kcat -C -e, each over its own topic.
# consume NAME COMMAND... : one timed run, checked by its line count.
consume() {
  local name=$1 count real user system
  shift
  { time timeout 900 "$@" >"$work/out" 2>"$work/stderr"; } 2>"$work/time" \
    || fail "$name failed: $(tail -5 "$work/stderr")"
  count=$(wc -l <"$work/out")
  [[ "$count" == "$messages" ]] || fail "$name: $count of $messages lines"
  read -r real user system <"$work/time"
  rates[$name]+="$(awk -v n="$messages" -v s="$real" 'BEGIN { printf "%.0f", n / s }') "
  cpu[$name]+="$(awk -v n="$messages" -v u="$user" -v k="$system" 'BEGIN { printf "%.2f", (u + k) * 1e6 / n }') "
}
for ((run = 1; run <= runs; run++)); do
  consume "pgk subscribe" "$pgk" subscribe "bench-pgk-$run" -g "bench-$run" -o envelope --until-end -b "$brokers" -q \
    -X session.timeout.ms=6000
  consume "kcat -C" kcat -C -b "$brokers" -t "bench-kcat-$run" -e -q
  # A like-for-like baseline: kcat as a member of a consumer group pays the same join.
  consume "kcat -G" kcat -G "bench-kcat-group-$run" -b "$brokers" -e -q -o beginning -X session.timeout.ms=6000 "bench-kcat-$run"
done

# --worker with a trivial worker that acknowledges each message (flushing
# each answer, as the protocol requires), two lanes.
cat >"$work/worker.py" <<'PY'
import sys
out = sys.stdout
for line in sys.stdin:
    out.write("ok\n")
    out.flush()
PY
work_through() {
  local name=$1 real user system
  shift
  { time timeout 900 "$@" 2>"$work/stderr"; } 2>"$work/time" || fail "$name failed: $(tail -5 "$work/stderr")"
  grep -q " $messages delivered" "$work/stderr" || fail "$name: not all delivered: $(tail -3 "$work/stderr")"
  read -r real user system <"$work/time"
  rates[$name]+="$(awk -v n="$messages" -v s="$real" 'BEGIN { printf "%.0f", n / s }') "
  cpu[$name]+="$(awk -v n="$messages" -v u="$user" -v k="$system" 'BEGIN { printf "%.2f", (u + k) * 1e6 / n }') "
}
for ((run = 1; run <= runs; run++)); do
  work_through "pgk --worker" "$pgk" subscribe "bench-pgk-$run" -g "bench-worker-$run" --until-end -b "$brokers" \
    --worker "python3 $work/worker.py" --concurrency 2 -o data -X session.timeout.ms=6000
done

# The same bytes: pgk's envelopes equal the kcat input, line for line.
"$pgk" topics tail bench-pgk-1 -b "$brokers" -q | sort >"$work/pgk.sorted"
sort "$enveloped" >"$work/kcat.sorted"
cmp -s "$work/pgk.sorted" "$work/kcat.sorted" || fail "pgk publish's messages differ from the enveloped input"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "meets" : "BELOW") " target " t }'; }
declare -A medians=()
echo "pubsub: $messages events, $size bytes enveloped on average, 10-property schema, $partitions partitions, median of $runs runs"
echo "        $("$pgk" --version); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in "pgk publish" "kcat -P" "pgk subscribe" "kcat -C" "kcat -G" "pgk --worker"; do
  # shellcheck disable=SC2086
  medians[$name]=$(median ${rates[$name]})
  # shellcheck disable=SC2086
  printf '  %-14s %9s msgs/s %6s µs CPU/msg   msgs/s runs: %s\n' "$name" "${medians[$name]}" \
    "$(median ${cpu[$name]})" "${rates[$name]% }"
done
publish_ratio=$(ratio "${medians[pgk publish]}" "${medians[kcat -P]}")
echo "  publish pgk/kcat = $publish_ratio ($(verdict "$publish_ratio" 0.5));" \
  "$(ratio "${medians[pgk publish]}" "$kafkaesk_publish")x kafkaesk's $kafkaesk_publish msgs/s"
subscribe_ratio=$(ratio "${medians[pgk subscribe]}" "${medians[kcat -C]}")
echo "  subscribe pgk/kcat = $subscribe_ratio ($(verdict "$subscribe_ratio" 0.5)) (includes the group join);" \
  "$(ratio "${medians[pgk subscribe]}" 9600)x kafkaesk's 9600 msgs/s consuming"
echo "  subscribe pgk/kcat -G (both join a group) = $(ratio "${medians[pgk subscribe]}" "${medians[kcat -G]}")"
echo "  --worker (python, 2 lanes): ${medians[pgk --worker]} msgs/s ($(awk -v r="${medians[pgk --worker]}" \
  'BEGIN { print (r >= 50000 ? "meets" : "BELOW") " target 50000" }'))"
echo "  every run delivered all $messages messages; pgk's bytes equal the enveloped input"
