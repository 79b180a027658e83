//! Who may send us queries (`--local-service`), and the host's interface addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An interface address with its prefix length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAddr {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length of its subnet.
    pub prefix: u8,
}

/// Lists every address of every interface (getifaddrs).
pub fn interface_addrs() -> Vec<InterfaceAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list that we walk read-only and free with freeifaddrs.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut p = head;
        while !p.is_null() {
            let ifa = &*p;
            p = ifa.ifa_next;
            if ifa.ifa_addr.is_null() {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            let index = libc::if_nametoindex(ifa.ifa_name);
            let family = (*ifa.ifa_addr).sa_family as i32;
            let (addr, prefix) = match family {
                libc::AF_INET => {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    let addr = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                    let prefix = if ifa.ifa_netmask.is_null() {
                        32
                    } else {
                        let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
                        u32::from_be(m.sin_addr.s_addr).count_ones() as u8
                    };
                    (IpAddr::V4(addr), prefix)
                }
                libc::AF_INET6 => {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    let addr = Ipv6Addr::from(a.sin6_addr.s6_addr);
                    let prefix = if ifa.ifa_netmask.is_null() {
                        128
                    } else {
                        let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in6);
                        u128::from_be_bytes(m.sin6_addr.s6_addr).count_ones() as u8
                    };
                    (IpAddr::V6(addr), prefix)
                }
                _ => continue,
            };
            out.push(InterfaceAddr {
                name,
                index,
                addr,
                prefix,
            });
        }
        libc::freeifaddrs(head);
    }
    out
}

/// True when `ip` is inside `net/prefix`.
pub fn in_subnet(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let p = u32::from(prefix.min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let p = u32::from(prefix.min(128));
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a4| in_subnet(IpAddr::V4(a4), net, prefix)),
        _ => false,
    }
}

/// Which clients may query us.
#[derive(Clone, Debug, Default)]
pub struct AccessPolicy {
    /// None: everyone. Some: only addresses inside one of these subnets.
    allowed: Option<Vec<(IpAddr, u8)>>,
}

impl AccessPolicy {
    /// Everyone may query.
    pub fn open() -> Self {
        Self { allowed: None }
    }

    /// `--local-service=net`: hosts on a subnet of one of our interfaces.
    pub fn local_subnets(addrs: &[InterfaceAddr]) -> Self {
        Self {
            allowed: Some(addrs.iter().map(|a| (a.addr, a.prefix)).collect()),
        }
    }

    /// `--local-service=host`: this host only (loopback and our own addresses).
    pub fn host_only(addrs: &[InterfaceAddr]) -> Self {
        let mut v: Vec<(IpAddr, u8)> = addrs.iter().map(|a| (a.addr, 128)).collect();
        for a in &mut v {
            if a.0.is_ipv4() {
                a.1 = 32;
            }
        }
        v.push((IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8));
        v.push((IpAddr::V6(Ipv6Addr::LOCALHOST), 128));
        Self { allowed: Some(v) }
    }

    /// True when `ip` may query.
    #[inline]
    pub fn allows(&self, ip: IpAddr) -> bool {
        match &self.allowed {
            None => true,
            Some(nets) => nets.iter().any(|&(n, p)| in_subnet(ip, n, p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_subnet(ip("192.168.1.7"), ip("192.168.1.1"), 24));
        assert!(!in_subnet(ip("192.168.2.7"), ip("192.168.1.1"), 24));
        assert!(in_subnet(ip("::ffff:10.0.0.1"), ip("10.0.0.0"), 8));
        assert!(in_subnet(ip("fe80::1"), ip("fe80::2"), 64));
        let p = AccessPolicy::host_only(&[]);
        assert!(p.allows(ip("127.0.0.2")));
        assert!(!p.allows(ip("10.1.1.1")));
        assert!(AccessPolicy::open().allows(ip("10.1.1.1")));
    }

    #[test]
    fn loopback_is_listed() {
        assert!(interface_addrs().iter().any(|a| a.addr.is_loopback()));
    }
}
