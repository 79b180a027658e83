#!/usr/bin/env bash
# p99 of a good open-loop DNS load (local answers) with and without a concurrent stream of
# hostile datagrams of one class (benches/hostile/hostile.py), class by class, in one run.
#
#   benches/hostile/run.sh [OUTDIR]
#   env: BIN=target/release RATE=5000 HOSTILE=5000 SECS=5 ROUNDS=2 CLASSES="..." THREADS=1
#        SERVER_PIN LOAD_PIN HOSTILE_PIN (see below)
#
# Method (what makes the comparison sound on a shared 2-core box):
# - Placement: the server (one worker) alone on CPU 0; the good load and the hostile sender on
#   CPU 1, all real-time (defaults: server and load `chrt -f 60`, hostile sender `chrt -f 50`),
#   so compilers at normal priority never preempt them; the hostile sender below the load so it
#   never delays a good query's send. The kernel's loopback work for a datagram runs on the
#   sender's CPU, so the hostile stream costs CPU 0 only what the server itself spends on it.
# - RT throttling (kernel.sched_rt_runtime_us = 950000 of 1000000 here: a CPU whose real-time
#   tasks run more than 95% of a second is stalled for the rest of it): the script records the
#   server's CPU share in every window (server_cpu_pct) and the hostile sender's CPU time; all
#   far below 95% means no window was throttled.
# - Pairing: each round measures a quiet window and a hostile window back to back, the order
#   alternating (quiet first in odd rounds, hostile first in even ones) so a slow drift of the
#   box does not favour one side. The hostile stream starts 0.3 s before its window and ends
#   after it, so the whole window is covered.
# - Control: class `benign` sends well-formed queries at the hostile rate: the cost of any
#   extra datagram, to compare each hostile class against.
# - Figures: per class, ratio = median p99 with the class / median p99 quiet over its rounds;
#   overall = the median of the hostile classes' ratios (benign excluded).
# - Idle CPUs poll (IDLE_POLL=1, the default; benches/idle-poll.sh): at 5,000 q/s the server's
#   CPU is idle most of the time, and a halted (virtual) CPU's wake-up, not the server, set the
#   tails of earlier runs; IDLE_POLL=0 leaves the idle states alone.
# Writes OUTDIR/hostile.csv (one row per window pair) and OUTDIR/summary.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release}
PORT=${PORT:-5399}
RATE=${RATE:-5000}
HOSTILE=${HOSTILE:-5000}
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-1}
SERVER_PIN=${SERVER_PIN-taskset -c 0 chrt -f 60}
LOAD_PIN=${LOAD_PIN-taskset -c 1 chrt -f 60}
HOSTILE_PIN=${HOSTILE_PIN-taskset -c 1 chrt -f 50}
CLASSES=${CLASSES:-$(python3 benches/hostile/hostile.py --list)}
OUT="${1:-$(mktemp -d /tmp/ringmasq-hostile.XXXXXX)}"
mkdir -p "$OUT"
IDLE_POLL_NOTE="idle states untouched"
if [[ "${IDLE_POLL:-1}" == 1 ]]; then
    # shellcheck source=benches/idle-poll.sh
    source benches/idle-poll.sh
    idle_poll_on || true
fi
$SERVER_PIN "$BIN/ringmasq" -k --port="$PORT" --listen-address=127.0.0.1 --no-resolv --no-hosts \
    --address=/bench.test/192.0.2.1 --threads="$THREADS" -8 "$OUT/ringmasq.log" &
PID=$!
HP=
trap 'kill $PID $HP 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    "$BIN/ringmasq-load" dns -s 127.0.0.1:"$PORT" --names 1 --suffix bench.test -n 1 -t 200ms \
        --json 2>/dev/null | grep -q '"answered":1' && break
    sleep 0.1
done
TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
# One good-load window: prints "p99_us answered sent server_cpu_pct".
window() {
    local c0 c1 j
    c0=$(cpu_ticks)
    j=$($LOAD_PIN "$BIN/ringmasq-load" dns -s 127.0.0.1:"$PORT" --names 1000 --suffix bench.test \
        -Q "$RATE" -l "${SECS}s" --json)
    c1=$(cpu_ticks)
    echo "$(jq -r '"\(.latency_us.p99) \(.answered) \(.sent)"' <<<"$j")" \
        "$(( (c1 - c0) * 100 / TICKS / SECS ))"
}
quiet() { Q=$(window); }
hostile() {
    $HOSTILE_PIN python3 benches/hostile/hostile.py 127.0.0.1 "$PORT" "$HOSTILE" \
        "$(echo "$SECS + 0.6" | bc)" "$1" >"$OUT/hostile.one" &
    HP=$!
    sleep 0.3
    H=$(window)
    wait "$HP"; HP=
}
echo "class,round,order,p99_quiet_us,p99_hostile_us,answered_quiet,answered_hostile,sent_quiet,sent_hostile,server_cpu_pct_quiet,server_cpu_pct_hostile,hostile_sent,load1" \
    >"$OUT/hostile.csv"
for c in $CLASSES; do
    for r in $(seq "$ROUNDS"); do
        if (( r % 2 )); then order=QH; quiet; hostile "$c"; else order=HQ; hostile "$c"; quiet; fi
        read -r qp qa qs qc <<<"$Q"
        read -r hp ha hs hc <<<"$H"
        hn=$(grep -o '[0-9]*$' "$OUT/hostile.one")
        row="$c,$r,$order,$qp,$hp,$qa,$ha,$qs,$hs,$qc,$hc,$hn,$(cut -d' ' -f1 /proc/loadavg)"
        echo "$row" | tee -a "$OUT/hostile.csv"
    done
done
kill -USR1 "$PID"; sleep 0.3
python3 - "$OUT/hostile.csv" "$RATE" "$HOSTILE" "$SECS" "$IDLE_POLL_NOTE" >"$OUT/summary.md" <<'PY'
import csv, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rate, hostile, secs = sys.argv[2:5]
med = lambda xs: st.median(float(x) for x in xs)
print(f"Good load {rate}/s open loop (local answers), hostile {hostile}/s of one class,"
      f" windows of {secs} s; p99 in us (median over rounds).")
print()
print("| class | rounds | p99 quiet | p99 with class | ratio | per-round ratios |")
print("|---|---:|---:|---:|---:|---|")
ratios = {}
for c in dict.fromkeys(r["class"] for r in rows):
    rs = [r for r in rows if r["class"] == c]
    q, h = med(r["p99_quiet_us"] for r in rs), med(r["p99_hostile_us"] for r in rs)
    ratios[c] = h / q
    per = ", ".join(f"{float(r['p99_hostile_us']) / float(r['p99_quiet_us']):.2f}" for r in rs)
    print(f"| {c} | {len(rs)} | {q:.0f} | {h:.0f} | {h / q:.2f} | {per} |")
hostile_only = [v for k, v in ratios.items() if k != "benign"]
print()
if hostile_only:
    print(f"Median ratio over the hostile classes: {st.median(hostile_only):.2f}"
          f" (range {min(hostile_only):.2f}-{max(hostile_only):.2f})")
if "benign" in ratios:
    print(f"Control (benign queries at the same rate): {ratios['benign']:.2f}")
lost = sum(int(r["sent_quiet"]) - int(r["answered_quiet"]) + int(r["sent_hostile"])
           - int(r["answered_hostile"]) for r in rows)
cpu = max(max(int(r["server_cpu_pct_quiet"]), int(r["server_cpu_pct_hostile"])) for r in rows)
loads = [float(r["load1"]) for r in rows]
print(f"Good queries unanswered: {lost}; server CPU per window at most {cpu}%"
      f" (RT throttling needs > 95%); load average {min(loads)}-{max(loads)}; {sys.argv[5]}.")
PY
cat "$OUT/summary.md"
grep -o 'dropped: .*' "$OUT/ringmasq.log" | tail -1 || true
