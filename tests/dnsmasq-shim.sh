#!/bin/bash
# Runs the end-to-end scenarios against dnsmasq itself, to check that a scenario's expectation
# is what dnsmasq does:  RINGMASQ_BIN=$PWD/tests/dnsmasq-shim.sh cargo test -p ringmasq-tests
# Drops ringmasq-only options; adds no config file, staying root, binding only the given address.
args=()
for a in "$@"; do
    case "$a" in
        --threads=* | --io-backend=*) ;;
        *) args+=("$a") ;;
    esac
done
exec /usr/sbin/dnsmasq --conf-file=/dev/null --user=root --group=root --bind-interfaces "${args[@]}"
