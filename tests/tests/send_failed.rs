//! A reply the kernel refuses to send is dropped and counted (`send-failed` in the SIGUSR1
//! `dropped:` line), and service goes on. The query comes from UDP source port 0 (a raw IPv4
//! packet on loopback): the kernel takes it in, but will not send a datagram to port 0, so
//! the answer's send fails (EINVAL) on both backends. On io_uring that failure is the only
//! completion a send posts, so this also shows the failed-send completion is handled.

use anyhow::{Context, ensure};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{make_query, next_id};
use ringmasq_tests::drops::{delta, stats};
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Ringmasq, backend_tests};
use std::net::SocketAddr;
use std::time::Duration;

/// An IPv4 + UDP packet from 127.0.0.1 port 0 to `to` carrying `payload`. The kernel fills in
/// the IPv4 checksum and ID (raw socket, IP_HDRINCL); a UDP checksum of 0 means none
/// (RFC 768), which IPv4 allows.
fn packet_from_port_zero(to: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let SocketAddr::V4(to) = to else {
        unreachable!("the server listens on 127.0.0.1")
    };
    let total = 20 + 8 + payload.len();
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8]);
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, libc::IPPROTO_UDP as u8, 0, 0]);
    p.extend_from_slice(&[127, 0, 0, 1]);
    p.extend_from_slice(&to.ip().octets());
    let udp_len = (8 + payload.len()) as u16;
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&to.port().to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// Sends `packet` through a raw IPv4 socket to 127.0.0.1.
fn send_raw(packet: &[u8]) -> anyhow::Result<()> {
    // SAFETY: plain socket(2) call; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    ensure!(
        fd >= 0,
        "raw socket: {} (the test needs root)",
        std::io::Error::last_os_error()
    );
    // SAFETY: an all-zero sockaddr_in is valid; the fields set below make it 127.0.0.1.
    let mut to: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    to.sin_family = libc::AF_INET as libc::sa_family_t;
    to.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    // SAFETY: `packet` and `to` are valid for the lengths given for the duration of the call.
    let sent = unsafe {
        libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            0,
            (&to as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    ensure!(sent == packet.len() as isize, "raw sendto: {err}");
    Ok(())
}

fn send_failed(backend: Backend) -> anyhow::Result<()> {
    let mut rm = Ringmasq::builder(backend)
        .arg("--address=/local.test/192.0.2.1")
        .spawn()?;
    let before = stats(&rm)?;
    let query = make_query(next_id(), "x.local.test.", RecordType::A, DNSClass::IN)?
        .to_vec()
        .context("encode query")?;
    const SENT: u64 = 3;
    for _ in 0..SENT {
        send_raw(&packet_from_port_zero(rm.addr(), &query))?;
    }
    // Each query is answered from local data at once; wait for all three failed sends.
    let after = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        40,
        || {
            stats(&rm)
                .ok()
                .filter(|s| delta(&before, s, "send-failed") >= SENT)
        },
    )
    .with_context(|| format!("send-failed never rose by {SENT}"))?;
    ensure!(
        delta(&before, &after, "send-failed") == SENT,
        "send-failed rose by {}, expected {SENT}",
        delta(&before, &after, "send-failed")
    );
    rm.check_running()?;
    let m = rm.client().query("x.local.test.", RecordType::A)?;
    ensure!(
        m.metadata.response_code == ResponseCode::NoError && m.answers.len() == 1,
        "a normal query after the failed sends: {m:?}"
    );
    Ok(())
}

backend_tests!(send_failed);
