//! `ringmasq-lease-time ADDR`: asks the DHCP server on this host (127.0.0.1:67) how long the
//! lease on ADDR has left, as dnsmasq's `dhcp_lease_time` does
//! ([`ringmasq_proto::dhcp::lease_time`]). Prints `1d2h3m4s` or `infinite` with no newline and
//! exits 0; exits 1 when the address has no lease or no answer comes within 3 seconds.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ringmasq_proto::dhcp::lease_time::{self, LeaseTime};

fn xid() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

fn run(args: &[String]) -> Result<LeaseTime, String> {
    let [addr] = args else {
        return Err("usage: ringmasq-lease-time <address>".into());
    };
    let addr: Ipv4Addr = addr.parse().map_err(|_| format!("bad address {addr:?}"))?;
    let xid = xid();
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.send_to(&lease_time::query(addr, xid), (Ipv4Addr::LOCALHOST, 67))
        .map_err(|e| format!("send to 127.0.0.1:67: {e}"))?;
    let end = Instant::now() + Duration::from_secs(3);
    let mut buf = [0u8; 1500];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("no answer from a DHCP server on 127.0.0.1:67".into());
        }
        sock.set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match sock.recv(&mut buf) {
            Ok(n) => {
                if let Some(t) = lease_time::parse_answer(&buf[..n], xid) {
                    return Ok(t);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(LeaseTime::Remaining(s)) => {
            print!("{}", lease_time::format_remaining(s));
            ExitCode::SUCCESS
        }
        Ok(LeaseTime::Infinite) => {
            print!("infinite");
            ExitCode::SUCCESS
        }
        Ok(LeaseTime::NoLease) => {
            eprintln!("ringmasq-lease-time: no lease for {}", args[0]);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("ringmasq-lease-time: {e}");
            ExitCode::FAILURE
        }
    }
}
