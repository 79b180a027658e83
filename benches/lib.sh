# benches/lib.sh — helpers shared by benches/syscalls and benches/rss (sourced, not run).
#
# Provides: ROOT, LOAD, RINGMASQ, WORK (temp dir), PIDS (killed by PID on exit), PRIO,
# free_port, wait_ready PORT, cpu_ticks PID, rss_kib PID, start_knot (sets KP, the knotd
# port on 127.0.0.1, zone lab.test with a wildcard A), start_server PEER PORT DIR [EXTRA..]
# (sets SPID; PEER is ringmasq-uring, ringmasq-epoll, dnsmasq, unbound, echo, echo-uring or echo-uring-reply;
# RINGMASQ=PATH before the call runs another ringmasq build). The main build is
# $BENCH_RINGMASQ_BIN, else $RINGMASQ from the environment, else target/release/ringmasq, so
# `RINGMASQ=PATH benches/interleaved ...` measures PATH as peer ringmasq-uring. Loopback only.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=benches/unbound-conf.sh
source "$ROOT/benches/unbound-conf.sh"
LOAD="${BENCH_LOAD_BIN:-$ROOT/target/release/ringmasq-load}"
ECHO="${BENCH_ECHO_BIN:-$ROOT/target/release/ringmasq-echo}"
RINGMASQ="${BENCH_RINGMASQ_BIN:-${RINGMASQ:-$ROOT/target/release/ringmasq}}"
SERVER_CPU=0
LOAD_CPU=1
(( $(nproc) < 2 )) && LOAD_CPU=0
PRIO="${PRIO:-}"

WORK="$(mktemp -d /tmp/ringmasq-bench.XXXXXX)"
PIDS=()
bench_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

for b in "$LOAD" "$RINGMASQ"; do
    [[ -x "$b" ]] || { echo "bench: $b missing (cargo build --release -p ringmasq-engine -p ringmasq-load)" >&2; exit 1; }
done

free_port() {
    python3 -c 'import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0))
t=socket.socket(); t.bind(("127.0.0.1", s.getsockname()[1])); print(s.getsockname()[1])'
}

# Waits until 127.0.0.1:$1 answers n1.lab.test with NOERROR (up to ~10 s).
wait_ready() {
    local i
    for i in $(seq 1 50); do
        if "$LOAD" dns --server "127.0.0.1:$1" --names 1 --suffix lab.test --count 1 \
            --timeout 200ms --json 2>/dev/null | jq -e '.rcodes.NOERROR == 1' >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

start_knot() {
    KP=$(free_port)
    mkdir -p "$WORK/knot"
    cat >"$WORK/knot/lab.test.zone" <<EOF
\$ORIGIN lab.test.
\$TTL 3600
@   SOA ns.lab.test. admin.lab.test. 1 3600 600 86400 3600
@   NS  ns
ns  A   127.0.0.1
*   A   192.0.2.1
EOF
    cat >"$WORK/knot/knot.conf" <<EOF
server:
    rundir: "$WORK/knot"
    listen: 127.0.0.1@$KP
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$WORK/knot"
control:
    listen: "$WORK/knot/knot.sock"
log:
  - target: stderr
    any: error
zone:
  - domain: lab.test
    storage: "$WORK/knot"
    file: "lab.test.zone"
EOF
    $PRIO taskset -c "$LOAD_CPU" knotd -c "$WORK/knot/knot.conf" >"$WORK/knot/log" 2>&1 &
    PIDS+=($!)
    wait_ready "$KP" || { cat "$WORK/knot/log" >&2; echo "bench: knotd did not start" >&2; exit 1; }
}

# start_server PEER PORT DIR [EXTRA ARGS..]: server pinned to CPU 0 forwarding to knotd.
start_server() {
    local peer="$1" port="$2" dir="$3"; shift 3
    mkdir -p "$dir"
    case "$peer" in
        ringmasq-uring|ringmasq-epoll)
            $PRIO taskset -c "$SERVER_CPU" "$RINGMASQ" -k --port="$port" --listen-address=127.0.0.1 \
                --no-resolv --server="127.0.0.1#$KP" --no-hosts --io-backend="${peer#ringmasq-}" "$@" \
                >"$dir/log" 2>&1 & ;;
        dnsmasq)
            $PRIO taskset -c "$SERVER_CPU" dnsmasq -k --conf-file=/dev/null --port="$port" \
                --listen-address=127.0.0.1 --bind-interfaces --no-resolv --server="127.0.0.1#$KP" \
                --no-hosts --pid-file= --log-facility="$dir/dnsmasq.log" "$@" >"$dir/log" 2>&1 & ;;
        echo)
            $PRIO taskset -c "$SERVER_CPU" "$ECHO" --listen "127.0.0.1:$port" >"$dir/log" 2>&1 & ;;
        echo-uring)
            $PRIO taskset -c "$SERVER_CPU" "$ECHO" --listen "127.0.0.1:$port" --io-uring >"$dir/log" 2>&1 & ;;
        echo-uring-reply)
            $PRIO taskset -c "$SERVER_CPU" "$ECHO" --listen "127.0.0.1:$port" --io-uring --reply-socket \
                >"$dir/log" 2>&1 & ;;
        unbound)
            # A forwarder with one thread, as `benches/compare` runs it.
            command -v unbound >/dev/null || { echo "bench: unbound is not installed" >&2; return 1; }
            write_unbound_conf "$dir/unbound.conf" "$port" "$dir" "$KP"
            $PRIO taskset -c "$SERVER_CPU" unbound -d -c "$dir/unbound.conf" >"$dir/log" 2>&1 & ;;
        *) echo "bench: unknown peer $peer" >&2; return 1 ;;
    esac
    SPID=$!
    PIDS+=("$SPID")
}

# stop_server PID: stops a server started here and forgets its PID, so that the cleanup on
# exit never signals a number the kernel may have handed to another process since.
stop_server() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local p kept=()
    for p in "${PIDS[@]}"; do [[ "$p" == "$1" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}
