//! `ringmasq-release IFACE ADDR MAC [CLIENT_ID|*]`: releases a lease on the DHCP server running on
//! this host, with the arguments of dnsmasq's `dhcp_release`. It forges the DHCPRELEASE the client
//! would send ([`ringmasq_proto::dhcp::release`]) and sends it, bound to IFACE so the server sees
//! it arrive there, to the server's first IPv4 address on IFACE, port 67. MAC may carry an ARP
//! type prefix (`06-...`) as in the lease file. Needs root (or CAP_NET_RAW) to bind to IFACE.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::process::ExitCode;

use ringmasq_engine::access::interface_addrs;
use ringmasq_proto::dhcp::release;
use socket2::{Domain, Socket, Type};

fn xid() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

fn run(args: &[String]) -> Result<(), String> {
    let [iface, addr, mac, rest @ ..] = args else {
        return Err("usage: ringmasq-release <interface> <address> <MAC> [<client_id>|*]".into());
    };
    if rest.len() > 1 {
        return Err("too many arguments".into());
    }
    let addr: Ipv4Addr = addr.parse().map_err(|_| format!("bad address {addr:?}"))?;
    let (htype, hw) = release::parse_mac(mac).map_err(|e| e.to_string())?;
    let clid =
        release::parse_client_id(rest.first().map(String::as_str)).map_err(|e| e.to_string())?;
    let server = interface_addrs()
        .into_iter()
        .filter(|a| a.name == *iface)
        .find_map(|a| match a.addr {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .ok_or_else(|| format!("no IPv4 address on interface {iface}"))?;
    let packet = release::packet(addr, htype, &hw, clid.as_deref(), server, xid());
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, None).map_err(|e| e.to_string())?;
    sock.bind_device(Some(iface.as_bytes()))
        .map_err(|e| format!("cannot bind to {iface}: {e}"))?;
    sock.send_to(&packet, &SocketAddrV4::new(server, 67).into())
        .map_err(|e| format!("send to {server}:67: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringmasq-release: {e}");
            ExitCode::FAILURE
        }
    }
}
