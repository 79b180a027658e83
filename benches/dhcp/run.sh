#!/usr/bin/env bash
# benches/dhcp/run.sh — DHCPv4 speed of ringmasq, dnsmasq 2.90 and Kea 2.2 (memfile, 2 threads)
# in ONE run on the same namespaces, with the same range (10.99.1.0-10.99.200.255, /16, 1h),
# every lease file on tmpfs, dnsmasq and ringmasq with --no-ping (SERVERS=ringmasq-ping runs
# ringmasq with its default ping check before each OFFER, for a separate figure). Needs root, perfdhcp (kea-admin/kea-common),
# kea-dhcp4-server, dnsmasq, strace and target/release/ringmasq-load. Traffic stays inside two
# namespaces joined by a veth pair (server bv0 10.99.0.1/16, clients bv1 10.99.0.2/16).
#
#   benches/dhcp/run.sh [RATES...]     (perfdhcp rates, default: 400 2000 8000 12000 per second)
#
# For each server, each a fresh process with an empty lease file:
#  - perfdhcp -r RATE for DURATION s (default 5) with 60000 client MACs, relayed form
#    (giaddr = 10.99.0.2), REQUEST-ACK statistics;
#  - ringmasq-load dhcp open loop at LOAD_RATES (default 2000 5000 10000 clients/s, DURATION s
#    worth of clients, DORA + renewal, as a relay agent at 10.99.0.2 like perfdhcp);
#  - ringmasq-load dhcp burst: BURST (default 10000) clients booting at once on the link
#    (broadcast DORA + release; retransmits 1 s doubling, 4 tries, like real clients). No
#    renewal here: each broadcast-mode renewal ACK needs a kernel neighbour entry on the
#    server side, and that table is host-wide (gc_thresh3 = 1024 by default).
# Then ringmasq's fdatasync count per ACK (strace -c).
#
# On a shared machine, pin the servers and the clients apart and keep other work from
# preempting the server, e.g. SERVER_WRAP="chrt -f 50 taskset -c 0" CLIENT_WRAP="nice -n -15
# taskset -c 1" (a real-time perfdhcp busy-polls and starves its own packet delivery; keep the
# clients at normal priority).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RINGMASQ="${BENCH_RINGMASQ_BIN:-$ROOT/target/release/ringmasq}"
LOAD="${BENCH_LOAD_BIN:-$ROOT/target/release/ringmasq-load}"
DURATION="${DURATION:-5}"
BURST="${BURST:-10000}"
SERVERS="${SERVERS:-ringmasq dnsmasq kea}"
read -r -a LOAD_RATES <<<"${LOAD_RATES:-2000 5000 10000}"
read -r -a SW <<<"${SERVER_WRAP:-}"
read -r -a CW <<<"${CLIENT_WRAP:-}"
RATES=("$@")
(( ${#RATES[@]} )) || RATES=(400 2000 8000 12000)
S=rmqdb-s$$ C=rmqdb-c$$
# tmpfs: no server pays a disk flush per lease (ringmasq fdatasyncs its journal, Kea and
# dnsmasq write their files); the comparison is of the servers, not of the disk.
WORK="$(mktemp -d /dev/shm/ringmasq-dhcp-bench.XXXXXX)"
SPID=""
cleanup() {
    [[ -n "$SPID" ]] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$C" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$S"; ip netns add "$C"
ip link add bv0 netns "$S" type veth peer name bv1 netns "$C"
ip -n "$S" addr add 10.99.0.1/16 dev bv0; ip -n "$C" addr add 10.99.0.2/16 dev bv1
for n in "$S" "$C"; do ip -n "$n" link set lo up; done
ip -n "$S" link set bv0 up; ip -n "$C" link set bv1 up

cat > "$WORK/kea.json" <<JSON
{ "Dhcp4": {
  "interfaces-config": { "interfaces": [ "bv0" ] },
  "lease-database": { "type": "memfile", "persist": true, "name": "$WORK/kea-leases4.csv", "lfc-interval": 0 },
  "multi-threading": { "enable-multi-threading": true, "thread-pool-size": 2, "packet-queue-size": 64 },
  "valid-lifetime": 3600,
  "subnet4": [ { "id": 1, "subnet": "10.99.0.0/16", "pools": [ { "pool": "10.99.1.0 - 10.99.200.255" } ] } ],
  "loggers": [ { "name": "kea-dhcp4", "severity": "WARN", "output_options": [ { "output": "$WORK/kea.log" } ] } ]
} }
JSON

RANGE=--dhcp-range=10.99.1.0,10.99.200.255,255.255.0.0,1h
start() {
    rm -f "$WORK"/leases* "$WORK"/kea-leases4.csv*
    case "$1" in
    ringmasq*) ip netns exec "$S" "${SW[@]}" "$RINGMASQ" -d --port=0 --conf-file=/dev/null "$RANGE" \
        $([[ "$1" == ringmasq-ping ]] || echo --no-ping) --dhcp-lease-max=100000 --dhcp-leasefile="$WORK/leases" >"$WORK/server.log" 2>&1 & ;;
    dnsmasq) ip netns exec "$S" "${SW[@]}" dnsmasq -d --port=0 --conf-file=/dev/null --user=root \
        --log-facility=- --pid-file="$WORK/dnsmasq.pid" --no-ping "$RANGE" \
        --dhcp-lease-max=100000 --dhcp-leasefile="$WORK/leases" >"$WORK/server.log" 2>&1 & ;;
    kea) KEA_PIDFILE_DIR="$WORK" KEA_LOCKFILE_DIR="$WORK" ip netns exec "$S" "${SW[@]}" kea-dhcp4 \
        -c "$WORK/kea.json" >"$WORK/server.log" 2>&1 & ;;
    esac
    SPID=$!
    # Ready once something listens on UDP port 67 in the server namespace.
    for _ in $(seq 100); do
        ip netns exec "$S" ss -H -lun 'sport = :67' | grep -q . && break
        sleep 0.05
    done
    sleep 0.2
}
stop() {
    if [[ -n "${KEEP_LOG:-}" ]]; then cp "$WORK/server.log" "$KEEP_LOG.$1" || true; fi
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

# perfdhcp's REQUEST-ACK section: sent, received, drops %, avg and max delay (ms).
perf() {
    timeout $((DURATION + 30)) ip netns exec "$C" "${CW[@]}" perfdhcp -4 -r "$1" -R 60000 -p "$DURATION" \
        -l bv1 10.99.0.1 2>&1 | awk '
        /Statistics for: REQUEST-ACK/ { ra = 1 }
        ra && /^sent packets/ { s = $3 } ra && /^received packets/ { r = $3 }
        ra && /^drops ratio/ { d = $3 } ra && /^avg delay/ { a = $3 } ra && /^max delay/ { m = $3 }
        /Statistics for: DISCOVER-OFFER/ { do_ = 1 }
        do_ && !ra && /^drops ratio/ { dd = $3 }
        END { printf "%s %s %s %s %s %s\n", s, r, dd, d, a, m }'
}

# ringmasq-load dhcp with ARGS; prints its JSON (one line).
load() {
    timeout 200 ip netns exec "$C" "${CW[@]}" "$LOAD" dhcp --server 10.99.0.1 --json --duration 120s "$@" \
        || true
}
# JSON fields as a row: leased renewed exch/s retries gave-up ack-p50 ack-p99 lease-p99 all-s
row() {
    python3 -c 'import json,sys
j = json.loads(sys.stdin.read() or "{}")
g = lambda k, d=0: j.get(k, d)
a = j.get("ack_latency", {}); l = j.get("lease_latency", {})
t = g("time_to_all_leased_s")
print(g("clients"), g("leased"), g("renewed"), round(g("exchanges_per_s")),
      round(g("leases_per_s")), g("discover_retries") + g("request_retries"),
      g("lease_timeouts") + g("renew_timeouts"), a.get("p50_ms"), a.get("p99_ms"),
      l.get("p99_ms"), "-" if t is None else t)'
}

echo "== perfdhcp (relayed form), $DURATION s per row; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-9s %6s %8s %8s %9s %9s %9s %9s %9s\n" server rate req-sent acks acks/s \
    offer-drop% ack-drop% ack-avg-ms ack-max-ms
for rate in "${RATES[@]}"; do
    for server in $SERVERS; do
        start "$server"
        read -r s r dd d a m < <(perf "$rate")
        stop "$server"
        printf "%-9s %6s %8s %8s %9.0f %9s %9s %9s %9s\n" "$server" "$rate" "$s" "$r" \
            "$(echo "${r:-0} / $DURATION" | bc -l)" "$dd" "$d" "$a" "$m"
    done
done

echo "== ringmasq-load dhcp (relay agent 10.99.0.2, DORA + renewal); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-9s %7s %7s %7s %7s %7s %7s %7s %7s %9s %9s %9s %7s\n" server rate clients \
    leased renewed exch/s DORA/s retries gaveup ack-p50ms ack-p99ms lease-p99 all-s
seed=10
for rate in "${LOAD_RATES[@]}"; do
    n=$(( rate * DURATION ))
    for server in $SERVERS; do
        start "$server"
        seed=$((seed + 1))
        out=$(load --relay 10.99.0.2 --clients "$n" --rate "$rate" --no-release --seed "$seed" | row)
        stop "$server"
        read -r cl le rn ex dr rt gu p50 p99 lp99 all <<<"$out"
        printf "%-9s %7s %7s %7s %7s %7s %7s %7s %7s %9s %9s %9s %7s\n" "$server" "$rate" \
            "$cl" "$le" "$rn" "$ex" "$dr" "$rt" "$gu" "$p50" "$p99" "$lp99" "$all"
    done
done

echo "== $BURST clients booting at once (broadcast DORA + release); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for server in $SERVERS; do
    start "$server"
    seed=$((seed + 1))
    out=$(load --interface bv1 --clients "$BURST" --no-renew --seed "$seed" | row)
    stop "$server"
    read -r cl le rn ex dr rt gu p50 p99 lp99 all <<<"$out"
    printf "%-9s %7s %7s %7s %7s %7s %7s %7s %7s %9s %9s %9s %7s\n" "$server" burst \
        "$cl" "$le" "$rn" "$ex" "$dr" "$rt" "$gu" "$p50" "$p99" "$lp99" "$all"
done

# fdatasync calls per acknowledged lease (ringmasq, group commit): strace -c over one run.
start ringmasq
strace -c -f -e trace=fdatasync,fsync,write,sendto,sendmsg,recvmsg -p "$SPID" -o "$WORK/strace" &
TPID=$!
sleep 0.5
read -r s r _ < <(perf 2000)
kill -INT "$TPID"; wait "$TPID" 2>/dev/null || true
stop ringmasq-strace
syncs=$(awk '$NF=="fdatasync" {print $4}' "$WORK/strace")
if [[ "${r:-0}" =~ ^[0-9]+$ ]] && (( ${r:-0} > 0 )); then
    per_ack="$(echo "${syncs:-0} / $r" | bc -l | cut -c1-5) per ACK"
else
    per_ack="no ACK counted, no ratio"
fi
echo "ringmasq at 2000/s: ${r:-0} ACKs, ${syncs:-0} fdatasync calls ($per_ack)"
