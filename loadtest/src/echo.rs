//! A trivial DNS "echo" responder used as the throughput ceiling and as a test peer:
//! every datagram comes back with the same bytes and QR set (RFC 1035 §4.1.1).
//! Optionally drops every Nth query to exercise timeout accounting.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams per recvmmsg/sendmmsg call.
const BATCH: usize = 64;
const BUF: usize = 4096;

/// Turns a query into its echo: QR bit set. Returns false for runts (fewer than 3 octets).
pub fn make_echo(pkt: &mut [u8]) -> bool {
    match pkt.get_mut(2) {
        Some(b) => {
            *b |= 0x80;
            true
        }
        None => false,
    }
}

/// What the responder does with one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Answer it once.
    Echo,
    /// Do not answer.
    Drop,
    /// Answer it twice (the second copy must count as unexpected).
    Duplicate,
    /// Answer with a different QTYPE in the question (must not match the query).
    Mangle,
}

/// Fault injection by query number: every `drop_every`th query is dropped, every
/// `duplicate_every`th answered twice, every `mangle_every`th answered with a changed
/// question (0 disables each; drop wins over duplicate, duplicate over mangle).
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Drop every Nth query.
    pub drop_every: u64,
    /// Answer every Nth query twice.
    pub duplicate_every: u64,
    /// Change the question of every Nth answer.
    pub mangle_every: u64,
    seen: u64,
}

impl Faults {
    /// Fault injection with the given periods (0 = off).
    pub fn new(drop_every: u64, duplicate_every: u64, mangle_every: u64) -> Self {
        Faults {
            drop_every,
            duplicate_every,
            mangle_every,
            seen: 0,
        }
    }

    /// Counts one query and decides its fate.
    pub fn next_fate(&mut self) -> Fate {
        self.seen += 1;
        let hit = |every: u64| every != 0 && self.seen.is_multiple_of(every);
        if hit(self.drop_every) {
            Fate::Drop
        } else if hit(self.duplicate_every) {
            Fate::Duplicate
        } else if hit(self.mangle_every) {
            Fate::Mangle
        } else {
            Fate::Echo
        }
    }
}

/// Changes the QTYPE of the first question (the two octets before the final QCLASS of a
/// single-question query), so the answer no longer matches what was asked.
pub fn mangle(pkt: &mut [u8]) {
    let n = pkt.len();
    if n >= 12 + 5 {
        pkt[n - 3] ^= 0x40;
    }
}

/// Serves UDP forever on a blocking socket with recvmmsg/sendmmsg.
pub fn serve_udp(sock: &UdpSocket, mut faults: Faults) -> io::Result<()> {
    crate::transport::set_buffer_sizes(sock.as_raw_fd(), 8 << 20);
    let mut bufs = vec![0u8; BATCH * BUF];
    // SAFETY (for the zeroed values): plain C structs for which all-zero is valid.
    let mut names: Vec<libc::sockaddr_storage> =
        (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
    let mut iovs: Vec<libc::iovec> = (0..BATCH)
        .map(|i| libc::iovec {
            iov_base: bufs[i * BUF..].as_mut_ptr().cast(),
            iov_len: BUF,
        })
        .collect();
    let mut hdrs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
    // Room for every datagram twice (duplicates).
    let mut out: Vec<libc::mmsghdr> = (0..2 * BATCH)
        .map(|_| unsafe { std::mem::zeroed() })
        .collect();
    let mut out_iov: Vec<libc::iovec> = iovs.iter().chain(iovs.iter()).copied().collect();
    loop {
        for i in 0..BATCH {
            hdrs[i].msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            hdrs[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            iovs[i].iov_len = BUF;
            hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
            hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: BATCH headers point at live name storage and iovecs over `bufs`.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        let mut k = 0;
        for i in 0..n as usize {
            let len = (hdrs[i].msg_len as usize).min(BUF);
            let fate = faults.next_fate();
            let pkt = &mut bufs[i * BUF..i * BUF + len];
            if fate == Fate::Drop || !make_echo(pkt) {
                continue;
            }
            if fate == Fate::Mangle {
                mangle(pkt);
            }
            let copies = if fate == Fate::Duplicate { 2 } else { 1 };
            for _ in 0..copies {
                out_iov[k] = libc::iovec {
                    iov_base: pkt.as_mut_ptr().cast(),
                    iov_len: len,
                };
                out[k].msg_hdr.msg_name = hdrs[i].msg_hdr.msg_name;
                out[k].msg_hdr.msg_namelen = hdrs[i].msg_hdr.msg_namelen;
                out[k].msg_hdr.msg_iov = &mut out_iov[k];
                out[k].msg_hdr.msg_iovlen = 1;
                k += 1;
            }
        }
        let mut done = 0;
        while done < k {
            // SAFETY: out[done..k] are filled above and point into live buffers.
            let r = unsafe {
                libc::sendmmsg(
                    sock.as_raw_fd(),
                    out[done..].as_mut_ptr(),
                    (k - done) as u32,
                    0,
                )
            };
            if r <= 0 {
                // Unreachable peer or full buffer: skip this datagram, like any UDP server.
                done += 1;
            } else {
                done += r as usize;
            }
        }
    }
}

/// `UDP_SEGMENT` and `UDP_GRO` (linux/udp.h).
const UDP_SEGMENT: libc::c_int = 103;
const UDP_GRO: libc::c_int = 104;
/// Messages per recvmmsg/sendmmsg call with GRO, each up to [`GRO_BUF`] octets.
const GRO_BATCH: usize = 16;
const GRO_BUF: usize = 65_536;
const GRO_CMSG: usize = 32;

/// Serves UDP forever like [`serve_udp`], but lets the kernel coalesce datagrams that a
/// client sent as one segmented (GSO) send (`UDP_GRO`), and answers such a run with one
/// segmented send: a client that batches its sends this way is then served for a fraction of
/// the per-datagram cost, so the echo stops being the ceiling. Datagrams sent one by one are
/// served as before. No fault injection.
pub fn serve_udp_gro(sock: &UdpSocket) -> io::Result<()> {
    crate::transport::set_buffer_sizes(sock.as_raw_fd(), 8 << 20);
    let one: libc::c_int = 1;
    // SAFETY: setsockopt with a valid int option value of the right size.
    if unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_UDP,
            UDP_GRO,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    let mut bufs = vec![0u8; GRO_BATCH * GRO_BUF];
    let mut controls = vec![[0u8; GRO_CMSG]; GRO_BATCH];
    let mut out_controls = vec![[0u8; GRO_CMSG]; GRO_BATCH];
    // SAFETY (for the zeroed values): plain C structs for which all-zero is valid.
    let mut names: Vec<libc::sockaddr_storage> = (0..GRO_BATCH)
        .map(|_| unsafe { std::mem::zeroed() })
        .collect();
    let mut iovs: Vec<libc::iovec> = (0..GRO_BATCH)
        .map(|i| libc::iovec {
            iov_base: bufs[i * GRO_BUF..].as_mut_ptr().cast(),
            iov_len: GRO_BUF,
        })
        .collect();
    let mut out_iovs = iovs.clone();
    let mut hdrs: Vec<libc::mmsghdr> = (0..GRO_BATCH)
        .map(|_| unsafe { std::mem::zeroed() })
        .collect();
    let mut out: Vec<libc::mmsghdr> = (0..GRO_BATCH)
        .map(|_| unsafe { std::mem::zeroed() })
        .collect();
    loop {
        for i in 0..GRO_BATCH {
            let h = &mut hdrs[i].msg_hdr;
            h.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
            iovs[i].iov_len = GRO_BUF;
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = controls[i].as_mut_ptr().cast();
            h.msg_controllen = GRO_CMSG;
        }
        // SAFETY: GRO_BATCH headers point at live names, iovecs and control buffers.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                hdrs.as_mut_ptr(),
                GRO_BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        let mut k = 0;
        for i in 0..n as usize {
            let len = (hdrs[i].msg_len as usize).min(GRO_BUF);
            let seg = gro_segment_size(&hdrs[i].msg_hdr).unwrap_or(len).max(1);
            let data = &mut bufs[i * GRO_BUF..i * GRO_BUF + len];
            for pkt in data.chunks_mut(seg) {
                make_echo(pkt);
            }
            out_iovs[k] = libc::iovec {
                iov_base: data.as_mut_ptr().cast(),
                iov_len: len,
            };
            let o = &mut out[k].msg_hdr;
            *o = unsafe { std::mem::zeroed() };
            o.msg_name = hdrs[i].msg_hdr.msg_name;
            o.msg_namelen = hdrs[i].msg_hdr.msg_namelen;
            o.msg_iov = &mut out_iovs[k];
            o.msg_iovlen = 1;
            if len > seg {
                o.msg_control = out_controls[k].as_mut_ptr().cast();
                o.msg_controllen = GRO_CMSG;
                // SAFETY: one cmsg with a u16 payload fits the 32-octet buffer.
                unsafe {
                    let c = libc::CMSG_FIRSTHDR(o);
                    (*c).cmsg_level = libc::SOL_UDP;
                    (*c).cmsg_type = UDP_SEGMENT;
                    (*c).cmsg_len = libc::CMSG_LEN(2) as _;
                    std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), seg as u16);
                    o.msg_controllen = libc::CMSG_SPACE(2) as _;
                }
            }
            k += 1;
        }
        let mut done = 0;
        while done < k {
            // SAFETY: out[done..k] are filled above and point into live buffers.
            let r = unsafe {
                libc::sendmmsg(
                    sock.as_raw_fd(),
                    out[done..].as_mut_ptr(),
                    (k - done) as u32,
                    0,
                )
            };
            done += if r <= 0 { 1 } else { r as usize };
        }
    }
}

/// The segment size the kernel reports for a coalesced (GRO) datagram, if any.
fn gro_segment_size(h: &libc::msghdr) -> Option<usize> {
    // SAFETY: walks the control buffer the kernel filled, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == UDP_GRO {
                let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                return usize::try_from(v).ok();
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    None
}

/// Serves TCP: one thread per connection, length-framed messages echoed in order.
pub fn serve_tcp(listener: TcpListener, faults: Faults) -> io::Result<()> {
    for conn in listener.incoming() {
        let conn = conn?;
        std::thread::spawn(move || {
            let _ = echo_tcp_conn(conn, faults);
        });
    }
    Ok(())
}

fn echo_tcp_conn(mut s: TcpStream, mut faults: Faults) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut rbuf = vec![0u8; 1 << 17];
    let mut rlen = 0;
    let mut wbuf = Vec::with_capacity(1 << 17);
    loop {
        let n = s.read(&mut rbuf[rlen..])?;
        if n == 0 {
            return Ok(());
        }
        rlen += n;
        let mut p = 0;
        // RFC 1035 §4.2.2: two-octet length prefix per message.
        while rlen - p >= 2 {
            let m = usize::from(u16::from_be_bytes([rbuf[p], rbuf[p + 1]]));
            if rlen - p < 2 + m {
                break;
            }
            let fate = faults.next_fate();
            let msg = &mut rbuf[p + 2..p + 2 + m];
            if fate != Fate::Drop && make_echo(msg) {
                if fate == Fate::Mangle {
                    mangle(msg);
                }
                for _ in 0..if fate == Fate::Duplicate { 2 } else { 1 } {
                    wbuf.extend_from_slice(&rbuf[p..p + 2 + m]);
                }
            }
            p += 2 + m;
        }
        rbuf.copy_within(p..rlen, 0);
        rlen -= p;
        s.write_all(&wbuf)?;
        wbuf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_sets_qr_only() {
        let mut q = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        assert!(make_echo(&mut q));
        assert_eq!(q[..4], [0x12, 0x34, 0x81, 0x00]);
        assert!(!make_echo(&mut [1, 2]));
    }

    #[test]
    fn faults_count() {
        let mut f = Faults::new(10, 0, 0);
        assert_eq!((0..100).filter(|_| f.next_fate() == Fate::Drop).count(), 10);
        let mut f = Faults::default();
        assert!((0..100).all(|_| f.next_fate() == Fate::Echo));
        let mut f = Faults::new(10, 5, 3);
        let fates: Vec<Fate> = (0..30).map(|_| f.next_fate()).collect();
        assert_eq!(fates.iter().filter(|&&x| x == Fate::Drop).count(), 3);
        assert_eq!(fates.iter().filter(|&&x| x == Fate::Duplicate).count(), 3); // 5, 15, 25
        assert_eq!(fates.iter().filter(|&&x| x == Fate::Mangle).count(), 8); // 3,6,9,12,18,21,24,27
    }

    #[test]
    fn mangle_changes_qtype_only() {
        let mut q =
            b"\x12\x34\x81\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01".to_vec();
        mangle(&mut q);
        assert_eq!(&q[q.len() - 4..], b"\x00\x41\x00\x01");
    }
}
