#!/usr/bin/env bash
# benches/soak/run.sh — one ringmasq under mixed load for DURATION seconds: DNS (hits and misses
# forwarded to knotd), DHCP churn and PXE/TFTP boots, sampled every INTERVAL seconds.
#
#   DURATION=3600 INTERVAL=60 benches/soak/run.sh [OUTDIR]
#
# Everything runs inside three namespaces this script creates (and deletes on exit):
#   S  server: ringmasq (DNS on 127.0.0.1:53 forwarding to knotd on 127.0.0.1:5300, DHCP,
#      TFTP), knotd, and the DNS load generator on S's loopback;
#   D  DHCP churn clients, veth sd0 10.98.0.1/16 (S) -- sd1 (D);
#   P  PXE machines, veth sp0 10.97.0.1/24 (S) -- sp1 10.97.0.250/24 (P).
# Loads (env to change them):
#   DNS   ringmasq-load dns, open loop DNS_RATE/s (default 5000), DNS_HIT of the queries
#         (default 0.8) cycle 1,000 cached names, the rest are never-seen names (misses);
#         one run per window, so each window has its own p50/p99, timeouts and rcodes;
#   DHCP  ringmasq-load dhcp in a loop: DHCP_CLIENTS (default 200) clients at 100/s, DORA +
#         renewal + RELEASE, the MAC set rotating over 16 seeds, as a relay agent (giaddr
#         10.98.0.2). Not on the link: there the server sets a neighbour entry per offered
#         address, and the neighbour table is host-wide (gc_thresh3 = 1024 by default); 3,200
#         rotating MACs overflow it ("neighbor table overflow"), for every namespace on the host;
#   PXE   ringmasq-load pxe in a loop: PXE_CLIENTS (default 20) machines, DORA then TFTP of a
#         300 KB boot file and a 1 MiB image (blksize 1468), the MAC set rotating over 8 seeds.
# Every process of the soak runs at real-time priority, so nothing at normal priority on the
# box (other people's compilers) preempts it, and above the FIFO 50 that other benchmarks here
# use: the server on CPU 0 (PRIO, default `chrt -f 70`; its DHCP and TFTP threads at
# SPLIT_PRIO 60), knotd and the DNS load on CPU 1 at PRIO, the DHCP churn and PXE loops on
# CPU 1 at CHURN_PRIO (default `chrt -r 55`, round robin so they take turns). The lease file
# is on disk (OUTDIR). The run stops itself: the windows end at DURATION, and a watchdog ends
# the script (summary written, namespaces and every process in them gone) DURATION + 60 s
# after the start at the latest.
# Every window appends a row to OUTDIR/soak.csv: the server's VmRSS (and its anonymous part),
# fds, threads, CPU seconds, the window's DNS figures, DHCP/PXE runs finished in it and their
# failures, and the load average. At the end OUTDIR/summary.md:
#   warm-up = the first WARMUP windows (default 10, i.e. 10 minutes);
#   flat    = the range of RSS/fds/threads over the windows after warm-up, and the RSS trend
#           (least-squares slope, KiB/h) over the last half of them: a leak shows as a slope;
#   p99 drift (robust) = the windows after warm-up cut into BLOCK consecutive windows
#           (default 10); m(b) = median of the per-window p99 in block b;
#           drift = (m(last block) - m(first block)) / m(first block), and the largest
#           |m(b) - m(first)| / m(first) over all blocks; a median of 10 one-minute p99s is not
#           moved by a single disturbed minute, which a 5-window comparison is;
#   errors  = DNS timeouts + non-NOERROR rcodes + send/receive errors, DHCP clients not leased
#           or not renewed + NAKs, PXE machines not booted.
# Idle CPUs poll for the whole run (IDLE_POLL=1, the default; benches/idle-poll.sh): at 5,000
# q/s a halted (virtual) CPU's wake-up, not the server, sets much of a window's p99, and how
# often the box is idle varies over an hour; IDLE_POLL=0 leaves the idle states alone. The
# choice is written to OUTDIR/idle_poll.txt and into the summary.
# Needs root, knotd, python3, jq and target/release/{ringmasq,ringmasq-load}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RINGMASQ="${BENCH_RINGMASQ_BIN:-$ROOT/target/release/ringmasq}"
LOAD="${BENCH_LOAD_BIN:-$ROOT/target/release/ringmasq-load}"
DURATION="${DURATION:-3600}"
INTERVAL="${INTERVAL:-60}"
WARMUP="${WARMUP:-10}"
BLOCK="${BLOCK:-10}"
DNS_RATE="${DNS_RATE:-5000}"
DNS_HIT="${DNS_HIT:-0.8}"
DHCP_CLIENTS="${DHCP_CLIENTS:-200}"
PXE_CLIENTS="${PXE_CLIENTS:-20}"
PRIO="${PRIO:-chrt -f 70}"
CHURN_PRIO="${CHURN_PRIO:-chrt -r 55}"
OUT="${1:-$(mktemp -d /tmp/ringmasq-soak.XXXXXX)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
summary() {
python3 - "$OUT/soak.csv" "$WARMUP" "$DNS_RATE" "$DNS_HIT" "$DHCP_CLIENTS" "$PXE_CLIENTS" "$BLOCK" \
    >"$OUT/summary.md" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
warm, rate, hit, dc, pc = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
block = int(sys.argv[7])
f = lambda r, k: float(r[k])
if not rows:
    print("no windows"); sys.exit(0)
post = rows[warm:] if len(rows) > warm else rows
span = lambda k: (min(f(r, k) for r in post), max(f(r, k) for r in post))
def blocks():
    # Consecutive blocks of `block` windows after warm-up; a short tail joins the last block.
    n = max(1, len(post) // block)
    bs = [post[i * block:(i + 1) * block] for i in range(n)]
    bs[-1] = post[(n - 1) * block:]
    return [statistics.median(f(r, "dns_p99_us") for r in b) for b in bs]
tot = lambda k: int(sum(f(r, k) for r in rows))
elapsed = int(f(rows[-1], "elapsed_s"))
print(f"# ringmasq soak: {len(rows)} windows, {elapsed} s")
print()
print(f"Load: DNS {rate}/s open loop ({hit} hits over 1,000 cached names, the rest never-seen"
      f" names forwarded to knotd); DHCP churn {dc} clients per run (DORA, renewal, RELEASE);"
      f" PXE {pc} machines per run (DORA, 300 KB boot file, 1 MiB image by TFTP).")
loads = [f(r, "load1") for r in rows]
print(f"Load average (1 min) min/median/max over the windows:"
      f" {min(loads):.2f}/{statistics.median(loads):.2f}/{max(loads):.2f}")
print()
print(f"After warm-up ({warm} windows):")
for k, unit in (("rss_kib", "KiB"), ("rss_anon_kib", "KiB"), ("fds", ""), ("threads", "")):
    if k not in post[0]:
        continue
    lo, hi = span(k)
    print(f"- {k}: {lo:.0f} .. {hi:.0f} {unit} (range {hi - lo:.0f}; first after warm-up"
          f" {f(post[0], k):.0f}, last {f(post[-1], k):.0f})")
def slope(k, rs):
    # Least-squares slope of k against elapsed time, per hour.
    xs, ys = [f(r, "elapsed_s") for r in rs], [f(r, k) for r in rs]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 3600 if den else 0.0
late = post[len(post) // 2:]
if len(late) >= 2:
    print(f"- RSS trend over the last half of the windows ({len(late)}): "
          f"{slope('rss_kib', late):+.0f} KiB/h (least squares)")
ms = blocks()
pct = lambda x: (x - ms[0]) / ms[0] * 100 if ms[0] else 0.0
print(f"- DNS p99, median per block of {block} windows after warm-up: "
      + ", ".join(f"{m:.0f}" for m in ms) + " us")
print(f"- DNS p99 drift (last block vs first block): {pct(ms[-1]):+.1f} %;"
      f" largest block deviation from the first: {max((pct(m) for m in ms), key=abs):+.1f} %")
h = len(post) // 2
if h:
    a = statistics.median(f(r, "dns_p99_us") for r in post[:h])
    b = statistics.median(f(r, "dns_p99_us") for r in post[h:])
    print(f"- DNS p99: median of the first half of the windows after warm-up {a:.0f} us, of the"
          f" second half {b:.0f} us: drift {(b - a) / a * 100 if a else 0:+.1f} %")
print(f"- DNS p50 range: {span('dns_p50_us')[0]:.0f} .. {span('dns_p50_us')[1]:.0f} us;"
      f" p99 range {span('dns_p99_us')[0]:.0f} .. {span('dns_p99_us')[1]:.0f} us")
print()
print(f"Totals: DNS {tot('dns_sent')} sent, {tot('dns_answered')} answered,"
      f" {tot('dns_timeouts')} timeouts, {tot('dns_errors')} other errors;"
      f" DHCP {tot('dhcp_runs')} runs, {tot('dhcp_leased')} leases, {tot('dhcp_failures')}"
      f" failures; PXE {tot('pxe_runs')} runs, {tot('pxe_booted')} booted,"
      f" {tot('pxe_failed')} failed; server CPU {f(rows[-1],'cpu_s'):.0f} s")
errs = tot('dns_timeouts') + tot('dns_errors') + tot('dhcp_failures') + tot('pxe_failed')
print(f"Errors in all: {errs}")
keys = ("dns_timeouts", "dns_errors", "dhcp_failures", "pxe_failed")
bad = [r for r in rows if any(f(r, k) for k in keys) or f(r, "dns_p99_us") > 5000]
if bad:
    print()
    print("Windows with errors or a DNS p99 above 5 ms (elapsed s: p99 us, timeouts, other DNS"
          " errors, DHCP failures, PXE failures, load1):")
    for r in bad:
        print(f"- {r['elapsed_s']}: {r['dns_p99_us']}, " + ", ".join(r[k] for k in keys)
              + f", {r['load1']}")
PY
[[ -s "$OUT/idle_poll.txt" ]] && echo "Idle states: $(cat "$OUT/idle_poll.txt")." >>"$OUT/summary.md"
cat "$OUT/summary.md"
}
# SUMMARY_ONLY=1: write OUTDIR/summary.md again from OUTDIR/soak.csv, run nothing.
if [[ -n "${SUMMARY_ONLY:-}" ]]; then summary; exit 0; fi
for b in "$RINGMASQ" "$LOAD"; do
    [[ -x "$b" ]] || { echo "soak: $b missing (cargo build --release --workspace --bins)" >&2; exit 1; }
done

S=rmqsk-s$$ D=rmqsk-d$$ P=rmqsk-p$$
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    # A load run a loop started is still going when its loop is killed: end it by its PID.
    local n
    for n in "$S" "$D" "$P"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    done
    [[ -s "$OUT/soak.csv" ]] && summary >/dev/null 2>&1 || true
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$D" 2>/dev/null || true
    ip netns del "$P" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

IDLE_POLL_NOTE="idle states untouched"
if [[ "${IDLE_POLL:-1}" == 1 ]]; then
    # shellcheck source=benches/idle-poll.sh
    source "$ROOT/benches/idle-poll.sh"
    idle_poll_on || true
fi
echo "$IDLE_POLL_NOTE" >"$OUT/idle_poll.txt"

# Watchdog: however the windows go, the script ends DURATION + 60 s after now.
(
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep $((DURATION + 60)) & sp=$!
    wait "$sp" && echo "soak: watchdog stop" >&2 && kill -TERM $$
) &
PIDS+=($!)
ip netns add "$S"; ip netns add "$D"; ip netns add "$P"
ip link add sd0 netns "$S" type veth peer name sd1 netns "$D"
ip link add sp0 netns "$S" type veth peer name sp1 netns "$P"
ip -n "$S" addr add 10.98.0.1/16 dev sd0
ip -n "$S" addr add 10.97.0.1/24 dev sp0
ip -n "$D" addr add 10.98.0.2/16 dev sd1
ip -n "$P" addr add 10.97.0.250/24 dev sp1
for n in "$S" "$D" "$P"; do ip -n "$n" link set lo up; done
ip -n "$S" link set sd0 up; ip -n "$S" link set sp0 up
ip -n "$D" link set sd1 up; ip -n "$P" link set sp1 up
ins() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# knotd: zone lab.test with a wildcard A, so every name answers.
rm -rf "$OUT/knot"; mkdir -p "$OUT/knot" "$OUT/tftp"
cat >"$OUT/knot/lab.test.zone" <<EOF
\$ORIGIN lab.test.
\$TTL 3600
@   SOA ns.lab.test. admin.lab.test. 1 3600 600 86400 3600
@   NS  ns
ns  A   127.0.0.1
*   A   192.0.2.1
EOF
cat >"$OUT/knot/knot.conf" <<EOF
server:
    rundir: "$OUT/knot"
    listen: 127.0.0.1@5300
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$OUT/knot"
control:
    listen: "$OUT/knot/knot.sock"
log:
  - target: stderr
    any: error
zone:
  - domain: lab.test
    storage: "$OUT/knot"
    file: "lab.test.zone"
EOF
ip netns exec "$S" $PRIO taskset -c 1 knotd -c "$OUT/knot/knot.conf" >"$OUT/knot/log" 2>&1 &
PIDS+=($!)

head -c 300000 /dev/urandom >"$OUT/tftp/pxelinux.0"
head -c 1048576 /dev/urandom >"$OUT/tftp/image.img"
rm -f "$OUT"/leases* "$OUT"/*.jsonl "$OUT"/*.err "$OUT"/*.one
ip netns exec "$S" $PRIO taskset -c 0 "$RINGMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts \
    --server=127.0.0.1#5300 --cache-size=10000 \
    --dhcp-range=10.98.1.0,10.98.200.255,255.255.0.0,1h \
    --dhcp-range=10.97.0.10,10.97.0.200,255.255.255.0,1h --dhcp-lease-max=100000 \
    --dhcp-leasefile="$OUT/leases" --enable-tftp --tftp-root="$OUT/tftp" \
    --dhcp-boot=pxelinux.0 -8 "$OUT/ringmasq.log" >"$OUT/ringmasq.out" 2>&1 &
SPID=$!
PIDS+=("$SPID")

dns_window() { # seconds -> one JSON line
    ins "$S" $PRIO taskset -c 1 "$LOAD" dns --server 127.0.0.1:53 --names 1000 \
        --suffix lab.test --unique lab.test --hit-ratio "$DNS_HIT" --rate "$DNS_RATE" \
        --duration "$1s" --timeout 2s --json 2>>"$OUT/dns.err" || echo '{}'
}
ready=""
for _ in $(seq 50); do
    if ins "$S" "$LOAD" dns --server 127.0.0.1:53 --names 1 --suffix lab.test --count 1 \
        --timeout 200ms --json 2>/dev/null | jq -e '.rcodes.NOERROR == 1' >/dev/null 2>&1; then
        ready=1; break
    fi
    sleep 0.2
done
[[ -n "$ready" ]] || { cat "$OUT/ringmasq.out" "$OUT/knot/log" >&2; echo "soak: not ready" >&2; exit 1; }
[[ "$(readlink "/proc/$SPID/exe")" == "$(readlink -f "$RINGMASQ")" ]] \
    || { echo "soak: PID $SPID is $(readlink "/proc/$SPID/exe"), not ringmasq" >&2; exit 1; }
# The server's DHCP, lease-journal and TFTP threads one real-time step below its DNS worker
# (SPLIT_PRIO, empty to keep them equal): under SCHED_FIFO on one CPU a thread runs until it
# blocks, so a TFTP burst would otherwise hold DNS answers back for as long as it keeps its
# thread busy. (The session-6 soak matched only `ringmasq-tftp`, while the TFTP threads are
# `ringmasq-tftp-N` and the journal thread is new: both stayed at PRIO, level with the DNS
# worker; comm names are cut at 15 characters, hence the globs.)
SPLIT_PRIO="${SPLIT_PRIO-60}"
if [[ -n "$SPLIT_PRIO" && "$PRIO" == chrt* ]]; then
    for t in /proc/"$SPID"/task/*; do
        case "$(cat "$t/comm")" in
            ringmasq-dhcp|ringmasq-tftp*|ringmasq-journa*) chrt -f -p "$SPLIT_PRIO" "${t##*/}" ;;
        esac
    done
fi
END=$(( $(date +%s) + DURATION ))

# DHCP churn: DORA + renewal + RELEASE of DHCP_CLIENTS MACs per run, 16 MAC sets in turn.
(
    i=0
    while (( $(date +%s) < END )); do
        seed=$(( 100 + i % 16 )); i=$((i + 1))
        ins "$D" $CHURN_PRIO taskset -c 1 "$LOAD" dhcp --server 10.98.0.1 --relay 10.98.0.2 \
            --clients "$DHCP_CLIENTS" --rate 100 --seed "$seed" --duration 60s --json \
            2>>"$OUT/dhcp.err" >"$OUT/dhcp.one" || true
        jq -c --arg t "$(date +%s)" '. + {t: ($t | tonumber)}' "$OUT/dhcp.one" \
            >>"$OUT/dhcp.jsonl" 2>/dev/null || echo "{\"t\":$(date +%s),\"broken\":1}" >>"$OUT/dhcp.jsonl"
        sleep 1
    done
) &
PIDS+=($!)
# PXE: PXE_CLIENTS machines boot (DORA, boot file, image), 8 MAC sets in turn.
(
    i=0
    while (( $(date +%s) < END )); do
        seed=$(( 1 + i % 8 )); i=$((i + 1))
        ins "$P" $CHURN_PRIO taskset -c 1 "$LOAD" pxe --interface sp1 --clients "$PXE_CLIENTS" \
            --image image.img --seed "$seed" --timeout 60 --json \
            2>>"$OUT/pxe.err" >"$OUT/pxe.one" || true
        jq -c --arg t "$(date +%s)" '. + {t: ($t | tonumber)}' "$OUT/pxe.one" \
            >>"$OUT/pxe.jsonl" 2>/dev/null || echo "{\"t\":$(date +%s),\"broken\":1}" >>"$OUT/pxe.jsonl"
        sleep 2
    done
) &
PIDS+=($!)

TICKS=$(getconf CLK_TCK)
echo "t,elapsed_s,rss_kib,rss_anon_kib,fds,threads,cpu_s,dns_sent,dns_answered,dns_p50_us,dns_p99_us,dns_timeouts,dns_errors,dhcp_runs,dhcp_leased,dhcp_failures,pxe_runs,pxe_booted,pxe_failed,lease_file_bytes,load1" \
    >"$OUT/soak.csv"
t0=$(date +%s)
touch "$OUT/dhcp.jsonl" "$OUT/pxe.jsonl"
dseen=0 pseen=0
while (( $(date +%s) + INTERVAL <= END )); do
    dns_window "$INTERVAL" >"$OUT/dns.one"
    cat "$OUT/dns.one" >>"$OUT/dns.jsonl"
    [[ -d "/proc/$SPID" ]] || { echo "soak: ringmasq exited" >&2; break; }
    now=$(date +%s)
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status")
    anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$SPID/status")
    thr=$(awk '/^Threads:/ {print $2}' "/proc/$SPID/status")
    fds=$(ls "/proc/$SPID/fd" | wc -l)
    cpu=$(awk -v t="$TICKS" '{printf "%.1f", ($14 + $15) / t}' "/proc/$SPID/stat")
    dns=$(jq -r '[.sent // 0, .answered // 0, .latency_us.p50 // 0, .latency_us.p99 // 0,
        .timeouts // 0, ((.send_errors // 0) + (.recv_errors // 0) + (.unexpected // 0)
        + ([.rcodes // {} | to_entries[] | select(.key != "NOERROR") | .value] | add // 0))]
        | @csv' "$OUT/dns.one" 2>/dev/null || echo "0,0,0,0,0,1")
    dn=$(wc -l <"$OUT/dhcp.jsonl"); pn=$(wc -l <"$OUT/pxe.jsonl")
    dh=$(tail -n +$((dseen + 1)) "$OUT/dhcp.jsonl" | head -n $((dn - dseen)) | jq -s -r \
        '[length, (map(.leased // 0) | add // 0), (map(((.clients // 0) - (.leased // 0))
        + ((.leased // 0) - (.renewed // 0)) + (.naks // 0) + (.broken // 0)) | add // 0)] | @csv')
    px=$(tail -n +$((pseen + 1)) "$OUT/pxe.jsonl" | head -n $((pn - pseen)) | jq -s -r \
        '[length, (map(.booted // 0) | add // 0), (map((.failed // 0) + (.broken // 0)) | add // 0)]
        | @csv')
    dseen=$dn pseen=$pn
    # Real-time processes on the box besides the kernel's (others' benchmarks share the CPUs).
    { echo "== $now"; ps -eo pid,cls,rtprio,psr,pcpu,args --no-headers | awk '($2 == "FF" ||
        $2 == "RR") && $6 !~ /^\[/ && $6 !~ /watchdogd/'; } >>"$OUT/rt.log"
    lf=$(stat -c %s "$OUT/leases" 2>/dev/null || echo 0)
    lf=$(( lf + $(cat "$OUT"/leases.* 2>/dev/null | wc -c) ))
    echo "$now,$((now - t0)),$rss,$anon,$fds,$thr,$cpu,$dns,$dh,$px,$lf,$(cut -d' ' -f1 /proc/loadavg)" \
        | tee -a "$OUT/soak.csv"
done

summary
