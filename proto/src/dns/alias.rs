//! `-V/--alias` (dnsmasq's "DNS doctoring"): IPv4 addresses in upstream answers rewritten, an
//! exact address, a masked subnet or a range of addresses mapped onto another network.

use std::net::Ipv4Addr;

/// The addresses one rule rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AliasFrom {
    /// Every address equal to this one under the rule's mask.
    Net(Ipv4Addr),
    /// Every address from the first to the second, both included.
    Range(Ipv4Addr, Ipv4Addr),
}

/// One `--alias=OLD|START-END,NEW[,MASK]` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AliasRule {
    /// What it rewrites.
    pub from: AliasFrom,
    /// The new network (or address, with the default all-ones mask).
    pub to: Ipv4Addr,
    /// The bits taken from `to`; the others are kept from the old address.
    pub mask: Ipv4Addr,
}

impl AliasRule {
    /// The new address for `addr`, if this rule rewrites it.
    pub fn map(&self, addr: Ipv4Addr) -> Option<Ipv4Addr> {
        let (a, mask) = (u32::from(addr), u32::from(self.mask));
        let hit = match self.from {
            AliasFrom::Net(old) => a & mask == u32::from(old) & mask,
            AliasFrom::Range(start, end) => (u32::from(start)..=u32::from(end)).contains(&a),
        };
        hit.then(|| Ipv4Addr::from((u32::from(self.to) & mask) | (a & !mask)))
    }
}

/// The new address of `addr`: from the rule given last among those that rewrite it (as
/// dnsmasq 2.90 does, observed: with `192.0.2.25,10.3.3.3` then `192.0.2.0,10.4.0.0,MASK/24`,
/// 192.0.2.25 becomes 10.4.0.25).
pub fn alias(rules: &[AliasRule], addr: Ipv4Addr) -> Option<Ipv4Addr> {
    rules.iter().rev().find_map(|r| r.map(addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn the_man_page_examples() {
        let net = AliasRule {
            from: AliasFrom::Net(ip("1.2.3.0")),
            to: ip("6.7.8.0"),
            mask: ip("255.255.255.0"),
        };
        assert_eq!(net.map(ip("1.2.3.56")), Some(ip("6.7.8.56")));
        assert_eq!(net.map(ip("1.2.3.67")), Some(ip("6.7.8.67")));
        assert_eq!(net.map(ip("1.2.4.67")), None);
        let range = AliasRule {
            from: AliasFrom::Range(ip("192.168.0.10"), ip("192.168.0.40")),
            to: ip("10.0.0.0"),
            mask: ip("255.255.255.0"),
        };
        assert_eq!(range.map(ip("192.168.0.10")), Some(ip("10.0.0.10")));
        assert_eq!(range.map(ip("192.168.0.40")), Some(ip("10.0.0.40")));
        assert_eq!(range.map(ip("192.168.0.41")), None);
        assert_eq!(range.map(ip("192.168.0.9")), None);
    }

    #[test]
    fn without_a_mask_one_address_becomes_another() {
        let one = AliasRule {
            from: AliasFrom::Net(ip("192.0.2.1")),
            to: ip("10.9.8.7"),
            mask: Ipv4Addr::BROADCAST,
        };
        assert_eq!(alias(&[one], ip("192.0.2.1")), Some(ip("10.9.8.7")));
        assert_eq!(alias(&[one], ip("192.0.2.2")), None);
    }

    #[test]
    fn the_rule_given_last_wins() {
        let exact = AliasRule {
            from: AliasFrom::Net(ip("192.0.2.25")),
            to: ip("10.3.3.3"),
            mask: Ipv4Addr::BROADCAST,
        };
        let subnet = AliasRule {
            from: AliasFrom::Net(ip("192.0.2.0")),
            to: ip("10.4.0.0"),
            mask: ip("255.255.255.0"),
        };
        assert_eq!(
            alias(&[exact, subnet], ip("192.0.2.25")),
            Some(ip("10.4.0.25"))
        );
        assert_eq!(
            alias(&[subnet, exact], ip("192.0.2.25")),
            Some(ip("10.3.3.3"))
        );
    }
}
