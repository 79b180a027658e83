//! Invariants the `pxe_boot_server` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`): the PXE boot server on port 4011 (PXE 2.1 §2.2.5) and the
//! proxy-DHCP offer (§2.2.3) on any datagram.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::OnceLock;

use super::config::{DhcpConfig, Range, RangeMode, TagCond};
use super::matching::{MatchRule, MatchValue, Matcher};
use super::packet::{HEADER_LEN, OptionTable, code, msg, parse};
use super::pxe::{BootSpec, PXE_CLIENT, Pxe, PxeBoot, PxePrompt, PxeService};
use super::server::{Action, InterfaceInfo, Ipv4Net, Scratch, Server};
use crate::time::Instant;

/// The boot server's address (and the dynamic range's subnet).
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The address on the proxy-DHCP subnet.
pub const PROXY: Ipv4Addr = Ipv4Addr::new(10, 79, 0, 1);
/// Boot server types of the configured basename items, in order (dnsmasq numbers them from
/// 0x8000): `pxelinux` (x86PC), `efi/grubx64.efi` (x86-64 EFI), `ipxe.kpxe` (x86PC, tag
/// `ipxe` only).
pub const ITEM_TYPES: [u16; 3] = [0x8000, 0x8001, 0x8002];

fn svc(tags: &[&str], csa: u16, menu: &str, boot: PxeBoot) -> PxeService {
    PxeService {
        tags: tags
            .iter()
            .map(|t| TagCond {
                tag: (*t).into(),
                negated: false,
            })
            .collect(),
        csa,
        menu: menu.into(),
        boot,
        server: None,
    }
}

/// The PXE part of both fuzzed servers: a menu (three file items, one of them behind a tag, a
/// local-boot item and a boot server type), a prompt, `--dhcp-boot`, and tag `ipxe` for user
/// class `iPXE`.
fn pxe_config(ranges: Vec<Range>) -> DhcpConfig {
    DhcpConfig {
        ranges,
        matches: vec![MatchRule {
            tag: "ipxe".into(),
            matcher: Matcher::Option {
                code: 77,
                value: MatchValue::Substring(b"iPXE".to_vec()),
            },
        }],
        boot: vec![BootSpec {
            tags: Vec::new(),
            file: "pxelinux.0".into(),
            server_name: None,
            server_addr: None,
        }],
        pxe_services: vec![
            svc(
                &[],
                0,
                "Install Linux",
                PxeBoot::Basename("pxelinux".into()),
            ),
            svc(&[], 7, "UEFI", PxeBoot::Basename("efi/grubx64.efi".into())),
            svc(&["ipxe"], 0, "iPXE", PxeBoot::Basename("ipxe.kpxe".into())),
            svc(&[], 0, "Boot from disk", PxeBoot::Type(0)),
            svc(&[], 0, "Other server", PxeBoot::Type(12)),
        ],
        pxe_prompts: vec![PxePrompt {
            tags: Vec::new(),
            text: "Press F8 for the menu".into(),
            timeout: 10,
        }],
        authoritative: true,
        ..DhcpConfig::default()
    }
}

/// The boot server: the PXE configuration and a dynamic range on [`SERVER`]'s subnet.
pub fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let range = Range::new(Ipv4Addr::new(10, 77, 0, 50), Ipv4Addr::new(10, 77, 0, 200));
        Server::new(pxe_config(vec![range])).expect("fuzz configuration")
    })
}

/// The proxy-DHCP server: the PXE configuration and only a proxy range on [`PROXY`]'s subnet,
/// so every reply it gives is a proxy offer.
pub fn proxy_server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let mut proxy = Range::new(Ipv4Addr::new(10, 79, 0, 0), Ipv4Addr::new(10, 79, 0, 0));
        proxy.mode = RangeMode::Proxy;
        Server::new(pxe_config(vec![proxy])).expect("fuzz configuration")
    })
}

/// The file the boot server names for basename item `typ` at `layer` (PXE 2.1 §2.2.5: a
/// basename without extension gets `.LAYER`, bits 0-14).
pub fn item_file(typ: u16, layer: u16) -> Option<String> {
    match typ {
        0x8000 => Some(format!("pxelinux.{}", layer & 0x7fff)),
        0x8001 => Some("efi/grubx64.efi".into()),
        0x8002 => Some("ipxe.kpxe".into()),
        _ => None,
    }
}

/// Checks one reply to `req`: a BOOTREPLY of 300-1500 bytes for the same transaction and
/// hardware address, whose options parse and carry `PXEClient` (option 60) and a server id,
/// and no lease (the boot server and proxy-DHCP never record one). Returns the reply's
/// options, parsed.
fn check_reply(req: &[u8], bytes: &[u8], journal: &[u8], kind: u8) -> OptionTable {
    assert!(journal.is_empty(), "a PXE-only reply carries no lease");
    assert!(bytes.len() >= 300 && bytes.len() <= 1500, "reply size");
    assert_eq!(bytes[0], 2);
    assert_eq!(bytes[4..8], req[4..8], "xid");
    let hlen = usize::from(req[2]).min(16);
    assert_eq!(bytes[28..28 + hlen], req[28..28 + hlen], "chaddr");
    let mut back = bytes.to_vec();
    back[0] = 1;
    let mut t = OptionTable::default();
    parse(&back, &mut t).expect("our reply's options parse");
    assert!(back.len() > HEADER_LEN);
    assert_eq!(t.get(code::MESSAGE_TYPE), Some(&[kind][..]));
    assert_eq!(t.get(code::VENDOR_CLASS), Some(PXE_CLIENT));
    assert!(t.get(code::SERVER_ID).is_some_and(|v| v.len() == 4));
    t
}

fn interface(addrs: &[Ipv4Net]) -> InterfaceInfo<'_> {
    InterfaceInfo {
        index: 2,
        name: "eth0",
        addrs,
    }
}

/// Hands `data` to the boot server (from a client at 10.77.0.9:68) and, as a datagram on the
/// proxy subnet, to the proxy-DHCP server's DHCP port. Panics on a broken invariant: see [`check_reply`]; an ACK
/// from the boot server answers a request naming a configured basename item, echoes that item
/// (type and layer, option 43 sub-option 71), names its file and has `yiaddr` = `ciaddr`; a
/// proxy reply is an OFFER without an address. Returns whether each answered (boot server,
/// proxy).
pub fn check_boot_server(data: &[u8]) -> (bool, bool) {
    let s = server();
    let mut sc = Scratch::default();
    let addrs = [Ipv4Net {
        addr: SERVER,
        prefix: 24,
    }];
    let src = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 9), 68);
    let wall = 1_700_000_000;
    let action = s.handle_boot_server(
        &mut sc,
        Instant::default(),
        wall,
        &interface(&addrs),
        src,
        data,
    );
    let mut answered = (false, false);
    if let Action::Reply { bytes, journal, .. } = action {
        answered.0 = true;
        let t = check_reply(data, bytes, journal, msg::ACK);
        let mut req = OptionTable::default();
        let r = parse(data, &mut req).expect("an answered request parses");
        assert!(matches!(r.msg_type, Some(msg::REQUEST | msg::INFORM)));
        let item = Pxe::boot_item(&req).expect("an answered request names a boot item");
        assert_eq!(Pxe::boot_item(&t), Some(item), "boot item echoed");
        let file = item_file(item.0, item.1).expect("only basename items are answered");
        let f = &bytes[108..236];
        let end = f.iter().position(|c| *c == 0).unwrap_or(f.len());
        assert_eq!(&f[..end], file.as_bytes(), "boot file");
        assert_eq!(bytes[16..20], data[12..16], "yiaddr = ciaddr");
    }
    let proxy = [Ipv4Net {
        addr: PROXY,
        prefix: 24,
    }];
    let src = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68);
    let action = proxy_server().handle(
        &mut sc,
        Instant::default(),
        wall,
        &interface(&proxy),
        src,
        data,
    );
    if let Action::Reply { bytes, journal, .. } = action {
        answered.1 = true;
        check_reply(data, bytes, journal, msg::OFFER);
        assert_eq!(
            bytes[16..20],
            [0, 0, 0, 0],
            "a proxy offer hands out no address"
        );
    }
    answered
}

/// What a BIOS PXE ROM sends (PXE 2.1 §2.2.1): message `kind` from `mac` with `ciaddr`, option
/// 60 `PXEClient:Arch:<csa>:UNDI:002001`, 93, 94, 97 (UUID) and a parameter request list,
/// then `extra` options.
pub fn rom_request(kind: u8, mac: [u8; 6], ciaddr: Ipv4Addr, csa: u16, extra: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; HEADER_LEN];
    p[..4].copy_from_slice(&[1, 1, 6, 0]);
    p[4..8].copy_from_slice(&0x7e57_0001u32.to_be_bytes());
    p[10] = 0x80;
    p[12..16].copy_from_slice(&ciaddr.octets());
    p[28..34].copy_from_slice(&mac);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    let vc = format!("PXEClient:Arch:{csa:05}:UNDI:002001");
    p.extend_from_slice(&[60, vc.len() as u8]);
    p.extend_from_slice(vc.as_bytes());
    p.extend_from_slice(&[93, 2]);
    p.extend_from_slice(&csa.to_be_bytes());
    p.extend_from_slice(&[94, 3, 1, 2, 1, 97, 17, 0]);
    p.extend_from_slice(&[0x5a; 16]);
    p.extend_from_slice(&[55, 6, 1, 3, 43, 60, 66, 67]);
    p.extend_from_slice(extra);
    p.push(255);
    p
}

/// Option 43 with sub-option 71 asking for boot item `typ`, `layer` (PXE 2.1 §2.2.5).
pub fn boot_item_option(typ: u16, layer: u16) -> Vec<u8> {
    let mut o = vec![43, 7, 71, 4];
    o.extend_from_slice(&typ.to_be_bytes());
    o.extend_from_slice(&layer.to_be_bytes());
    o.push(255);
    o
}
