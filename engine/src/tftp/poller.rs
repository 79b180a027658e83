//! The portable TFTP loop (`--io-backend=epoll`, or io_uring unavailable): epoll
//! (level-triggered) over the listeners and the transfer sockets.
//!
//! One loop turn: wait at most until the next timer scan, read one datagram from each ready
//! transfer socket and feed it to its transfer, then carry out what the service queued —
//! each window of DATA blocks in one `sendmmsg`, the payloads pointing straight into the shared
//! file bytes. Every [`TICK`], the transfers whose deadline passed get their timeout. A file
//! the cache does not hold is read here with plain blocking reads.

use std::os::fd::AsRawFd;

use anyhow::{Context, Result};

use super::net::{MAX_BATCH, recv, send_parts};
use super::outbox::{Out, Owner, Route};
use super::service::{TICK, TftpService};
use crate::clock;
use crate::epoll::{Epoll, Token};

/// Token numbers at or above this are transfers (slot numbers); below, listeners.
const TRANSFER_BASE: u32 = 1 << 20;

/// Runs `service` on epoll until it is told to stop.
pub fn run(mut service: TftpService) -> Result<()> {
    let epoll = Epoll::new().context("epoll for TFTP")?;
    for (i, fd) in service.listener_fds().into_iter().enumerate() {
        epoll.add(fd, Token::Tftp(i as u32), false)?;
    }
    // The transfer behind each watched slot (its serial tells a reused slot apart).
    let mut watched: Vec<Option<Owner>> = Vec::new();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let mut next_tick = clock::now();
    while !service.stopping() {
        // Transfers waiting for bytes another thread reads are looked at again soon.
        let wait = if service.has_waiting() {
            2
        } else {
            TICK.as_millis() as i32
        };
        let n = epoll.wait(&mut events, wait)?;
        let now = clock::now();
        for ev in &events[..n] {
            let Token::Tftp(i) = Epoll::token(ev) else {
                continue;
            };
            if i < TRANSFER_BASE {
                // Level-triggered: what is left is reported again next turn.
                let _ = service.listener_readable(i as usize, now);
            } else if let Some(Some(owner)) = watched.get((i - TRANSFER_BASE) as usize).copied()
                && let Some(fd) = service.transfer_fd(owner)
            {
                match recv(fd, &mut buf) {
                    Ok(Some(r)) => service.transfer_datagram(owner, &buf[..r.len], now),
                    Ok(None) => {}
                    // An ICMP error queued on the connected socket: the client is gone.
                    Err(_) => service.transfer_failed(owner),
                }
            }
            carry_out(&mut service, &epoll, &mut watched, &mut out);
        }
        if now >= next_tick {
            next_tick = now.saturating_add(TICK);
            service.tick(now);
        }
        service.poll_waiting();
        carry_out(&mut service, &epoll, &mut watched, &mut out);
    }
    Ok(())
}

/// Does what the service queued, until it queues nothing more (a failed send can end a
/// transfer, which queues its socket's close).
fn carry_out(
    service: &mut TftpService,
    epoll: &Epoll,
    watched: &mut Vec<Option<Owner>>,
    out: &mut Vec<Out>,
) {
    while service.has_out() {
        service.take_out(out);
        for o in out.drain(..) {
            match o {
                Out::Blocks(b) => {
                    let mut parts: [([u8; 4], &[u8]); MAX_BATCH] = [([0; 4], &[]); MAX_BATCH];
                    let mut blocks = b.datagrams();
                    loop {
                        let mut n = 0;
                        for p in blocks.by_ref().take(MAX_BATCH) {
                            parts[n] = p;
                            n += 1;
                        }
                        if n == 0 || !sent(service, Some(b.owner), b.route, &parts[..n], true) {
                            break;
                        }
                    }
                }
                Out::Packet {
                    owner,
                    route,
                    bytes,
                    keep,
                } => {
                    if bytes.len() >= 4 {
                        let hdr = [bytes[0], bytes[1], bytes[2], bytes[3]];
                        sent(service, owner, route, &[(hdr, &bytes[4..])], false);
                    }
                    drop(keep);
                }
                Out::Load { mut loader, file } => {
                    // The portable backend reads with plain blocking reads.
                    let st = service.stats();
                    match loader.read_blocking(&file) {
                        Ok(n) => {
                            st.add(&st.file_reads, 1);
                            st.add(&st.bytes_read, n as u64);
                        }
                        Err(e) => tracing::warn!("TFTP: reading a file failed: {e}"),
                    }
                }
                Out::Watch { owner, fd } => {
                    let i = owner.slot as usize;
                    if watched.len() <= i {
                        watched.resize(i + 1, None);
                    }
                    watched[i] = Some(owner);
                    if let Err(e) = epoll.add(fd, Token::Tftp(TRANSFER_BASE + owner.slot), false) {
                        tracing::warn!("TFTP: {e}");
                        service.transfer_failed(owner);
                    }
                }
                Out::Close { owner, sock } => {
                    let _ = epoll.delete(sock.as_raw_fd());
                    if let Some(w) = watched.get_mut(owner.slot as usize)
                        && *w == Some(owner)
                    {
                        *w = None;
                    }
                }
            }
        }
    }
}

/// Sends `parts` along `route` (counted as DATA when `data`); false when the transfer should
/// stop sending (the send failed).
fn sent(
    service: &mut TftpService,
    owner: Option<Owner>,
    route: Route,
    parts: &[([u8; 4], &[u8])],
    data: bool,
) -> bool {
    match send_parts(route.fd, parts, route.to, route.from) {
        Ok(k) => {
            if data {
                let st = service.stats();
                st.add(&st.data_sent, k as u64);
            }
            true
        }
        // A full socket buffer loses packets like the network would; the timer resends.
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => {
            if let Some(o) = owner {
                service.transfer_failed(o);
            }
            false
        }
    }
}
