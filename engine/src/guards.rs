//! The query and answer guards of the configuration, in the form the forwarder checks them.

use ringmasq_config::{Config, RR_TYPE_ANY};
use ringmasq_proto::dns::guard::{AddrPrefix, Guards, RecordFilter};

/// QTYPE A (RFC 1035 §3.2.2).
const TYPE_A: u16 = 1;
/// QTYPE AAAA (RFC 3596 §2.1).
const TYPE_AAAA: u16 = 28;

/// Lowercase wire form of a dotted domain name ("" = the root).
fn wire_name(domain: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(domain.len() + 2);
    for label in domain.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend(l.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
    out
}

/// The guards `cfg` asks for: `-D`, `-b`, `-f`, `--stop-dns-rebind`, `--rebind-localhost-ok`,
/// `--rebind-domain-ok`, `-B`, `--ignore-address`, `--filter-A`, `--filter-AAAA`, `--filter-rr`.
pub fn guards_from_config(cfg: &Config) -> Guards {
    let mut types: Vec<u16> = cfg
        .filter_rr
        .iter()
        .copied()
        .filter(|&t| t != RR_TYPE_ANY)
        .collect();
    if cfg.filter_a {
        types.push(TYPE_A);
    }
    if cfg.filter_aaaa {
        types.push(TYPE_AAAA);
    }
    types.sort_unstable();
    types.dedup();
    let prefixes = |list: &[ringmasq_config::AddrPrefix]| {
        list.iter()
            .map(|p| AddrPrefix::new(p.addr, p.prefix))
            .collect()
    };
    Guards {
        domain_needed: cfg.domain_needed,
        bogus_priv: cfg.bogus_priv,
        filterwin2k: cfg.filterwin2k,
        stop_dns_rebind: cfg.stop_dns_rebind,
        rebind_localhost_ok: cfg.rebind_localhost_ok,
        rebind_domain_ok: cfg.rebind_domain_ok.iter().map(|d| wire_name(d)).collect(),
        bogus_nxdomain: prefixes(&cfg.bogus_nxdomain),
        ignore_address: prefixes(&cfg.ignore_address),
        filter: RecordFilter {
            types,
            any: cfg.filter_rr.contains(&RR_TYPE_ANY),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_maps_to_guards() {
        let cfg = Config {
            domain_needed: true,
            stop_dns_rebind: true,
            rebind_domain_ok: vec!["Lan".into(), String::new()],
            filter_aaaa: true,
            filter_rr: vec![16, RR_TYPE_ANY, 28],
            ..Config::default()
        };
        let g = guards_from_config(&cfg);
        assert!(g.domain_needed && g.stop_dns_rebind && !g.bogus_priv);
        assert_eq!(g.rebind_domain_ok, [b"\x03lan\x00".to_vec(), vec![0]]);
        assert_eq!(g.filter.types, [16, 28]);
        assert!(g.filter.any);
        assert_eq!(guards_from_config(&Config::default()), Guards::default());
    }
}
