#!/usr/bin/env bash
# p99 of a good open-loop DNS load (local answers) with and without a concurrent stream of
# hostile datagrams (benches/hostile/hostile.py), alternating, ROUNDS times, in one run.
# Usage: benches/hostile/run.sh  (env: BIN=target/release RATE=5000 HOSTILE=5000 SECS=5 ROUNDS=3)
# On a shared machine pin each party and run it at real-time priority, e.g.
#   THREADS=1 SERVER_PIN="taskset -c 0 chrt -f 50" LOAD_PIN="taskset -c 1 chrt -f 50" \
#   HOSTILE_PIN="taskset -c 1 chrt -f 40" benches/hostile/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release}
PORT=${PORT:-5399}
RATE=${RATE:-5000}
HOSTILE=${HOSTILE:-5000}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
SERVER_PIN=${SERVER_PIN:-}
LOAD_PIN=${LOAD_PIN:-}
HOSTILE_PIN=${HOSTILE_PIN:-}
$SERVER_PIN "$BIN/ringmasq" -k --port="$PORT" --listen-address=127.0.0.1 --no-resolv --no-hosts \
    --address=/bench.test/192.0.2.1 --threads="$THREADS" -8 /tmp/ringmasq-hostile-bench.log &
PID=$!
trap 'kill $PID' EXIT
sleep 0.5
p99() { sed -n 's/.*"p99":\([0-9]*\).*/\1/p'; }
for r in $(seq "$ROUNDS"); do
    quiet=$($LOAD_PIN "$BIN/ringmasq-load" dns -s 127.0.0.1:"$PORT" --names 1000 --suffix bench.test \
        -Q "$RATE" -l "${SECS}s" --json | p99)
    $HOSTILE_PIN python3 benches/hostile/hostile.py 127.0.0.1 "$PORT" "$HOSTILE" "$SECS" >/dev/null &
    HP=$!
    busy=$($LOAD_PIN "$BIN/ringmasq-load" dns -s 127.0.0.1:"$PORT" --names 1000 --suffix bench.test \
        -Q "$RATE" -l "${SECS}s" --json | p99)
    wait "$HP"
    echo "round $r: p99 quiet ${quiet} us, with ${HOSTILE}/s hostile ${busy} us (load average $(cut -d' ' -f1 /proc/loadavg))"
done
kill -USR1 $PID; sleep 0.3
grep -o 'dropped: .*' /tmp/ringmasq-hostile-bench.log | tail -1
