#!/bin/bash
# Runs the end-to-end scenarios against dnsmasq itself, to check that a scenario's expectation
# is what dnsmasq does:  RINGMASQ_BIN=$PWD/tests/dnsmasq-shim.sh cargo test -p ringmasq-tests
# Drops ringmasq-only options and adds what dnsmasq needs to run unprivileged-free in a test.
args=()
for a in "$@"; do
    case "$a" in
        --threads=* | --io-backend=*) ;;
        *) args+=("$a") ;;
    esac
done
exec /usr/sbin/dnsmasq --conf-file=/dev/null --user=root --group=root --bind-interfaces "${args[@]}"
