//! Encoding of the classless static route option (RFC 3442 §3), for the config crate to turn
//! `--dhcp-option=121,net/len,router,…` into the option's wire value.

use std::net::Ipv4Addr;

/// One classless route: destination, prefix length, router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClasslessRoute {
    /// Destination network.
    pub dest: Ipv4Addr,
    /// Prefix length (0..=32).
    pub prefix: u8,
    /// Router.
    pub router: Ipv4Addr,
}

/// Encode routes as option 121's value: per route, the prefix length, the significant octets of
/// the destination (RFC 3442 §3), then the router.
pub fn encode_classless_routes(routes: &[ClasslessRoute]) -> Vec<u8> {
    let mut v = Vec::new();
    for r in routes {
        let p = r.prefix.min(32);
        v.push(p);
        v.extend_from_slice(&r.dest.octets()[..usize::from(p).div_ceil(8)]);
        v.extend_from_slice(&r.router.octets());
    }
    v
}

/// Decode option 121's value; `None` if it is malformed.
pub fn decode_classless_routes(mut v: &[u8]) -> Option<Vec<ClasslessRoute>> {
    let mut out = Vec::new();
    while let Some((&p, rest)) = v.split_first() {
        if p > 32 {
            return None;
        }
        let n = usize::from(p).div_ceil(8);
        if rest.len() < n + 4 {
            return None;
        }
        let mut d = [0u8; 4];
        d[..n].copy_from_slice(&rest[..n]);
        let router = Ipv4Addr::new(rest[n], rest[n + 1], rest[n + 2], rest[n + 3]);
        out.push(ClasslessRoute {
            dest: Ipv4Addr::from(d),
            prefix: p,
            router,
        });
        v = &rest[n + 4..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc3442_example() {
        // RFC 3442 §3: 10.17.0.0/16 via 10.0.0.1 encodes as 16.10.17 then the router.
        let r = [ClasslessRoute {
            dest: Ipv4Addr::new(10, 17, 0, 0),
            prefix: 16,
            router: Ipv4Addr::new(10, 0, 0, 1),
        }];
        assert_eq!(encode_classless_routes(&r), vec![16, 10, 17, 10, 0, 0, 1]);
    }

    proptest! {
        #[test]
        fn round_trip(routes in proptest::collection::vec((any::<u32>(), 0u8..=32, any::<u32>()), 0..8)) {
            let routes: Vec<_> = routes.into_iter().map(|(d, p, r)| {
                let mask = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
                ClasslessRoute { dest: Ipv4Addr::from(d & mask), prefix: p, router: Ipv4Addr::from(r) }
            }).collect();
            prop_assert_eq!(decode_classless_routes(&encode_classless_routes(&routes)), Some(routes));
        }
    }
}
