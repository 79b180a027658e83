#!/usr/bin/env bash
# benches/dhcp6/run.sh — DHCPv6 speed of ringmasq, dnsmasq 2.90 and Kea 2.2 (kea-dhcp6,
# memfile) in ONE run on the same namespaces with the same pool (fd00:99::1:0 - fd00:99::ff:ffff,
# 1h), lease files on tmpfs. perfdhcp -6 sends SOLICIT then REQUEST from many DUIDs to
# ff02::1:2 on the client end of a veth pair (server bv6s fd00:99::1/64, clients bv6c).
# Needs root, perfdhcp (kea-admin/kea-common), kea-dhcp6-server, dnsmasq, and a release build.
#
#   benches/dhcp6/run.sh [RATES...]     (perfdhcp -r rates, default: 500 2000 5000 per second)
#
# Each row: a fresh server with an empty lease file, perfdhcp -6 -r RATE for DURATION s
# (default 5) with 60000 client DUIDs; SOLICIT-ADVERTISE and REQUEST-REPLY statistics.
# Each server runs on CPU $SERVER_CPU (default 0), perfdhcp on CPU $CLIENT_CPU (default 1);
# do not run it under `chrt -f`: a real-time perfdhcp starves the veth softirq on its CPU
# and every server then drops everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RINGMASQ="${BENCH_RINGMASQ_BIN:-$ROOT/target/release/ringmasq}"
DURATION="${DURATION:-5}"
SERVERS="${SERVERS:-ringmasq dnsmasq kea}"
PIN_S=(taskset -c "${SERVER_CPU:-0}")
PIN_C=(taskset -c "${CLIENT_CPU:-1}")
RATES=("$@")
(( ${#RATES[@]} )) || RATES=(500 2000 5000)
S=rmqd6-s$$ C=rmqd6-c$$
WORK="$(mktemp -d /dev/shm/ringmasq-dhcp6-bench.XXXXXX)"
SPID=""
cleanup() {
    [[ -n "$SPID" ]] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$C" 2>/dev/null || true
    [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$S"; ip netns add "$C"
ip link add bv6s netns "$S" type veth peer name bv6c netns "$C"
for n in "$S" "$C"; do
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0
    ip netns exec "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0
    ip -n "$n" link set lo up
done
ip -n "$S" addr add fd00:99::1/64 dev bv6s nodad
ip -n "$S" link set bv6s up; ip -n "$C" link set bv6c up
# Link-local addresses usable (no DAD) before any client sends.
for _ in $(seq 100); do
    ip -n "$C" -6 addr show dev bv6c scope link | grep -q fe80 \
        && ! ip -n "$C" -6 addr show dev bv6c | grep -q tentative && break
    sleep 0.05
done

cat > "$WORK/kea.json" <<JSON
{ "Dhcp6": {
  "interfaces-config": { "interfaces": [ "bv6s" ] },
  "lease-database": { "type": "memfile", "persist": true, "name": "$WORK/kea-leases6.csv", "lfc-interval": 0 },
  "server-id": { "type": "LL", "identifier": "029900000001", "htype": 1, "persist": false },
  "valid-lifetime": 3600, "preferred-lifetime": 3600,
  "subnet6": [ { "id": 1, "subnet": "fd00:99::/64", "interface": "bv6s",
                 "pools": [ { "pool": "fd00:99::1:0 - fd00:99::ff:ffff" } ] } ],
  "loggers": [ { "name": "kea-dhcp6", "severity": "WARN", "output_options": [ { "output": "$WORK/kea.log" } ] } ]
} }
JSON

RANGE=--dhcp-range=fd00:99::1:0,fd00:99::ff:ffff,64,1h
start() {
    rm -f "$WORK"/leases* "$WORK"/kea-leases6.csv*
    case "$1" in
    ringmasq) ip netns exec "$S" "${PIN_S[@]}" "$RINGMASQ" -d --port=0 --conf-file=/dev/null "$RANGE" \
        --dhcp-leasefile="$WORK/leases" >"$WORK/server.log" 2>&1 & ;;
    dnsmasq) ip netns exec "$S" "${PIN_S[@]}" dnsmasq -d --port=0 --conf-file=/dev/null --user=root \
        --log-facility=- --pid-file="$WORK/dnsmasq.pid" "$RANGE" --dhcp-lease-max=1000000 \
        --dhcp-leasefile="$WORK/leases" >"$WORK/server.log" 2>&1 & ;;
    kea) KEA_PIDFILE_DIR="$WORK" KEA_LOCKFILE_DIR="$WORK" ip netns exec "$S" "${PIN_S[@]}" kea-dhcp6 \
        -c "$WORK/kea.json" >"$WORK/server.log" 2>&1 & ;;
    esac
    SPID=$!
    for _ in $(seq 100); do
        ip netns exec "$S" ss -H -lun 'sport = :547' | grep -q . && break
        sleep 0.05
    done
    sleep 0.3
}
stop() {
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

# perfdhcp -6: SOLICIT-ADVERTISE drops %, then REQUEST-REPLY sent, received, drops %, avg, max.
perf() {
    timeout $((DURATION + 30)) ip netns exec "$C" "${PIN_C[@]}" perfdhcp -6 -r "$1" -R 60000 -p "$DURATION" \
        -l bv6c 2>&1 | awk '
        /Statistics for: SOLICIT-ADVERTISE/ { sa = 1 }
        /Statistics for: REQUEST-REPLY/ { rr = 1 }
        sa && !rr && /^drops ratio/ { sd = $3 }
        rr && /^sent packets/ { s = $3 } rr && /^received packets/ { r = $3 }
        rr && /^drops ratio/ { d = $3 } rr && /^avg delay/ { a = $3 } rr && /^max delay/ { m = $3 }
        END { printf "%s %s %s %s %s %s\n", s, r, sd, d, a, m }'
}

echo "== perfdhcp -6, $DURATION s per row; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-9s %6s %8s %8s %9s %9s %9s %9s %9s\n" server rate req-sent replies replies/s \
    adv-drop% rep-drop% rep-avg-ms rep-max-ms
for rate in "${RATES[@]}"; do
    for server in $SERVERS; do
        start "$server"
        read -r s r sd d a m < <(perf "$rate")
        stop "$server"
        printf "%-9s %6s %8s %8s %9.0f %9s %9s %9s %9s\n" "$server" "$rate" "${s:-0}" "${r:-0}" \
            "$(echo "${r:-0} / $DURATION" | bc -l)" "$sd" "$d" "$a" "$m"
    done
done
