# benches/unbound-conf.sh — the unbound peer's configuration, shared by benches/compare and
# benches/lib.sh (sourced, not run): a forwarder with one thread to knotd, caches large enough
# for every name of a run.
#
# write_unbound_conf FILE PORT DIR UPSTREAM_PORT: unbound on 127.0.0.1@PORT, state in DIR,
# forwarding everything to 127.0.0.1@UPSTREAM_PORT.
write_unbound_conf() {
    cat >"$1" <<EOF
server:
    interface: 127.0.0.1@$2
    port: $2
    num-threads: 1
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$3"
    pidfile: "$3/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    local-zone: "test." nodefault
    msg-cache-size: 64m
    rrset-cache-size: 128m
    so-reuseport: no
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$4
EOF
}
