//! A lease stored without a client identifier is matched by MAC when the client sends one, as
//! dnsmasq does; the lease then gains the client id.

use std::net::Ipv4Addr;

use super::packet::code;
use super::tests::{WALL, build, config, run};
use super::*;

const MAC: [u8; 6] = [0x52, 0x54, 0, 0xab, 0xcd, 0xef];
const SID: [u8; 4] = [10, 77, 0, 1];

fn clid() -> Vec<u8> {
    let mut id = vec![1];
    id.extend_from_slice(&MAC);
    id
}

fn discover(with_clid: bool) -> Vec<u8> {
    let id = clid();
    let extra: Vec<(u8, &[u8])> = if with_clid {
        vec![(code::CLIENT_ID, &id)]
    } else {
        Vec::new()
    };
    build(1, MAC, Ipv4Addr::UNSPECIFIED, &extra)
}

fn request(addr: Ipv4Addr, with_clid: bool) -> Vec<u8> {
    let id = clid();
    let a = addr.octets();
    let mut extra: Vec<(u8, &[u8])> = vec![(code::REQUESTED_IP, &a), (code::SERVER_ID, &SID)];
    if with_clid {
        extra.push((code::CLIENT_ID, &id));
    }
    build(3, MAC, Ipv4Addr::UNSPECIFIED, &extra)
}

fn no_ping() -> DhcpConfig {
    DhcpConfig {
        ping: false,
        ..config()
    }
}

#[test]
fn lease_from_file_without_client_id_kept_by_mac() {
    let s = Server::new(no_ping()).unwrap();
    // A lease file line with `*` for the client id, at an address the hash would not give.
    let line = format!("{} 52:54:00:ab:cd:ef 10.77.0.120 vm *\n", WALL + 3600);
    let leases = lease_file::parse(&line).leases;
    assert!(s.allocator().restore(&leases[0], false, WALL));
    let (_, offer, _) = run(&s, WALL, &discover(true)).unwrap();
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(10, 77, 0, 120));
    let (_, ack, journal) = run(&s, WALL + 1, &request(offer.yiaddr(), true)).unwrap();
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(10, 77, 0, 120));
    assert!(!journal.is_empty());
    let snap = s.allocator().snapshot(WALL + 1);
    assert_eq!(snap.len(), 1, "one lease, not two: {snap:?}");
    assert_eq!(snap[0].client_id.as_deref(), Some(&clid()[..]));
    // The lease is now the client id's: the same client renews it by its id.
    let (_, ack, _) = run(&s, WALL + 2, &request(offer.yiaddr(), true)).unwrap();
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(10, 77, 0, 120));
    assert_eq!(s.allocator().len(), 1);
}

#[test]
fn earlier_exchange_without_client_id_kept_by_mac() {
    let s = Server::new(config()).unwrap();
    let (_, offer, _) = run(&s, WALL, &discover(false)).unwrap();
    let a = offer.yiaddr();
    run(&s, WALL, &request(a, false)).unwrap();
    // Later with option 61: the same address, the OFFER unprobed (its own lease).
    let (_, offer, _) = run(&s, WALL + 60, &discover(true)).unwrap();
    assert_eq!(offer.yiaddr(), a);
    let (_, ack, _) = run(&s, WALL + 61, &request(a, true)).unwrap();
    assert_eq!(ack.yiaddr(), a);
    assert_eq!(s.allocator().snapshot(WALL + 61).len(), 1);
}

#[test]
fn lease_with_another_client_id_is_not_taken_over() {
    let s = Server::new(no_ping()).unwrap();
    let line = format!(
        "{} 52:54:00:ab:cd:ef 10.77.0.120 vm ff:00:00:00:01\n",
        WALL + 3600
    );
    let leases = lease_file::parse(&line).leases;
    assert!(s.allocator().restore(&leases[0], false, WALL));
    let (_, offer, _) = run(&s, WALL, &discover(true)).unwrap();
    assert_ne!(offer.yiaddr(), Ipv4Addr::new(10, 77, 0, 120));
    assert_eq!(s.allocator().len(), 2);
}
