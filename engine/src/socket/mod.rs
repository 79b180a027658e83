//! Socket setup: per-worker SO_REUSEPORT listeners and the sockets their replies leave from,
//! the upstream socket pool, socket addresses as the kernel writes them, and the packet-info
//! control messages that make answers leave from the address a query arrived at.

mod address;
mod listener;
mod pktinfo;
mod reply;
mod upstream;

pub use address::{from_sockaddr, sockaddr_from_bytes, to_sockaddr};
pub use listener::{
    Fragments, Pktinfo, ensure_udp_free, fragments_after_emsgsize, tcp_listener, udp_listener,
    wait_udp_free,
};
pub use pktinfo::{CMSG_SPACE, parse_pktinfo, write_pktinfo};
pub use reply::udp_reply_socket;
pub use upstream::{bound_upstream_socket, reserve_ports, steer_by_query_id, upstream_socket};

use anyhow::{Context, Result};
use socket2::Socket;
use std::mem::size_of;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};

fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> std::io::Result<()> {
    // SAFETY: passes a pointer to a live i32 and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Attaches classic BPF `code` to `s` as socket option `option` (SO_ATTACH_FILTER,
/// SO_ATTACH_REUSEPORT_CBPF).
fn attach_classic_bpf(s: &Socket, option: i32, code: &[libc::sock_filter]) -> std::io::Result<()> {
    let prog = libc::sock_fprog {
        len: code.len() as u16,
        filter: code.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `code`, both alive for the call; the kernel copies the program.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&prog as *const libc::sock_fprog).cast(),
            size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The address a socket is bound to.
pub fn local_addr(s: &Socket) -> Option<SocketAddr> {
    s.local_addr().ok().and_then(|a| a.as_socket())
}

/// Creates a non-blocking eventfd used as a worker's doorbell.
pub fn eventfd() -> Result<RawFd> {
    // SAFETY: plain syscall; the returned fd is owned by the caller.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("eventfd");
    }
    Ok(fd)
}

/// One integer socket option, as the kernel reports it.
#[cfg(test)]
fn option(s: &Socket, level: i32, name: i32) -> i32 {
    let mut v: i32 = -1;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: `v` and `len` are live and sized for one i32.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            level,
            name,
            (&mut v as *mut i32).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    v
}
