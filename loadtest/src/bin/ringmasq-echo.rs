//! `ringmasq-echo`: answers each DNS datagram with the same bytes and QR set.
//! Prints `listening on ADDR` on stdout once bound (use port 0 for an ephemeral port).

use anyhow::Context;
use clap::Parser;
use ringmasq_load::affinity::pin_current_thread;
use ringmasq_load::echo::{Faults, serve_tcp, serve_udp, serve_udp_gro};
use ringmasq_load::echo_uring::{reply_socket, reusable_udp_socket, serve_udp_uring};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, UdpSocket};

/// Trivial DNS echo responder (one core): recvmmsg/sendmmsg, or io_uring with --io-uring.
#[derive(Debug, Parser)]
#[command(name = "ringmasq-echo", version)]
struct Args {
    /// Address to listen on, ADDR:PORT.
    #[arg(long, default_value = "127.0.0.1:5300")]
    listen: SocketAddr,
    /// Drop every Nth query (0: none).
    #[arg(long, default_value_t = 0)]
    drop_every: u64,
    /// Answer every Nth query twice (0: none).
    #[arg(long, default_value_t = 0)]
    duplicate_every: u64,
    /// Answer every Nth query with a changed QTYPE (0: none).
    #[arg(long, default_value_t = 0)]
    mangle_every: u64,
    /// Also answer TCP (length-framed) on the same port.
    #[arg(long)]
    tcp: bool,
    /// Pin the UDP loop to this CPU.
    #[arg(long)]
    cpu: Option<usize>,
    /// Let the kernel coalesce segmented (GSO) sends and answer them segmented (UDP_GRO):
    /// the ceiling for a generator that batches its sends. No fault injection.
    #[arg(long, conflicts_with_all = ["drop_every", "duplicate_every", "mangle_every"])]
    gro: bool,
    /// Serve UDP on io_uring as ringmasq's workers do (multishot receive into a buffer ring,
    /// sends without completions, one io_uring_enter per turn): the floor for a server of that
    /// design. No fault injection.
    #[arg(long, conflicts_with_all = ["drop_every", "duplicate_every", "mangle_every", "gro"])]
    io_uring: bool,
    /// With --io-uring, send the echoes from a second socket on the same IPv4 address and port,
    /// as ringmasq answers IPv4 clients (see `ringmasq_load::echo_uring::reply_socket`).
    #[arg(long, requires = "io_uring")]
    reply_socket: bool,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let sock = if a.reply_socket {
        reusable_udp_socket(a.listen)
    } else {
        UdpSocket::bind(a.listen)
    }
    .with_context(|| format!("bind {}", a.listen))?;
    let addr = sock.local_addr()?;
    if a.tcp {
        let l = TcpListener::bind(addr).with_context(|| format!("bind tcp {addr}"))?;
        let faults = Faults::new(a.drop_every, a.duplicate_every, a.mangle_every);
        std::thread::spawn(move || serve_tcp(l, faults));
    }
    if let Some(c) = a.cpu {
        pin_current_thread(c).with_context(|| format!("pin to CPU {c}"))?;
    }
    println!("listening on {addr}");
    std::io::stdout().flush()?;
    if a.gro {
        serve_udp_gro(&sock)?;
        return Ok(());
    }
    if a.io_uring {
        let reply = if a.reply_socket {
            Some(reply_socket(addr).context("reply socket")?)
        } else {
            None
        };
        serve_udp_uring(&sock, reply.as_ref())?;
        return Ok(());
    }
    serve_udp(
        &sock,
        Faults::new(a.drop_every, a.duplicate_every, a.mangle_every),
    )?;
    Ok(())
}
