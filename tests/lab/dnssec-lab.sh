#!/usr/bin/env bash
# Builds a local signed DNS hierarchy for the DNSSEC tests (ldnsutils):
#   .  ->  test.  ->  sec.test (NSEC, ECDSAP256, wildcard, CNAME into n3.test)
#                     n3.test (NSEC3, ECDSAP384, no salt, 0 iterations, opt-out)
#                     rsa256.test, rsa512.test, ed25519.test (one zone per algorithm)
#                     insec.test (unsigned, no DS), bogus.test (A edited after signing)
#                     expired.test (signatures expired in 2020), iter.test (NSEC3, 200 iterations)
#                     wrongds.test (DS of a key the zone does not use)
# Usage: dnssec-lab.sh DIR [INCEPTION EXPIRATION]; writes DIR/zones/*.signed, DIR/root.ds
# (the trust anchor, "." DS) and DIR/zones.list ("origin file" per line).
set -euo pipefail
dir=$1
inc=${2:-$(date -u -d '-1 day' +%Y%m%d%H%M%S)}
exp=${3:-$(date -u -d '+30 days' +%Y%m%d%H%M%S)}
mkdir -p "$dir/keys" "$dir/zones"
cd "$dir"
: > zones.list
soa() { printf '$TTL 300\n%s SOA ns.test. hostmaster.test. 1 3600 900 604800 300\n%s NS ns.test.\n' "$1" "$1"; }
keys() { # zone alg -> prints "ksk zsk" base names
  local k z
  k=$(cd keys && ldns-keygen -a "$2" -k "$1")
  z=$(cd keys && ldns-keygen -a "$2" "$1")
  echo "keys/$k keys/$z"
}
sign() { # zone file alg [signzone options] ; appends the DS to ds/<zone>
  local zone=$1 file=$2 alg=$3; shift 3
  local ks; ks=$(keys "$zone" "$alg")
  ldns-signzone -i "$inc" -e "$exp" "$@" -f "zones/$file.signed" "zones/$file.zone" $ks
  ldns-key2ds -n -2 "${ks%% *}.key" > "zones/$file.ds"
  echo "$zone zones/$file.signed" >> zones.list
}
child() { # zone file: an ordinary child zone body
  { soa "$1"; printf 'www 300 A 192.0.2.1\nwww 300 AAAA 2001:db8::1\ntxt 300 TXT "hello"\n'; } > "zones/$2.zone"
}
child sec.test. sec
printf '*.wild 300 A 192.0.2.7\ncname 300 CNAME www.n3.test.\nloop 300 CNAME www.insec.test.\n' >> zones/sec.zone
printf 'nosig 300 A 192.0.2.9\n' >> zones/sec.zone
sign sec.test. sec ECDSAP256SHA256
sed -i -E '/^nosig\.sec\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+RRSIG[[:space:]]+A[[:space:]]/d' zones/sec.signed
grep -q '^nosig\.sec\.test\..*[[:space:]]A[[:space:]]' zones/sec.signed
if grep -qE '^nosig\.sec\.test\..*RRSIG[[:space:]]+A[[:space:]]' zones/sec.signed; then exit 1; fi
child n3.test. n3
printf 'unsigned 300 NS ns.unsigned.n3.test.\nns.unsigned 300 A 127.0.0.1\n' >> zones/n3.zone
sign n3.test. n3 ECDSAP384SHA384 -n -t 0 -p
child rsa256.test. rsa256; sign rsa256.test. rsa256 RSASHA256
child rsa512.test. rsa512; sign rsa512.test. rsa512 RSASHA512
child ed25519.test. ed25519; sign ed25519.test. ed25519 ED25519
child bogus.test. bogus; sign bogus.test. bogus ECDSAP256SHA256
sed -i -E 's/^(www\.bogus\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+)192\.0\.2\.1/\1192.0.2.66/' zones/bogus.signed
grep -q '192.0.2.66' zones/bogus.signed
child expired.test. expired
ks=$(keys expired.test. ECDSAP256SHA256)
ldns-signzone -i 20200101000000 -e 20200201000000 -f zones/expired.signed zones/expired.zone $ks
ldns-key2ds -n -2 "${ks%% *}.key" > zones/expired.ds
echo "expired.test. zones/expired.signed" >> zones.list
child iter.test. iter; sign iter.test. iter ECDSAP256SHA256 -n -t 200
child wrongds.test. wrongds; sign wrongds.test. wrongds ECDSAP256SHA256
other=$(cd keys && ldns-keygen -a ECDSAP256SHA256 -k wrongds.test.)
ldns-key2ds -n -2 "keys/$other.key" > zones/wrongds.ds
child insec.test. insec; echo "insec.test. zones/insec.zone" >> zones.list
# test.: delegations (NS + glue) and the DS of every signed child.
{
  soa test.
  echo 'ns 300 A 127.0.0.1'
  for c in sec n3 rsa256 rsa512 ed25519 bogus expired iter wrongds insec; do echo "$c 300 NS ns.test."; done
  cat zones/{sec,n3,rsa256,rsa512,ed25519,bogus,expired,iter,wrongds}.ds
} > zones/test.zone
sign test. test ECDSAP256SHA256
{ soa .; echo 'test. 300 NS ns.test.'; echo 'ns.test. 300 A 127.0.0.1'; cat zones/test.ds; } > zones/root.zone
sign . root ECDSAP256SHA256
cp zones/root.ds root.ds
