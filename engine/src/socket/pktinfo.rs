//! IP_PKTINFO / IPV6_PKTINFO control messages: where a query arrived, and where its answer
//! leaves from.

use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
pub const CMSG_SPACE: usize = 64;

/// Reads the destination address and interface from a received message's control data.
pub fn parse_pktinfo(control: &[u8]) -> (Option<IpAddr>, u32) {
    // SAFETY: a msghdr that points at `control` only so the CMSG_* macros can walk it; the
    // macros never read past msg_controllen.
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_control = control.as_ptr() as *mut _;
        msg.msg_controllen = control.len() as _;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return (
                    Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        info.ipi_addr.s_addr,
                    )))),
                    info.ipi_ifindex as u32,
                );
            }
            if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return (
                    Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr))),
                    info.ipi6_ifindex,
                );
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    (None, 0)
}

/// Writes a control message that makes the kernel send from `local` (and out of `ifindex`);
/// returns the control length, 0 when none is needed.
pub fn write_pktinfo(local: Option<IpAddr>, ifindex: u32, control: &mut [u8; CMSG_SPACE]) -> usize {
    let Some(local) = local else { return 0 };
    control.fill(0);
    // SAFETY: as in parse_pktinfo; the buffer is large enough for one pktinfo cmsg of either
    // family (CMSG_SPACE(sizeof in6_pktinfo) = 40 <= 64) and we write within CMSG_LEN.
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = CMSG_SPACE as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        match local {
            IpAddr::V4(a) => {
                (*cmsg).cmsg_level = libc::IPPROTO_IP;
                (*cmsg).cmsg_type = libc::IP_PKTINFO;
                (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as _;
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(a).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let _ = ifindex;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
                libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize
            }
            IpAddr::V6(a) => {
                (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
                (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
                (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in6_pktinfo>() as u32) as _;
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: a.octets(),
                    },
                    // Link-local answers must leave through the interface they came in on.
                    ipi6_ifindex: if a.segments()[0] & 0xffc0 == 0xfe80 {
                        ifindex
                    } else {
                        0
                    },
                };
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
                libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) as usize
            }
        }
    }
}
