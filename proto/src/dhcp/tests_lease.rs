//! Server tests of a lease's life after the ACK: RENEW, REBIND, RELEASE and DECLINE, two
//! workers racing for the same clients, and restoring leases from the lease file and journal.

use std::net::Ipv4Addr;
use std::sync::Arc;

use dhcproto::v4;

use super::packet::msg;
use super::tests::*;
use super::*;
use crate::time::Instant;

#[test]
fn renew_rebind_release_decline() {
    let s = Server::new(config()).unwrap();
    let mac = [2, 0, 0, 0, 0, 9];
    let (ip, ack) = discover_request(&s, mac);
    let sid = SERVER.octets();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    // RENEWING at T1: unicast, ciaddr set, no 50/54 -> ACK unicast to ciaddr.
    let (to, ack, j) = run(&s, WALL + 21600, &build(msg::REQUEST, mac, ip, &[])).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    assert_eq!(to, ReplyTo::Unicast(ip));
    assert_eq!(ack.ciaddr(), ip);
    let journal::Record::Upsert(l) = journal::decode(&j).unwrap().0 else {
        panic!()
    };
    assert_eq!(l.expires, WALL + 21600 + 43200);
    // REBINDING after expiry of the hold but with the lease still ours.
    let (_, ack, _) = run(&s, WALL + 60000, &build(msg::REQUEST, mac, ip, &[])).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    // INIT-REBOOT asking for a wrong-network address -> NAK, broadcast.
    let (to, nak, _) = run(
        &s,
        WALL,
        &build(
            msg::REQUEST,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &[192, 168, 9, 9])],
        ),
    )
    .unwrap();
    assert_eq!(msg_type(&nak), Some(v4::MessageType::Nak));
    assert_eq!(to, ReplyTo::Broadcast);
    // Another client asking for our address -> NAK.
    let (_, nak, _) = run(
        &s,
        WALL,
        &build(
            msg::REQUEST,
            [2, 0, 0, 0, 0, 8],
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip.octets())],
        ),
    )
    .unwrap();
    assert_eq!(msg_type(&nak), Some(v4::MessageType::Nak));
    // RELEASE removes the lease and journals a removal.
    let (_, _, j) = run(&s, WALL, &build(msg::RELEASE, mac, ip, &[(54, &sid)])).unwrap();
    assert_eq!(journal::decode(&j).unwrap().0, journal::Record::Remove(ip));
    assert!(s.allocator().snapshot(WALL).is_empty());
    assert_eq!(
        run(&s, WALL, &build(msg::RELEASE, mac, ip, &[])).unwrap_err(),
        DropReason::NotHeld
    );
    // DECLINE quarantines: the next DISCOVER gets another address.
    let (ip2, _) = discover_request(&s, mac);
    let (_, _, j) = run(
        &s,
        WALL,
        &build(
            msg::DECLINE,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip2.octets()), (54, &sid)],
        ),
    )
    .unwrap();
    assert_eq!(journal::decode(&j).unwrap().0, journal::Record::Remove(ip2));
    assert!(s.allocator().quarantined(ip2, WALL + 1));
    let (_, offer, _) = run(
        &s,
        WALL + 1,
        &build(
            msg::DISCOVER,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip2.octets())],
        ),
    )
    .unwrap();
    assert_ne!(offer.yiaddr(), ip2);
}

#[test]
fn two_workers_race_on_the_same_clients() {
    let s = Arc::new(
        Server::new(DhcpConfig {
            lease_max: 10_000,
            ..config()
        })
        .unwrap(),
    );
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut sc = Scratch::default();
                let a = addrs();
                let mut got = Vec::new();
                for i in 0..60u8 {
                    let mac = [2, 1, 0, 0, 0, i];
                    let d = build(msg::DISCOVER, mac, Ipv4Addr::UNSPECIFIED, &[]);
                    let (Action::Reply { bytes, .. } | Action::Probe { bytes, .. }) =
                        s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), &d)
                    else {
                        panic!()
                    };
                    let ip = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
                    let r = build(
                        msg::REQUEST,
                        mac,
                        Ipv4Addr::UNSPECIFIED,
                        &[(50, &ip.octets()), (54, &SERVER.octets())],
                    );
                    match s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), &r) {
                        Action::Reply { bytes, .. } => {
                            assert_eq!(
                                bytes[242],
                                msg::ACK,
                                "the same client's concurrent requests agree"
                            );
                            got.push(ip);
                        }
                        other => panic!("{other:?}"),
                    }
                }
                got
            })
        })
        .collect();
    let res: Vec<Vec<Ipv4Addr>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(res[0], res[1]);
    let mut all = res[0].clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60);
    assert_eq!(s.allocator().snapshot(WALL).len(), 60);
}

#[test]
fn lease_file_and_journal_restore() {
    let s = Server::new(config()).unwrap();
    run(&s, WALL, DHCLIENT_DISCOVER).unwrap();
    let (_, _, j1) = run(&s, WALL, DHCLIENT_REQUEST).unwrap();
    run(&s, WALL, UDHCPC_DISCOVER).unwrap();
    let (_, _, j2) = run(&s, WALL, UDHCPC_REQUEST).unwrap();
    let file = lease_file::emit(&s.allocator().snapshot(WALL), &[]);
    let mut journal_bytes = [j1, j2].concat();
    journal_bytes.truncate(journal_bytes.len() - 3);
    // Restart: file + journal (torn tail) into a fresh allocator.
    let s2 = Server::new(config()).unwrap();
    for l in lease_file::parse(&file).leases {
        assert!(s2.allocator().restore(&l, false, WALL));
    }
    let r = journal::replay(&journal_bytes);
    assert_eq!(r.records.len(), 1);
    for rec in &r.records {
        if let journal::Record::Upsert(l) = rec {
            s2.allocator().restore(l, false, WALL);
        }
    }
    assert_eq!(s2.allocator().snapshot(WALL), s.allocator().snapshot(WALL));
    // The restored client renews its address.
    let (_, ack, _) = run(&s2, WALL + 10, DHCLIENT_REQUEST).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(10, 77, 0, 107));
}

/// DISCOVER, then REQUEST (SELECTING: options 50 and 54) of the offered address, at `WALL`:
/// the offered address and the reply to the REQUEST.
fn discover_request(s: &Server, mac: [u8; 6]) -> (Ipv4Addr, v4::Message) {
    let (_, offer, _) = run(
        s,
        WALL,
        &build(msg::DISCOVER, mac, Ipv4Addr::UNSPECIFIED, &[]),
    )
    .unwrap();
    let ip = offer.yiaddr();
    let (_, reply, _) = run(
        s,
        WALL,
        &build(
            msg::REQUEST,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip.octets()), (54, &SERVER.octets())],
        ),
    )
    .unwrap();
    (ip, reply)
}
