//! Hostile router solicitations sent with a raw ICMPv6 socket from the client namespace to
//! ff02::2: short ones, a non-zero code, options of length zero, overrunning or cut short
//! (RFC 4861 §6.1.1: silently discarded), hop limits 64/1/254 (discarded: off-link), and
//! solicitations that are valid though odd — a link-layer address option lying about the
//! sender (broadcast MAC, 16-byte address), an unknown option (ignored, RFC 4861 §4.1), a set
//! reserved field. Then a flood of 2,000 solicitations. Each class lands in its own counter
//! of the SIGUSR1 statistics line, the multicast answers stay rate limited (RFC 4861 §6.2.6,
//! MIN_DELAY_BETWEEN_RAS = 3 s), and rdisc6 still gets an advertisement afterwards.

use std::time::{Duration, Instant};

use ringmasq_tests::lab6::{CLIENT_IF, Lab6, usable};
use ringmasq_tests::netns::run_in_named;

/// Sends each `(hop limit, ICMPv6 message)` to ff02::2 out of `ifname` (the kernel fills in
/// the checksum of raw ICMPv6 sockets, RFC 3542 §3.1).
fn send_rs(ns: &str, ifname: &'static str, msgs: Vec<(i32, Vec<u8>)>) {
    run_in_named(ns, move || {
        let name = std::ffi::CString::new(ifname).unwrap();
        // SAFETY: if_nametoindex reads the NUL-terminated name we own.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert!(index > 0, "no {ifname}");
        // SAFETY: a plain socket(2) call; the descriptor is closed below.
        let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6) };
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        let mut dst: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        dst.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        dst.sin6_addr.s6_addr = "ff02::2".parse::<std::net::Ipv6Addr>().unwrap().octets();
        dst.sin6_scope_id = index;
        for (hops, m) in msgs {
            // SAFETY: setsockopt with a c_int we own and its size; sendto with a buffer and
            // address we own, with their lengths.
            let sent = unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_HOPS,
                    (&hops as *const i32).cast(),
                    4,
                );
                libc::sendto(
                    fd,
                    m.as_ptr().cast(),
                    m.len(),
                    0,
                    (&dst as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            };
            assert_eq!(
                sent,
                m.len() as isize,
                "{}",
                std::io::Error::last_os_error()
            );
        }
        // SAFETY: closes the descriptor opened above.
        unsafe { libc::close(fd) };
    });
}

/// The counters of the last SIGUSR1 statistics line: (sent, solicitations, malformed, hop
/// limit).
fn counters(lab: &Lab6) -> (u64, u64, u64, u64) {
    let needle = "router advertisements sent ";
    let end = Instant::now() + Duration::from_secs(10);
    let before = lab.log().matches(needle).count();
    lab.signal_server(libc::SIGUSR1);
    while lab.log().matches(needle).count() <= before {
        assert!(Instant::now() < end, "no statistics:\n{}", lab.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = lab.log();
    let line = log.rsplit(needle).next().unwrap().lines().next().unwrap();
    let n = |key: &str| -> u64 {
        let t = if key.is_empty() {
            line
        } else {
            line.split(key).nth(1).unwrap()
        };
        t.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (n(""), n("solicitations "), n("malformed "), n("hop limit "))
}

/// Datagrams the kernel dropped on the server's raw ICMPv6 sockets (a full receive buffer):
/// the last column of `/proc/net/raw6` in the server namespace.
fn kernel_drops(lab: &Lab6) -> u64 {
    let out = lab.in_server(&["cat", "/proc/net/raw6"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

fn rs(code: u8, reserved: u8, options: &[u8]) -> Vec<u8> {
    let mut m = vec![133, code, 0, 0, reserved, 0, 0, 0];
    m.extend_from_slice(options);
    m
}

#[test]
fn hostile_solicitations_dropped_counted_and_rate_limited() {
    if !usable(&["rdisc6"]) {
        return;
    }
    let mut lab = Lab6::new("rh", &["2001:db8:5::1/64"]);
    lab.start_ringmasq(&["--enable-ra", "--dhcp-range=2001:db8:5::,ra-only,2h"]);
    lab.wait_log("router advertisement on rmq6s", Duration::from_secs(10));
    lab.wait_link_local();
    // The client's kernel solicits on its own until an advertisement reaches it: silence it,
    // so that the counts below are of this test's solicitations only.
    let quiet = lab.in_client(&[
        "sysctl",
        "-qw",
        &format!("net.ipv6.conf.{CLIENT_IF}.router_solicitations=0"),
    ]);
    assert!(quiet.status.success(), "{quiet:?}");
    let (_, sol0, mal0, hop0) = counters(&lab);
    let slla = [1u8, 1, 0x02, 0x66, 0, 0, 0, 2];
    let malformed: Vec<Vec<u8>> = vec![
        vec![133, 0, 0, 0, 0, 0],               // shorter than the fixed part
        rs(1, 0, &[]),                          // code 1
        rs(0, 0, &[1, 0, 0, 0, 0, 0, 0, 0]),    // option length 0
        rs(0, 0, &[1, 2, 2, 0x66, 0, 0, 0, 2]), // 16-byte option, 8 bytes present
        rs(0, 0, &[1]),                         // option header cut short
        rs(0, 0, &[slla.as_slice(), &[25, 0]].concat()), // a good option, then length 0
    ];
    let off_link: Vec<Vec<u8>> = vec![rs(0, 0, &slla); 3];
    let odd: Vec<Vec<u8>> = vec![
        rs(0, 0, &[]),
        rs(0, 0, &[1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // broadcast MAC as sender
        rs(
            0,
            0,
            &[
                1, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 1, 2, 3, 4, 5, 6, 7, 8,
            ],
        ), // 16 bytes
        rs(0, 0, &[200, 1, 9, 9, 9, 9, 9, 9]),                 // unknown option
        rs(0, 0xff, &slla),                                    // reserved bits set
    ];
    let mut msgs: Vec<(i32, Vec<u8>)> = malformed.iter().map(|m| (255, m.clone())).collect();
    msgs.extend([64, 1, 254].into_iter().zip(off_link.iter().cloned()));
    msgs.extend(odd.iter().map(|m| (255, m.clone())));
    send_rs(&lab.client, CLIENT_IF, msgs);
    let end = Instant::now() + Duration::from_secs(10);
    let (sent1, sol1, mal1, hop1) = loop {
        let c = counters(&lab);
        if c.1 - sol0 >= odd.len() as u64 || Instant::now() > end {
            break c;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        mal1 - mal0,
        malformed.len() as u64,
        "malformed\n{}",
        lab.log()
    );
    assert_eq!(hop1 - hop0, off_link.len() as u64, "hop limit");
    assert_eq!(sol1 - sol0, odd.len() as u64, "answered solicitations");

    // A flood of 2,000 good solicitations as fast as one socket sends them: each is counted
    // by the server or, when its socket buffer was full, by the kernel; the multicast answers
    // stay rate limited.
    let flood: Vec<(i32, Vec<u8>)> = (0..2000).map(|_| (255, rs(0, 0, &slla))).collect();
    let kernel0 = kernel_drops(&lab);
    let started = Instant::now();
    send_rs(&lab.client, CLIENT_IF, flood);
    let end = Instant::now() + Duration::from_secs(10);
    let (sent2, sol2, _, _) = loop {
        let c = counters(&lab);
        if c.1 - sol1 + kernel_drops(&lab) - kernel0 >= 2000 || Instant::now() > end {
            break c;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let secs = started.elapsed().as_secs();
    let kernel = kernel_drops(&lab) - kernel0;
    assert_eq!(sol2 - sol1 + kernel, 2000, "flood solicitations counted");
    assert!(
        sent2 - sent1 <= secs / 3 + 2,
        "{} advertisements for the flood in {secs} s",
        sent2 - sent1
    );
    // Still answering.
    let out = lab.rdisc6();
    assert!(out.contains("2001:db8:5::/64"), "{out}\n{}", lab.log());
    println!(
        "RA: {} malformed, {} off-link dropped; {} odd ones answered; 2,000-RS flood: {} \
         counted by the server, {kernel} dropped by the kernel (socket buffer), {} \
         advertisements in {secs} s",
        malformed.len(),
        off_link.len(),
        odd.len(),
        sol2 - sol1,
        sent2 - sent1
    );
}
