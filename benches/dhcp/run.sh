#!/usr/bin/env bash
# benches/dhcp/run.sh — DHCPv4 DORA rate, drops and ACK latency of ringmasq, dnsmasq 2.90 and
# Kea 2.2 (memfile, 2 threads) with perfdhcp, in ONE run on the same namespaces; then the
# fdatasync count per lease of ringmasq (strace -c). Needs root, perfdhcp (kea-admin/kea-common),
# kea-dhcp4-server, dnsmasq, strace. Traffic stays inside two namespaces joined by a veth pair.
#
#   benches/dhcp/run.sh [RATES...]        (default rates: 400 2000 8000 12000 per second)
#
# Each (server, rate) row: a fresh server with an empty lease file, perfdhcp -r RATE for
# DURATION seconds (default 5) with 60000 distinct client MACs, relayed form (giaddr = the client
# namespace's address), then the REQUEST-ACK statistics. Output: one table row per run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RINGMASQ="${BENCH_RINGMASQ_BIN:-$ROOT/target/release/ringmasq}"
DURATION="${DURATION:-5}"
RATES=("$@")
(( ${#RATES[@]} )) || RATES=(400 2000 8000 12000)
S=rmqdb-s$$ C=rmqdb-c$$
WORK="$(mktemp -d /tmp/ringmasq-dhcp-bench.XXXXXX)"
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

start() {
    rm -f "$WORK"/leases* "$WORK"/kea-leases4.csv*
    case "$1" in
    ringmasq) ip netns exec "$S" "$RINGMASQ" -d --port=0 --conf-file=/dev/null \
        --dhcp-range=10.99.1.0,10.99.200.255,255.255.0.0,1h --dhcp-lease-max=100000 \
        --dhcp-leasefile="$WORK/leases" >"$WORK/server.log" 2>&1 & ;;
    dnsmasq) ip netns exec "$S" dnsmasq -d --port=0 --conf-file=/dev/null --user=root \
        --log-facility=- --pid-file="$WORK/dnsmasq.pid" \
        --dhcp-range=10.99.1.0,10.99.200.255,255.255.0.0,1h --dhcp-lease-max=100000 \
        --dhcp-leasefile="$WORK/leases" >"$WORK/server.log" 2>&1 & ;;
    kea) KEA_PIDFILE_DIR="$WORK" KEA_LOCKFILE_DIR="$WORK" ip netns exec "$S" kea-dhcp4 -c "$WORK/kea.json" >"$WORK/server.log" 2>&1 & ;;
    esac
    SPID=$!
    sleep 1.5
}
stop() {
    if [[ -n "${KEEP_LOG:-}" ]]; then cp "$WORK/server.log" "$KEEP_LOG.$1" || true; fi
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

# perfdhcp's REQUEST-ACK section: sent, received, drops %, avg and max delay (ms).
perf() {
    timeout $((DURATION + 30)) ip netns exec "$C" perfdhcp -4 -r "$1" -R 60000 -p "$DURATION" \
        -l bv1 10.99.0.1 2>&1 | awk '
        /Statistics for: REQUEST-ACK/ { ra = 1 }
        ra && /^sent packets/ { s = $3 } ra && /^received packets/ { r = $3 }
        ra && /^drops ratio/ { d = $3 } ra && /^avg delay/ { a = $3 } ra && /^max delay/ { m = $3 }
        /Statistics for: DISCOVER-OFFER/ { do_ = 1 }
        do_ && !ra && /^drops ratio/ { dd = $3 }
        END { printf "%s %s %s %s %s %s\n", s, r, dd, d, a, m }'
}

printf "%-9s %6s %8s %8s %9s %9s %9s %9s %9s\n" server rate req-sent acks acks/s \
    offer-drop% ack-drop% ack-avg-ms ack-max-ms
for rate in "${RATES[@]}"; do
    for server in ringmasq dnsmasq kea; do
        start "$server"
        read -r s r dd d a m < <(perf "$rate")
        stop "$server"
        printf "%-9s %6s %8s %8s %9.0f %9s %9s %9s %9s\n" "$server" "$rate" "$s" "$r" \
            "$(echo "${r:-0} / $DURATION" | bc -l)" "$dd" "$d" "$a" "$m"
    done
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
echo "ringmasq at 2000/s: ${r:-0} ACKs, ${syncs:-0} fdatasync calls ($(echo "${syncs:-0} / ${r:-1}" | bc -l | cut -c1-5) per ACK)"
cat "$WORK/strace"
