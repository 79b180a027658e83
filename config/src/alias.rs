//! Values of `-V/--alias=OLD|START-END,NEW[,MASK]` (IPv4 addresses in upstream answers
//! rewritten).

use std::net::Ipv4Addr;

use crate::value::ValueError;

/// One `--alias` rule as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alias {
    /// The old address, or the first of a range.
    pub from: Ipv4Addr,
    /// The last address of a range (`START-END`); None for one address or a masked subnet.
    pub to_end: Option<Ipv4Addr>,
    /// The new address or network.
    pub new: Ipv4Addr,
    /// The mask (default 255.255.255.255: the whole address replaced).
    pub mask: Ipv4Addr,
}

/// Parses the value of `--alias`.
pub fn parse_alias(v: &str) -> Result<Alias, ValueError> {
    let expected = || ValueError::expected("OLD-IP or START-IP-END-IP, then NEW-IP[,MASK] (IPv4)");
    let ip = |s: &str| s.trim().parse::<Ipv4Addr>().map_err(|_| expected());
    let parts: Vec<&str> = v.split(',').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(expected());
    }
    let (from, to_end) = match parts[0].split_once('-') {
        Some((a, b)) => {
            let (a, b) = (ip(a)?, ip(b)?);
            if u32::from(b) < u32::from(a) {
                return Err(ValueError::expected(
                    "a range whose end is not below its start",
                ));
            }
            (a, Some(b))
        }
        None => (ip(parts[0])?, None),
    };
    let mask = match parts.get(2) {
        Some(m) => ip(m)?,
        None => Ipv4Addr::BROADCAST,
    };
    Ok(Alias {
        from,
        to_end,
        new: ip(parts[1])?,
        mask,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms() {
        let a = parse_alias("1.2.3.0,6.7.8.0,255.255.255.0").unwrap();
        assert_eq!(
            (a.from, a.to_end, a.new, a.mask),
            (
                Ipv4Addr::new(1, 2, 3, 0),
                None,
                Ipv4Addr::new(6, 7, 8, 0),
                Ipv4Addr::new(255, 255, 255, 0)
            )
        );
        let r = parse_alias("192.168.0.10-192.168.0.40,10.0.0.0,255.255.255.0").unwrap();
        assert_eq!(r.to_end, Some(Ipv4Addr::new(192, 168, 0, 40)));
        let one = parse_alias("192.0.2.1,10.9.8.7").unwrap();
        assert_eq!(one.mask, Ipv4Addr::BROADCAST);
    }

    #[test]
    fn bad_values() {
        for v in [
            "1.2.3.4",
            "1.2.3.4,5.6.7.8,255.0.0.0,1",
            "1.2.3.x,5.6.7.8",
            "2001:db8::1,10.0.0.1",
            "1.2.3.9-1.2.3.1,10.0.0.0",
            "1.2.3.4,5.6.7.8,mask",
        ] {
            assert!(parse_alias(v).is_err(), "{v}");
        }
    }
}
