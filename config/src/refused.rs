//! The refused list: options dnsmasq has that ringmasq knows but does not implement yet. Using
//! one is an error at start naming the file and line (or the command-line argument); `--help`
//! lists them apart. Implementing an option means taking it off this list and making it work.

/// Long names of the options refused at start, sorted.
pub const REFUSED: &[&str] = &[
    "add-cpe-id",
    "add-mac",
    "add-subnet",
    "auth-peer",
    "auth-sec-servers",
    "auth-server",
    "auth-soa",
    "auth-ttl",
    "auth-zone",
    "bridge-interface",
    "conf-script",
    "connmark-allowlist",
    "connmark-allowlist-enable",
    "conntrack",
    "dhcp-luascript",
    "dhcp-proxy",
    "dhcp-relay",
    "dns-loop-detect",
    "dumpfile",
    "dumpmask",
    "enable-dbus",
    "enable-ubus",
    "ipset",
    "localise-queries",
    "nftset",
    "port-limit",
    "shared-network",
    "strip-mac",
    "strip-subnet",
    "umbrella",
];

/// Byte-wise string equality usable in a `const fn`.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `long` is on the refused list (evaluated when the option table is built).
pub const fn is_refused(long: &str) -> bool {
    let mut i = 0;
    while i < REFUSED.len() {
        if same(REFUSED[i], long) {
            return true;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::option::{Family, Status, find_long};

    #[test]
    fn every_refused_name_is_a_dnsmasq_option_marked_refused() {
        for name in REFUSED {
            let spec = find_long(name).unwrap_or_else(|| panic!("{name} not in the table"));
            assert_eq!(spec.family, Family::Dnsmasq, "{name}");
            assert_eq!(spec.status, Status::NotYetImplemented, "{name}");
        }
        assert!(
            REFUSED.windows(2).all(|w| w[0] < w[1]),
            "sorted, no repeats"
        );
        assert!(!is_refused("server") && !is_refused("ipse") && is_refused("ipset"));
        assert_eq!(find_long("server").unwrap().status, Status::Implemented);
    }
}
