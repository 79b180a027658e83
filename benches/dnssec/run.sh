#!/usr/bin/env bash
# benches/dnssec/run.sh — DNSSEC cost on the signed lab (tests/lab/dnssec-lab.sh served by one
# knotd), in one run, for ringmasq, dnsmasq 2.90 and unbound 1.17:
#   1. cache hits: closed-loop ringmasq-load on 8 secure names, each server with and without
#      validation: queries/s and server CPU per 1000 answers;
#   2. cold validation: K times, empty the cache (SIGHUP for ringmasq/dnsmasq, which also drops
#      their DS/DNSKEY data; `unbound-control flush_zone .` for unbound, which drops rrsets and
#      key entries), then ask www.sec.test A with DO (the answer needs the whole chain:
#      DNSKEY ., DS/DNSKEY test., DS/DNSKEY sec.test.). The server's CPU over the K rounds minus
#      its CPU over K rounds of emptying alone, divided by K, is the CPU per cold validated
#      answer.
# ringmasq and dnsmasq forward to knotd; unbound resolves the lab through stub zones to knotd.
# Servers on CPU 0 (ringmasq --threads=1), knotd and clients on CPU 1. Loopback only.
# Usage: benches/dnssec/run.sh [K] [HIT_QUERIES]   (defaults 200, 200000)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
K=${1:-200}
HITS=${2:-200000}
HZ=$(getconf CLK_TCK)

# The lab and knotd serving every zone of it.
bash "$ROOT/tests/lab/dnssec-lab.sh" "$WORK/lab" >/dev/null 2>&1
read -r _ _ _ _ tag alg dt digest < "$WORK/lab/root.ds"
ANCHOR=".,$tag,$alg,$dt,$digest"
KP=$(free_port)
mkdir -p "$WORK/knot"
{
    printf 'server:\n    rundir: "%s"\n    listen: 127.0.0.1@%s\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n' "$WORK/knot" "$KP"
    printf 'database:\n    storage: "%s"\ncontrol:\n    listen: "%s/knot.sock"\nlog:\n  - target: stderr\n    any: error\nzone:\n' "$WORK/knot" "$WORK/knot"
    while read -r origin file; do
        printf '  - domain: "%s"\n    file: "%s"\n' "$origin" "$WORK/lab/$file"
    done < "$WORK/lab/zones.list"
} > "$WORK/knot/knot.conf"
taskset -c "$LOAD_CPU" knotd -c "$WORK/knot/knot.conf" >"$WORK/knot/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    dig +short +time=1 +tries=1 @127.0.0.1 -p "$KP" test. SOA >/dev/null 2>&1 && break
    sleep 0.2
done

# Query file: 8 secure names (hits).
QF="$WORK/queries"
printf '%s A\n' www.sec.test. www.n3.test. www.rsa256.test. www.rsa512.test. www.ed25519.test. \
    a.wild.sec.test. www.iter.test. txt.sec.test. | sed 's/txt.sec.test. A/txt.sec.test. TXT/' > "$QF"

start_unbound() { # port validate(0/1) -> SPID, CTL
    local port=$1 validate=$2 dir="$WORK/unbound-$1"
    mkdir -p "$dir"
    CTL=$(free_port)
    {
        printf 'server:\n    interface: 127.0.0.1@%s\n    port: %s\n    username: ""\n    chroot: ""\n' "$port" "$port"
        printf '    directory: "%s"\n    pidfile: ""\n    use-syslog: no\n    logfile: ""\n    num-threads: 1\n' "$dir"
        printf '    so-reuseport: no\n    do-not-query-localhost: no\n    local-zone: "test." nodefault\n    qname-minimisation: no\n'
        if [[ $validate == 1 ]]; then
            printf '    module-config: "validator iterator"\n    trust-anchor-file: "%s"\n' "$WORK/lab/root.ds"
        else
            printf '    module-config: "iterator"\n'
        fi
        printf 'remote-control:\n    control-enable: yes\n    control-interface: 127.0.0.1\n    control-port: %s\n    control-use-cert: no\n' "$CTL"
        while read -r origin _; do
            printf 'stub-zone:\n    name: "%s"\n    stub-addr: 127.0.0.1@%s\n' "$origin" "$KP"
        done < "$WORK/lab/zones.list"
    } > "$dir/unbound.conf"
    taskset -c "$SERVER_CPU" unbound -d -c "$dir/unbound.conf" >"$dir/log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    UCONF="$dir/unbound.conf"
}

start() { # peer validate port -> SPID (and UCONF for unbound)
    local peer=$1 validate=$2 port=$3 dir="$WORK/$1-$2"
    local v=()
    [[ $validate == 1 ]] && v=(--dnssec "--trust-anchor=$ANCHOR")
    case "$peer" in
        ringmasq) start_server ringmasq-uring "$port" "$dir" --threads=1 "${v[@]}" ;;
        dnsmasq) start_server dnsmasq "$port" "$dir" "${v[@]}" ;;
        unbound) start_unbound "$port" "$validate" ;;
    esac
    for _ in $(seq 1 50); do
        dig +short +time=1 +tries=1 @127.0.0.1 -p "$port" www.sec.test. A >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "bench: $peer did not start" >&2
    exit 1
}

empty_cache() { # peer
    case "$1" in
        unbound) unbound-control -c "$UCONF" flush_zone . >/dev/null ;;
        *) kill -HUP "$SPID"; sleep 0.05 ;;
    esac
}

ask() { # port -> status and flags of www.sec.test A +dnssec
    dig +dnssec +tries=1 +time=2 @127.0.0.1 -p "$1" www.sec.test. A \
        | sed -n 's/.*status: \([A-Z]*\).*/\1/p; s/^;; flags: \([a-z ]*\);.*/\1/p' | tr '\n' ' '
}

echo "# DNSSEC on the signed lab — $(date -u +%F\ %T) UTC, $(nproc) CPUs, K=$K, hits=$HITS"
echo
echo "## Cache hits (ringmasq-load closed loop, 8 secure names)"
echo
echo "| server | validation | queries/s | server CPU ms per 1000 answers | answers |"
echo "|---|---|---|---|---|"
for peer in ringmasq dnsmasq unbound; do
    for validate in 0 1; do
        port=$(free_port)
        start "$peer" "$validate" "$port"
        "$LOAD" dns --server "127.0.0.1:$port" -d "$QF" --count 2000 -q 16 --timeout 2s >/dev/null 2>&1 || true
        c0=$(cpu_ticks "$SPID")
        out=$(taskset -c "$LOAD_CPU" "$LOAD" dns --server "127.0.0.1:$port" -d "$QF" --count "$HITS" -q 64 --json 2>/dev/null)
        c1=$(cpu_ticks "$SPID")
        ok=$(jq -r '.rcodes.NOERROR // 0' <<<"$out")
        qps=$(jq -r '.qps // .answers_per_sec // empty' <<<"$out")
        cpu=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$ok" 'BEGIN { printf "%.3f", n ? t * 1000 / hz / n * 1000 : 0 }')
        echo "| $peer | $([[ $validate == 1 ]] && echo on || echo off) | ${qps%.*} | $cpu | $ok |"
        stop_server "$SPID"
    done
done

echo
echo "## Cold validation (www.sec.test A, DO, cache emptied before each of $K queries)"
echo
echo "| server | first answer | CPU ms per cold answer | CPU ms per empty-cache round (subtracted) |"
echo "|---|---|---|---|"
for peer in ringmasq dnsmasq unbound; do
    port=$(free_port)
    start "$peer" 1 "$port"
    first=$(empty_cache "$peer"; ask "$port")
    c0=$(cpu_ticks "$SPID")
    for _ in $(seq 1 "$K"); do empty_cache "$peer"; done
    c1=$(cpu_ticks "$SPID")
    for _ in $(seq 1 "$K"); do empty_cache "$peer"; ask "$port" >/dev/null; done
    c2=$(cpu_ticks "$SPID")
    base=$((c1 - c0)); full=$((c2 - c1))
    awk -v b=$base -v f=$full -v k="$K" -v hz="$HZ" -v p="$peer" -v first="$first" \
        'BEGIN { printf "| %s | %s | %.3f | %.3f |\n", p, first, (f - b) * 1000 / hz / k, b * 1000 / hz / k }'
    if [[ $peer == ringmasq ]]; then
        kill -USR1 "$SPID"; sleep 0.3
        grep -o 'dnssec-subqueries[^,]*' "$WORK/ringmasq-1/log" | tail -1 | sed 's/^/    ringmasq: /' >&2 || true
    fi
    stop_server "$SPID"
done
