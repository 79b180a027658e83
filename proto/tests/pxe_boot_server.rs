//! The PXE boot server (port 4011, PXE 2.1 §2.2.5) and proxy-DHCP offers on requests laid out
//! as a PXE ROM sends them: which boot items are answered, and the round trip of the boot item
//! (type and layer asked in option 43 sub-option 71 come back in the ACK's sub-option 71, with
//! the item's file) as a proptest; arbitrary and mutated datagrams keep every invariant of
//! `check_boot_server` (the `pxe_boot_server` fuzz target's).

use std::net::{Ipv4Addr, SocketAddrV4};

use proptest::prelude::*;
use ringmasq_proto::dhcp::packet::{OptionTable, code, msg, parse};
use ringmasq_proto::dhcp::pxe::PXE_CLIENT;
use ringmasq_proto::dhcp::pxe_fuzzing::{
    SERVER, boot_item_option, check_boot_server, item_file, rom_request, server,
};
use ringmasq_proto::dhcp::{Action, InterfaceInfo, Ipv4Net, Scratch};
use ringmasq_proto::time::Instant;

const MAC: [u8; 6] = [0x02, 0x70, 0, 0, 0, 9];
const CIADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 9);

/// The boot server's reply to `req`, if any.
fn ack(req: &[u8]) -> Option<Vec<u8>> {
    let mut sc = Scratch::default();
    let addrs = [Ipv4Net {
        addr: SERVER,
        prefix: 24,
    }];
    let iface = InterfaceInfo {
        index: 2,
        name: "eth0",
        addrs: &addrs,
    };
    let src = SocketAddrV4::new(CIADDR, 68);
    match server().handle_boot_server(&mut sc, Instant::default(), 1_700_000_000, &iface, src, req)
    {
        Action::Reply { bytes, .. } => Some(bytes.to_vec()),
        _ => None,
    }
}

/// The `file` field up to its first NUL.
fn file(b: &[u8]) -> String {
    let f = &b[108..236];
    String::from_utf8_lossy(&f[..f.iter().position(|c| *c == 0).unwrap_or(f.len())]).into_owned()
}

/// Sub-option 71 (type, layer) of the reply's option 43.
fn echoed_item(b: &[u8]) -> Option<(u16, u16)> {
    let mut back = b.to_vec();
    back[0] = 1;
    let mut t = OptionTable::default();
    parse(&back, &mut t).ok()?;
    let v = t.get(code::VENDOR)?;
    let mut i = 0;
    while i + 1 < v.len() && v[i] != 255 {
        if v[i] == 0 {
            i += 1;
            continue;
        }
        let (c, l) = (v[i], usize::from(v[i + 1]));
        let body = v.get(i + 2..i + 2 + l)?;
        if c == 71 && l == 4 {
            return Some((
                u16::from_be_bytes([body[0], body[1]]),
                u16::from_be_bytes([body[2], body[3]]),
            ));
        }
        i += 2 + l;
    }
    None
}

#[test]
fn boot_items_answered_others_dropped() {
    for (typ, layer, want) in [
        (0x8000, 0, Some("pxelinux.0")),
        (0x8000, 0x8003, Some("pxelinux.3")),
        (0x8001, 0, Some("efi/grubx64.efi")),
        // Behind tag `ipxe`: this client sends no user class iPXE.
        (0x8002, 0, None),
        (0, 0, None),
        (12, 0, None),
        (0x8003, 0, None),
    ] {
        let req = rom_request(msg::REQUEST, MAC, CIADDR, 0, &boot_item_option(typ, layer));
        assert_eq!(check_boot_server(&req).0, want.is_some());
        let got = ack(&req);
        assert_eq!(
            got.as_deref().map(file).as_deref(),
            want,
            "type {typ:#x} layer {layer}"
        );
        if let Some(b) = got {
            assert_eq!(echoed_item(&b), Some((typ, layer)));
            assert_eq!(b[16..20], CIADDR.octets(), "yiaddr = ciaddr");
        }
    }
    // With user class iPXE (option 77) the tagged item is served.
    let mut extra = vec![77, 4];
    extra.extend_from_slice(b"iPXE");
    extra.extend_from_slice(&boot_item_option(0x8002, 0));
    let b = ack(&rom_request(msg::REQUEST, MAC, CIADDR, 0, &extra)).expect("iPXE item");
    assert_eq!(file(&b), "ipxe.kpxe");
    // A DISCOVER, no boot item, or a client that is not PXE: no answer on 4011.
    let item = boot_item_option(0x8000, 0);
    assert!(ack(&rom_request(msg::DISCOVER, MAC, CIADDR, 0, &item)).is_none());
    assert!(ack(&rom_request(msg::REQUEST, MAC, CIADDR, 0, &[])).is_none());
    let mut not_pxe = rom_request(msg::REQUEST, MAC, CIADDR, 0, &item);
    let at = not_pxe.windows(9).position(|w| w == PXE_CLIENT).unwrap();
    not_pxe[at] = b'X';
    assert!(ack(&not_pxe).is_none());
}

#[test]
fn proxy_offer_only_to_pxe_clients() {
    for csa in [0, 7] {
        let req = rom_request(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, csa, &[]);
        assert_eq!(check_boot_server(&req), (false, true), "arch {csa}");
    }
    let mut req = rom_request(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, 0, &[]);
    let at = req.windows(9).position(|w| w == PXE_CLIENT).unwrap();
    req[at] = b'X';
    assert_eq!(check_boot_server(&req), (false, false));
}

fn sub_option() -> impl Strategy<Value = Vec<u8>> {
    (1u8..=254, prop::collection::vec(any::<u8>(), 0..12)).prop_filter_map(
        "not the boot item",
        |(c, body)| {
            (c != 71).then(|| {
                let mut o = vec![c, body.len() as u8];
                o.extend_from_slice(&body);
                o
            })
        },
    )
}

proptest! {
    /// Any boot item asked for, among other sub-options and padding: a configured file item
    /// comes back as the same (type, layer) with its file; anything else is dropped.
    #[test]
    fn boot_item_round_trip(
        typ in prop_oneof![Just(0x8000u16), Just(0x8001), Just(0x8002), Just(0), any::<u16>()],
        layer in any::<u16>(),
        csa in prop_oneof![Just(0u16), Just(7), Just(9)],
        before in prop::collection::vec(sub_option(), 0..4),
        pad in 0usize..3,
    ) {
        let mut body: Vec<u8> = before.concat();
        body.extend(std::iter::repeat_n(0u8, pad));
        body.extend_from_slice(&[71, 4]);
        body.extend_from_slice(&typ.to_be_bytes());
        body.extend_from_slice(&layer.to_be_bytes());
        body.push(255);
        let mut extra = vec![43, body.len() as u8];
        extra.extend_from_slice(&body);
        let req = rom_request(msg::REQUEST, MAC, CIADDR, csa, &extra);
        check_boot_server(&req);
        let reply = ack(&req);
        prop_assert_eq!(reply.is_some(), matches!(typ, 0x8000 | 0x8001));
        if let Some(b) = reply {
            prop_assert_eq!(echoed_item(&b), Some((typ, layer)));
            prop_assert_eq!(file(&b), item_file(typ, layer).unwrap());
        }
    }

    /// Any bytes: no panic, and whatever is answered keeps the invariants.
    #[test]
    fn never_panics(data in prop::collection::vec(any::<u8>(), 0..600)) {
        check_boot_server(&data);
    }

    /// A good request with one byte changed, then cut short anywhere.
    #[test]
    fn mutated_requests(at in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
        let mut req = rom_request(msg::REQUEST, MAC, CIADDR, 0, &boot_item_option(0x8000, 1));
        let n = req.len();
        req[at % n] = byte;
        check_boot_server(&req);
        req.truncate(cut.min(n));
        check_boot_server(&req);
    }
}
