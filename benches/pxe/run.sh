#!/usr/bin/env bash
# benches/pxe/run.sh — a PXE burst: CLIENTS simulated machines (default 1000) boot at once,
# against ringmasq and dnsmasq 2.90 in ONE run, same namespaces, same range, same files.
#
#   CLIENTS=1000 ROUNDS=2 benches/pxe/run.sh
#
# Each machine (`ringmasq-load pxe`): DHCPDISCOVER/REQUEST with PXE options 60/93/97, then TFTP
# (blksize 1468, lock-step) of the ACK's boot file (pxelinux.0, BOOT_KB, default 42 KB) and of
# an image (IMAGE_KB, default 1024 KB). Reported per server and round: time until all booted,
# booted/failed, DORA and boot p50/p99, server CPU (utime + stime of the server process over
# the burst; both are single processes, dnsmasq does not fork for TFTP) and CPU per DATA block
# (of the machines that booted).
# Servers (each a fresh process, empty lease file on tmpfs): the same --dhcp-range
# 10.96.1.0-10.96.20.255 (/16, 5,120 addresses), --dhcp-lease-max=10000, --tftp-max=10000,
# --dhcp-boot=pxelinux.0, --enable-tftp --tftp-root; both with --no-ping. Server pinned to
# CPU 0, the machines to CPU 1; with PRIO (e.g. PRIO="chrt -f 50") both run at that priority. Traffic stays in two namespaces joined by a
# veth pair (server pb0 10.96.0.1/16, machines pb1 10.96.0.2/16, the TFTP source address).
# Needs root, dnsmasq, python3, jq and target/release/{ringmasq,ringmasq-load}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RINGMASQ="${BENCH_RINGMASQ_BIN:-$ROOT/target/release/ringmasq}"
LOAD="${BENCH_LOAD_BIN:-$ROOT/target/release/ringmasq-load}"
CLIENTS="${CLIENTS:-1000}"
ROUNDS="${ROUNDS:-2}"
BOOT_KB="${BOOT_KB:-42}"
IMAGE_KB="${IMAGE_KB:-1024}"
SERVERS="${SERVERS:-ringmasq dnsmasq}"
PRIO="${PRIO:-}"
for b in "$RINGMASQ" "$LOAD"; do
    [[ -x "$b" ]] || { echo "pxe bench: $b missing (cargo build --release --workspace --bins)" >&2; exit 1; }
done
S=rmqpb-s$$ C=rmqpb-c$$
WORK="$(mktemp -d /dev/shm/ringmasq-pxe-bench.XXXXXX)"
SPID=""
cleanup() {
    if [[ -n "$SPID" ]]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$C" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"
ip netns add "$S"; ip netns add "$C"
ip link add pb0 netns "$S" type veth peer name pb1 netns "$C"
ip -n "$S" addr add 10.96.0.1/16 dev pb0; ip -n "$C" addr add 10.96.0.2/16 dev pb1
for n in "$S" "$C"; do ip -n "$n" link set lo up; done
ip -n "$S" link set pb0 up; ip -n "$C" link set pb1 up

mkdir -p "$WORK/tftp"
head -c $((BOOT_KB * 1000)) /dev/urandom >"$WORK/tftp/pxelinux.0"
head -c $((IMAGE_KB * 1024)) /dev/urandom >"$WORK/tftp/image.img"
PER_MACHINE=$(( BOOT_KB * 1000 / 1468 + 1 + IMAGE_KB * 1024 / 1468 + 1 ))
TICKS=$(getconf CLK_TCK)
COMMON=(--conf-file=/dev/null --port=0 --dhcp-range=10.96.1.0,10.96.20.255,255.255.0.0,1h
    --dhcp-lease-max=10000 --dhcp-leasefile="$WORK/leases" --enable-tftp
    --tftp-root="$WORK/tftp" --tftp-max=10000 --dhcp-boot=pxelinux.0)

start() {
    rm -f "$WORK"/leases* "$WORK/server.log"
    case "$1" in
    ringmasq) ip netns exec "$S" $PRIO taskset -c 0 "$RINGMASQ" -k "${COMMON[@]}" --no-ping \
        -8 "$WORK/server.log" >"$WORK/server.out" 2>&1 & ;;
    dnsmasq) ip netns exec "$S" $PRIO taskset -c 0 dnsmasq -k "${COMMON[@]}" --user=root \
        --pid-file= --no-ping --log-facility="$WORK/server.log" >"$WORK/server.out" 2>&1 & ;;
    esac
    SPID=$!
    # Ready once both UDP 67 and 69 are bound in the server namespace.
    for _ in $(seq 100); do
        [[ $(ip netns exec "$S" ss -H -lun '( sport = :67 or sport = :69 )' | wc -l) -ge 2 ]] && break
        sleep 0.05
    done
    sleep 0.2
}
stop() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; SPID=""; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "PXE burst: $CLIENTS machines, boot file ${BOOT_KB} KB + image ${IMAGE_KB} KiB, blksize 1468;" \
    "$(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); PRIO='${PRIO}'"
echo
echo "| server | round | booted | failed | all booted s | DORA p50/p99 s | boot p50/p99 s | server CPU s | CPU us/DATA block | load1 |"
echo "|---|---|---|---|---|---|---|---|---|---|"
seed=0
for round in $(seq "$ROUNDS"); do
    for server in $SERVERS; do
        start "$server"
        seed=$((seed + 1))
        c0=$(cpu_ticks "$SPID")
        out=$(timeout 400 ip netns exec "$C" $PRIO taskset -c 1 "$LOAD" pxe --interface pb1 \
            --clients "$CLIENTS" --image image.img --seed "$seed" --timeout 300 --json \
            2>>"$WORK/load.err" || true)
        c1=$(cpu_ticks "$SPID")
        [[ "$server" == ringmasq ]] && { kill -USR1 "$SPID"; sleep 0.3; }
        reads=""
        [[ "$server" == ringmasq ]] && reads=$(grep -o "[0-9]* file reads from disk ([0-9]* bytes)" "$WORK/server.log" | tail -1 || true)
        stop
        cpu=$(awk -v t="$TICKS" -v c="$((c1 - c0))" 'BEGIN {printf "%.2f", c / t}')
        # DATA blocks actually sent: those of the machines that booted.
        booted=$(echo "${out:-{\}}" | jq '.booted // 0' 2>/dev/null || echo 0)
        per=$(awk -v t="$TICKS" -v c="$((c1 - c0))" -v b="$(( ${booted:-0} * PER_MACHINE ))" \
            'BEGIN {printf "%.2f", b ? c / t * 1e6 / b : 0}')
        echo "${out:-{\}}" | jq -r --arg s "$server" --arg r "$round" --arg cpu "$cpu" \
            --arg per "$per" --arg l "$(cut -d' ' -f1 /proc/loadavg)" \
            '"| \($s) | \($r) | \(.booted // 0) | \(.failed // "n/a") | \(.all_booted_s // 0 | . * 1000 | round / 1000)"
            + " | \(.dora_p50_s // 0 | . * 1000 | round / 1000)/\(.dora_p99_s // 0 | . * 1000 | round / 1000)"
            + " | \(.boot_p50_s // 0 | . * 1000 | round / 1000)/\(.boot_p99_s // 0 | . * 1000 | round / 1000)"
            + " | \($cpu) | \($per) | \($l) |"'
        if [[ -n "$out" ]] && [[ "$(echo "$out" | jq '.failed')" != 0 ]]; then
            echo "$out" | jq -c '{server: "'"$server"'", failures}' >>"$WORK/failures"
        fi
        [[ -n "$reads" ]] && echo "$server round $round: $reads" >>"$WORK/notes"
    done
done
echo
[[ -f "$WORK/failures" ]] && { echo "Failures:"; cat "$WORK/failures"; }
[[ -f "$WORK/notes" ]] && cat "$WORK/notes"
[[ -s "$WORK/load.err" ]] && { echo "load tool stderr:"; head -20 "$WORK/load.err"; }
true
