//! Socket addresses as the kernel reads and writes them.

use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Converts a kernel socket address of `len` bytes to a [`SocketAddr`].
pub fn from_sockaddr(storage: &libc::sockaddr_storage, len: usize) -> Option<SocketAddr> {
    let len = len.min(size_of::<libc::sockaddr_storage>());
    // SAFETY: sockaddr_storage is a plain C struct; we read at most its size in bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts((storage as *const libc::sockaddr_storage).cast::<u8>(), len)
    };
    sockaddr_from_bytes(bytes)
}

/// Reads a kernel socket address from the bytes the kernel wrote (a received message's name),
/// without copying them into a `sockaddr_storage` first.
pub fn sockaddr_from_bytes(name: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes(name.get(..2)?.try_into().ok()?));
    let port = u16::from_be_bytes(name.get(2..4)?.try_into().ok()?);
    match family {
        libc::AF_INET if name.len() >= size_of::<libc::sockaddr_in>() => {
            let ip: [u8; 4] = name[4..8].try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 if name.len() >= size_of::<libc::sockaddr_in6>() => {
            let flowinfo = u32::from_ne_bytes(name[4..8].try_into().ok()?);
            let ip: [u8; 16] = name[8..24].try_into().ok()?;
            let scope = u32::from_ne_bytes(name[24..28].try_into().ok()?);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flowinfo,
                scope,
            )))
        }
        _ => None,
    }
}

/// Writes `addr` as a kernel socket address; returns its length.
///
/// Only the returned length is written (the kernel reads no further), not the whole 128-byte
/// storage.
pub fn to_sockaddr(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: an all-zero sockaddr_in is valid (sin_zero stays zero).
            let mut s: libc::sockaddr_in = unsafe { zeroed() };
            s.sin_family = libc::AF_INET as libc::sa_family_t;
            s.sin_port = a.port().to_be();
            s.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), s) };
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: an all-zero sockaddr_in6 is valid.
            let mut s: libc::sockaddr_in6 = unsafe { zeroed() };
            s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            s.sin6_port = a.port().to_be();
            s.sin6_addr.s6_addr = a.ip().octets();
            s.sin6_flowinfo = a.flowinfo();
            s.sin6_scope_id = a.scope_id();
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), s) };
            size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The bytes the kernel would write for `addr` (what `to_sockaddr` writes, `len` of them).
    fn wire(addr: &SocketAddr) -> Vec<u8> {
        // SAFETY: an all-zero sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let len = to_sockaddr(addr, &mut ss) as usize;
        // SAFETY: ss is a plain C struct at least `len` bytes long.
        unsafe {
            std::slice::from_raw_parts((&ss as *const libc::sockaddr_storage).cast::<u8>(), len)
        }
        .to_vec()
    }

    #[test]
    fn socket_addresses_read_back_from_kernel_bytes() {
        for a in ["127.0.0.1:53", "[::1]:5353", "[fe80::1%2]:547"] {
            let a: SocketAddr = a.parse().unwrap();
            assert_eq!(sockaddr_from_bytes(&wire(&a)), Some(a));
        }
        let v4 = wire(&"10.0.0.1:67".parse().unwrap());
        // Too short for the family, empty, or an unknown family: no address.
        assert_eq!(sockaddr_from_bytes(&v4[..15]), None);
        assert_eq!(sockaddr_from_bytes(&[]), None);
        let mut unix = v4.clone();
        unix[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
        assert_eq!(sockaddr_from_bytes(&unix), None);
    }

    proptest! {
        #[test]
        fn sockaddr_round_trip(ip in any::<[u8; 16]>(), port: u16, flow: u32, scope: u32, v4: bool) {
            let a = if v4 {
                SocketAddr::from(([ip[0], ip[1], ip[2], ip[3]], port))
            } else {
                SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, flow, scope))
            };
            prop_assert_eq!(sockaddr_from_bytes(&wire(&a)), Some(a));
        }

        #[test]
        fn sockaddr_from_any_bytes_never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = sockaddr_from_bytes(&b);
        }
    }
}
