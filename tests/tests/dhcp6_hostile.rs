//! Hostile DHCPv6 datagrams sent from the client namespace (to ff02::1:2, from port 546, or
//! as a relay agent from port 547): bad option lengths, truncated IA_NA and IAADDR, a huge and
//! an odd-length ORO, unknown and server-to-client message types, relay layers nested 36 deep,
//! cut short or without a Relay Message, a RELAY-FORW without Interface-Id (answered: it is
//! optional, RFC 8415 §19.1.1) and with one (echoed, §19.3), every Client/Server Identifier rule
//! of RFC 8415 §16 broken once, and a RELEASE and a DECLINE of another client's address under a
//! lying Client Identifier (answered NoBinding, §18.3.7/§18.3.8; the owner keeps its lease).
//! Each is dropped with its logged reason and counted, or answered as the RFC says; the server
//! stays up and serves the real client throughout.

use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::time::Duration;

use ringmasq_tests::lab6::{CLIENT_IF, Lab6, usable};
use ringmasq_tests::netns::run_in_named;

const SOLICIT: u8 = 1;
const ADVERTISE: u8 = 2;
const REQUEST: u8 = 3;
const CONFIRM: u8 = 4;
const RENEW: u8 = 5;
const REPLY: u8 = 7;
const RELEASE: u8 = 8;
const DECLINE: u8 = 9;
const RECONFIGURE: u8 = 10;
const INFO_REQ: u8 = 11;
const RELAY_FORW: u8 = 12;
const RELAY_REPL: u8 = 13;

const CLIENTID: u16 = 1;
const SERVERID: u16 = 2;
const IA_NA: u16 = 3;
const IAADDR: u16 = 5;
const ORO: u16 = 6;
const ELAPSED: u16 = 8;
const RELAY_MSG: u16 = 9;
const STATUS: u16 = 13;
const INTERFACE_ID: u16 = 18;

fn opt(code: u16, v: &[u8]) -> Vec<u8> {
    let mut o = code.to_be_bytes().to_vec();
    o.extend_from_slice(&(v.len() as u16).to_be_bytes());
    o.extend_from_slice(v);
    o
}

fn duid(last: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 0x02, 0x66, 0, 0, 0x10, last]
}

fn ia_na(iaid: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = iaid.to_be_bytes().to_vec();
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(inner);
    opt(IA_NA, &v)
}

fn iaaddr(a: Ipv6Addr) -> Vec<u8> {
    let mut v = a.octets().to_vec();
    v.extend_from_slice(&[0; 8]);
    opt(IAADDR, &v)
}

fn message(t: u8, xid: u8, opts: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![t, 0x5a, 0x00, xid];
    for o in opts {
        m.extend_from_slice(o);
    }
    m
}

fn relay(link: Ipv6Addr, inner: &[u8], interface_id: Option<&[u8]>) -> Vec<u8> {
    let mut m = vec![RELAY_FORW, 0];
    m.extend_from_slice(&link.octets());
    m.extend_from_slice(&"fe80::66:1".parse::<Ipv6Addr>().unwrap().octets());
    if let Some(id) = interface_id {
        m.extend(opt(INTERFACE_ID, id));
    }
    m.extend(opt(RELAY_MSG, inner));
    m
}

/// The options of a message body (after a 4-byte header or a 34-byte relay header).
fn options(mut b: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let code = u16::from_be_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let Some(v) = b.get(4..4 + len) else { break };
        out.push((code, v.to_vec()));
        b = &b[4 + len..];
    }
    out
}

fn find(opts: &[(u16, Vec<u8>)], code: u16) -> Option<Vec<u8>> {
    opts.iter()
        .find(|(c, _)| *c == code)
        .map(|(_, v)| v.clone())
}

/// Sends each datagram from `port` in the client namespace (to ff02::1:2 on the lab link) and
/// returns what came back within `wait`, if anything.
fn exchange_within(
    lab: &Lab6,
    port: u16,
    msgs: Vec<Vec<u8>>,
    wait: Duration,
) -> Vec<Option<Vec<u8>>> {
    run_in_named(&lab.client, move || {
        let name = std::ffi::CString::new(CLIENT_IF).unwrap();
        // SAFETY: if_nametoindex reads the NUL-terminated name we own.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        let s = UdpSocket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0)).unwrap();
        s.set_read_timeout(Some(wait)).unwrap();
        let to = SocketAddrV6::new("ff02::1:2".parse().unwrap(), 547, 0, index);
        let mut buf = vec![0u8; 65536];
        msgs.into_iter()
            .map(|m| {
                s.send_to(&m, to).unwrap();
                s.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
            })
            .collect()
    })
}

/// [`exchange_within`] for datagrams that must be answered: up to 5 s each (a busy machine).
fn exchange(lab: &Lab6, port: u16, msgs: Vec<Vec<u8>>) -> Vec<Option<Vec<u8>>> {
    exchange_within(lab, port, msgs, Duration::from_secs(5))
}

#[test]
fn hostile_dhcpv6_dropped_counted_or_answered() {
    if !usable(&["dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("h6", &["fd00:69::1/64"]);
    let leasefile = format!("--dhcp-leasefile={}", lab.path("leases").display());
    lab.start_ringmasq(&["--dhcp-range=fd00:69::100,fd00:69::1ff", &leasefile]);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    lab.wait_link_local();
    let elapsed = opt(ELAPSED, &[0, 0]);
    let a = opt(CLIENTID, &duid(1));
    let b = opt(CLIENTID, &duid(2));

    // Client A: SOLICIT, then REQUEST the advertised address with the server's DUID.
    let solicit_a = message(SOLICIT, 1, &[a.clone(), ia_na(1, &[]), elapsed.clone()]);
    let adv = exchange(&lab, 546, vec![solicit_a])[0]
        .clone()
        .expect("ADVERTISE");
    assert_eq!(adv[0], ADVERTISE);
    let adv_opts = options(&adv[4..]);
    let server_id = opt(SERVERID, &find(&adv_opts, SERVERID).expect("server id"));
    let ia = find(&adv_opts, IA_NA).expect("IA_NA");
    let addr_opt = find(&options(&ia[12..]), IAADDR).expect("IAADDR");
    let addr = Ipv6Addr::from(<[u8; 16]>::try_from(&addr_opt[..16]).unwrap());
    let req = message(
        REQUEST,
        2,
        &[
            a.clone(),
            server_id.clone(),
            ia_na(1, &iaaddr(addr)),
            elapsed.clone(),
        ],
    );
    let reply = exchange(&lab, 546, vec![req])[0].clone().expect("REPLY");
    assert_eq!(reply[0], REPLY);

    let other_server = opt(SERVERID, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 9]);
    let huge_oro: Vec<u8> = (1..=700u16).flat_map(u16::to_be_bytes).collect();
    let mut deep = message(SOLICIT, 40, &[b.clone(), elapsed.clone()]);
    for _ in 0..36 {
        deep = relay("fd00:69::5".parse().unwrap(), &deep, None);
    }
    let mut past_end = message(SOLICIT, 41, std::slice::from_ref(&b));
    past_end.extend_from_slice(&[0, 6, 0, 0x40, 0, 23]);

    // (name, datagram, the reason it is dropped for).
    let dropped: Vec<(&str, Vec<u8>, &str)> = vec![
        ("short header", vec![SOLICIT, 0], "Malformed"),
        ("option past the end", past_end, "Malformed"),
        (
            "option header cut short",
            [
                message(SOLICIT, 42, std::slice::from_ref(&b)),
                vec![0, 8, 0],
            ]
            .concat(),
            "Malformed",
        ),
        (
            "unknown type 99",
            message(99, 43, std::slice::from_ref(&b)),
            "NotClientMessage",
        ),
        (
            "ADVERTISE to the server",
            message(ADVERTISE, 44, std::slice::from_ref(&b)),
            "NotClientMessage",
        ),
        (
            "REPLY to the server",
            message(REPLY, 45, std::slice::from_ref(&b)),
            "NotClientMessage",
        ),
        (
            "RECONFIGURE to the server",
            message(RECONFIGURE, 46, std::slice::from_ref(&b)),
            "NotClientMessage",
        ),
        (
            "RELAY-REPL to the server",
            relay("fd00:69::5".parse().unwrap(), &[1, 0, 0, 1], None)
                .into_iter()
                .enumerate()
                .map(|(i, x)| if i == 0 { RELAY_REPL } else { x })
                .collect(),
            "Malformed",
        ),
        (
            "SOLICIT without client id",
            message(SOLICIT, 47, std::slice::from_ref(&elapsed)),
            "NoClientId",
        ),
        (
            "SOLICIT naming a server",
            message(SOLICIT, 48, &[b.clone(), server_id.clone()]),
            "ServerId",
        ),
        (
            "REQUEST for another server",
            message(
                REQUEST,
                49,
                &[b.clone(), other_server.clone(), ia_na(2, &[])],
            ),
            "ServerId",
        ),
        (
            "REQUEST without server id",
            message(REQUEST, 50, &[b.clone(), ia_na(2, &[])]),
            "ServerId",
        ),
        (
            "RENEW without client id",
            message(RENEW, 51, &[server_id.clone(), ia_na(1, &iaaddr(addr))]),
            "NoClientId",
        ),
        (
            "INFORMATION-REQUEST for another server",
            message(INFO_REQ, 52, &[b.clone(), other_server.clone()]),
            "ServerId",
        ),
        (
            "CONFIRM without addresses",
            message(CONFIRM, 53, &[b.clone(), ia_na(2, &[])]),
            "NothingToConfirm",
        ),
        ("relays nested 36 deep", deep, "Malformed"),
        (
            "RELAY-FORW without a Relay Message",
            {
                let mut r = relay("fd00:69::5".parse().unwrap(), &[], None);
                r.truncate(34);
                r.extend(opt(INTERFACE_ID, b"eth0"));
                r
            },
            "Malformed",
        ),
        (
            "RELAY-FORW shorter than its header",
            vec![RELAY_FORW, 0, 0xfd, 0, 0, 0x69],
            "Malformed",
        ),
    ];
    let before = lab.log().matches(" dropped: ").count();
    // 400 ms to catch a reply that should not come.
    let got = exchange_within(
        &lab,
        546,
        dropped.iter().map(|d| d.1.clone()).collect(),
        Duration::from_millis(400),
    );
    for ((name, _, _), r) in dropped.iter().zip(&got) {
        assert!(r.is_none(), "{name}: answered {r:?}");
    }
    lab.wait_log(
        &format!("{} malformed or unusable packet(s) dropped", dropped.len()),
        Duration::from_secs(5),
    );
    let log = lab.log();
    let reasons: Vec<&str> = log
        .split(" dropped: ")
        .skip(1 + before)
        .map(|t| t.split_whitespace().next().unwrap_or(""))
        .collect();
    let want: Vec<&str> = dropped.iter().map(|d| d.2).collect();
    assert_eq!(reasons, want, "drop reasons in order\n{log}");

    // Answered though odd (RFC 8415 §16: unknown or unrequested options are ignored).
    let truncated_ia = opt(IA_NA, &[0, 0, 0, 3]);
    let overrun_iaaddr = {
        let mut v = 3u32.to_be_bytes().to_vec();
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&[0, 5, 0, 24, 0xfd, 0]);
        opt(IA_NA, &v)
    };
    let answered: Vec<(&str, Vec<u8>)> = vec![
        (
            "huge ORO",
            message(
                SOLICIT,
                60,
                &[b.clone(), ia_na(4, &[]), opt(ORO, &huge_oro)],
            ),
        ),
        (
            "odd-length ORO",
            message(
                SOLICIT,
                61,
                &[b.clone(), ia_na(4, &[]), opt(ORO, &[0, 23, 0])],
            ),
        ),
        (
            "IA_NA shorter than its fixed part",
            message(SOLICIT, 62, &[b.clone(), truncated_ia]),
        ),
        (
            "IAADDR overrunning its IA_NA",
            message(SOLICIT, 63, &[b.clone(), overrun_iaaddr]),
        ),
    ];
    let got = exchange(&lab, 546, answered.iter().map(|d| d.1.clone()).collect());
    let mut odd_outcomes = Vec::new();
    for ((name, _), r) in answered.iter().zip(&got) {
        let r = r
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no answer\n{}", lab.log()));
        assert_eq!(r[0], ADVERTISE, "{name}");
        assert!(r.len() < 1500, "{name}: {} bytes", r.len());
        odd_outcomes.push(format!("{name}: ADVERTISE of {} bytes", r.len()));
    }

    // Relay agents: without Interface-Id answered, with one echoed (RFC 8415 §19.3).
    let inner = message(SOLICIT, 70, &[b.clone(), ia_na(5, &[]), elapsed.clone()]);
    let link: Ipv6Addr = "fd00:69::5".parse().unwrap();
    let got = exchange(
        &lab,
        547,
        vec![
            relay(link, &inner, None),
            relay(link, &inner, Some(b"port-7")),
        ],
    );
    for (i, r) in got.iter().enumerate() {
        let r = r
            .as_ref()
            .unwrap_or_else(|| panic!("relay {i}: no RELAY-REPL\n{}", lab.log()));
        assert_eq!(r[0], RELAY_REPL, "relay {i}");
        let o = options(&r[34..]);
        assert_eq!(find(&o, RELAY_MSG).expect("relay message")[0], ADVERTISE);
        let id = find(&o, INTERFACE_ID);
        assert_eq!(
            id.as_deref(),
            (i == 1).then_some(b"port-7".as_slice()),
            "relay {i}"
        );
    }

    // Lies: B releases and declines A's address; both get NoBinding, A keeps its lease.
    let lies = vec![
        message(
            RELEASE,
            80,
            &[b.clone(), server_id.clone(), ia_na(1, &iaaddr(addr))],
        ),
        message(
            DECLINE,
            81,
            &[b.clone(), server_id.clone(), ia_na(1, &iaaddr(addr))],
        ),
        message(
            RENEW,
            82,
            &[
                a.clone(),
                server_id.clone(),
                ia_na(1, &iaaddr(addr)),
                elapsed,
            ],
        ),
    ];
    let got = exchange(&lab, 546, lies);
    for r in &got[..2] {
        let r = r.as_ref().expect("REPLY to a lying RELEASE/DECLINE");
        assert_eq!(r[0], REPLY);
        let ia = find(&options(&r[4..]), IA_NA).expect("IA_NA in the REPLY");
        let status = find(&options(&ia[12..]), STATUS).expect("status in the IA");
        assert_eq!(&status[..2], &[0, 3], "NoBinding");
    }
    let renew = got[2].as_ref().expect("REPLY to A's RENEW");
    let ia = find(&options(&renew[4..]), IA_NA).expect("IA_NA");
    let a_addr = find(&options(&ia[12..]), IAADDR).expect("A still has its address");
    assert_eq!(&a_addr[..16], &addr.octets());
    assert_ne!(&a_addr[20..24], &[0, 0, 0, 0], "valid lifetime");

    // A real client still gets a lease.
    lab.dhclient6("", &[]);
    let leases = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    assert!(
        leases.contains("iaaddr fd00:69::1"),
        "{leases}\n{}",
        lab.log()
    );
    println!(
        "DHCPv6: {} classes dropped with their reasons, {} answered: {odd_outcomes:?}, relays \
         with and without Interface-Id, 2 lying identifiers refused",
        dropped.len(),
        answered.len()
    );
}
