//! DNS replies over UDP leave with Don't Fragment set (RFC 9715 §3.1, R1) while every reply fits
//! a 1,280-octet path (the default `--edns-packet-max` of 1,232), and with the kernel's default
//! (fragmentation allowed) once `--edns-packet-max` is raised above that. The replies are read
//! off the loopback device with a packet socket: with Don't Fragment and the path MTU ignored,
//! the kernel sets DF and leaves the IPv4 ID at 0 (it picks no ID for a datagram that is never
//! fragmented); with the default it picks one per datagram.

use anyhow::{Context, ensure};
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{decode, encode, make_query, next_id};
use ringmasq_tests::{Backend, Ringmasq, backend_tests};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The IPv4 header fields this test reads from one captured reply.
#[derive(Debug, Clone, Copy)]
struct ReplyHeader {
    dont_fragment: bool,
    id: u16,
}

/// A packet socket on the loopback device seeing every IPv4 frame on it.
fn loopback_capture() -> anyhow::Result<OwnedFd> {
    let proto = (libc::ETH_P_IP as u16).to_be();
    // SAFETY: plain socket(2) call; the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
    ensure!(
        fd >= 0,
        "packet socket: {} (the test needs root)",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fd` is a new descriptor no one else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let name = c"lo";
    // SAFETY: `name` is a NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    ensure!(ifindex != 0, "no loopback device");
    // SAFETY: an all-zero sockaddr_ll is valid; the fields set below name lo and IPv4.
    let mut ll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = proto;
    ll.sll_ifindex = ifindex as i32;
    // SAFETY: `ll` is valid for its size for the duration of the call.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&ll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    ensure!(
        rc == 0,
        "binding the packet socket to lo: {}",
        std::io::Error::last_os_error()
    );
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: passes a live timeval and its size.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    Ok(fd)
}

/// Reads frames until the UDP datagram from `server` to `client` shows up (other tests'
/// loopback traffic is skipped), and returns its IPv4 header fields.
fn captured_reply(
    capture: &OwnedFd,
    server: SocketAddr,
    client: SocketAddr,
) -> anyhow::Result<ReplyHeader> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut frame = vec![0u8; 65_536];
    while Instant::now() < deadline {
        // SAFETY: `frame` is writable for its whole length.
        let n = unsafe {
            libc::recv(
                capture.as_raw_fd(),
                frame.as_mut_ptr().cast(),
                frame.len(),
                0,
            )
        };
        if n < 0 {
            continue;
        }
        // The loopback device's frames carry a 14-octet Ethernet header.
        let Some(ip) = frame.get(14..n as usize) else {
            continue;
        };
        if ip.len() < 28 || ip[0] >> 4 != 4 || ip[9] != libc::IPPROTO_UDP as u8 {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let Some(udp) = ip.get(ihl..ihl + 8) else {
            continue;
        };
        let sport = u16::from_be_bytes([udp[0], udp[1]]);
        let dport = u16::from_be_bytes([udp[2], udp[3]]);
        if sport == server.port() && dport == client.port() {
            return Ok(ReplyHeader {
                dont_fragment: ip[6] & 0x40 != 0,
                id: u16::from_be_bytes([ip[4], ip[5]]),
            });
        }
    }
    anyhow::bail!("no reply from {server} to {client} seen on lo")
}

/// Asks `rm` for `df.test` A `n` times and returns each reply's IPv4 header fields.
fn reply_headers(rm: &Ringmasq, n: usize) -> anyhow::Result<Vec<ReplyHeader>> {
    let capture = loopback_capture()?;
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let client = sock.local_addr()?;
    let mut headers = Vec::new();
    for _ in 0..n {
        let id = next_id();
        let q = encode(&make_query(id, "df.test.", RecordType::A, DNSClass::IN)?)?;
        sock.send_to(&q, rm.addr())?;
        let mut buf = [0u8; 1500];
        let (len, _) = sock.recv_from(&mut buf).context("no answer")?;
        let m = decode(&buf[..len])?;
        ensure!(
            m.metadata.id == id && m.answers.len() == 1,
            "unexpected answer {m:?}"
        );
        headers.push(captured_reply(&capture, rm.addr(), client)?);
    }
    Ok(headers)
}

fn dont_fragment(backend: Backend) -> anyhow::Result<()> {
    // The default packet limit: DF on every reply, and no IP ID picked for it.
    let rm = Ringmasq::builder(backend)
        .arg("--address=/df.test/192.0.2.7")
        .spawn()?;
    let headers = reply_headers(&rm, 3)?;
    ensure!(
        headers.iter().all(|h| h.dont_fragment && h.id == 0),
        "replies with the default --edns-packet-max: {headers:?}, want DF set and ID 0"
    );
    drop(rm);

    // A raised limit: the kernel's default, which picks an ID for every datagram it may
    // fragment (three IDs all 0 by chance: 1 in 2^48).
    let rm = Ringmasq::builder(backend)
        .arg("--address=/df.test/192.0.2.7")
        .arg("--edns-packet-max=4096")
        .spawn()?;
    let headers = reply_headers(&rm, 3)?;
    ensure!(
        headers.iter().any(|h| h.id != 0),
        "replies with --edns-packet-max=4096: {headers:?}, want the kernel's default (IDs set)"
    );
    Ok(())
}

backend_tests!(dont_fragment);
