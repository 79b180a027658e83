//! DHCPv6 with ISC dhclient -6 in a namespace: a lease from the pool (SOLICIT, ADVERTISE,
//! REQUEST, REPLY), its name (Client FQDN) answering AAAA and PTR; on a clean stop the lease
//! file holds it in dnsmasq's format after the `duid` line; restarted on that file, the server
//! keeps its DUID and gives dhclient (started again on its lease) the same address;
//! `dhclient -6 -r` releases it and the lease leaves the file.

use std::time::{Duration, Instant};

use ringmasq_tests::lab6::{Lab6, last_iaaddr, usable};

fn wait_file(
    path: &std::path::Path,
    pred: impl Fn(&str) -> bool,
    what: &str,
    log: impl Fn() -> String,
) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if pred(&text) {
            return text;
        }
        assert!(
            Instant::now() < end,
            "{what}: lease file:\n{text}\nserver log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn dig(lab: &Lab6, args: &[&str]) -> String {
    let mut a = vec!["dig", "@::1", "-p", "5353", "+short"];
    a.extend_from_slice(args);
    String::from_utf8_lossy(&lab.in_server(&a).stdout)
        .trim()
        .to_string()
}

#[test]
fn obtain_keep_and_release() {
    if !usable(&["dhclient", "dig"]) {
        return;
    }
    let mut lab = Lab6::new("dh", &["fd00:66::1/64"]);
    let leases = lab.path("leases");
    let leasefile = format!("--dhcp-leasefile={}", leases.display());
    let args = [
        "--port=5353",
        "--listen-address=::1",
        "--domain=lab6",
        "--local=/lab6/",
        "--no-resolv",
        "--dhcp-range=fd00:66::100,fd00:66::1ff,64,2h",
        &leasefile,
    ];
    lab.start_ringmasq(&args);
    lab.wait_log(
        "DHCPv6, IP range fd00:66::100 -- fd00:66::1ff",
        Duration::from_secs(5),
    );
    let conf = "send fqdn.fqdn \"client6\";\nsend fqdn.server-update off;\n";
    let out = lab.dhclient6(conf, &[]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    let addr = last_iaaddr(&got).unwrap_or_else(|| panic!("no lease:\n{out}\n{}", lab.log()));
    let last: u128 = addr.parse::<std::net::Ipv6Addr>().unwrap().into();
    assert!(
        addr.starts_with("fd00:66::") && (0x100..=0x1ff).contains(&(last & 0xffff)),
        "{addr}"
    );
    assert!(got.contains("max-life 7200"), "{got}");
    // The log is written by the logger thread: the line may follow the reply by a moment.
    lab.wait_log("DHCPREQUEST(rmq6s)", Duration::from_secs(5));
    // The name answers AAAA (under --domain too) and the address PTR.
    let end = Instant::now() + Duration::from_secs(5);
    while dig(&lab, &["AAAA", "client6.lab6"]) != addr && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(dig(&lab, &["AAAA", "client6.lab6"]), addr);
    assert_eq!(dig(&lab, &["-x", &addr]), "client6.lab6.");
    // A clean stop: the lease file has the duid line, then `EXPIRY IAID ADDR NAME DUID`.
    lab.stop_ringmasq();
    let text = wait_file(
        &leases,
        |t| t.contains(&format!(" {addr} client6 ")),
        "lease line",
        || lab.log(),
    );
    let lines: Vec<&str> = text.lines().collect();
    let duid_at = lines
        .iter()
        .position(|l| l.starts_with("duid 00:01:00:01:"))
        .expect("duid line");
    let line = lines.iter().find(|l| l.contains(&addr)).unwrap();
    assert!(lines.iter().position(|l| l == line).unwrap() > duid_at);
    let f: Vec<&str> = line.split_whitespace().collect();
    let expiry: u64 = f[0].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!((now + 7000..=now + 7300).contains(&expiry), "{line}");
    assert!(f[1].parse::<u32>().is_ok() && f[4].contains(':'), "{line}");
    lab.start_ringmasq(&args);
    lab.wait_log("DHCPv6: 1 lease(s) restored", Duration::from_secs(5));
    assert!(
        lab.log()
            .contains(lines[duid_at].trim_start_matches("duid ")),
        "{}",
        lab.log()
    );
    // dhclient again, on its lease: the same address.
    lab.kill_dhclient6();
    let out = lab.dhclient6(conf, &[]);
    let again = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    assert_eq!(last_iaaddr(&again).as_deref(), Some(addr.as_str()), "{out}");
    // Release: RELEASE reaches the server and the lease leaves the file.
    lab.kill_dhclient6();
    let out = lab.dhclient6(conf, &["-r"]);
    lab.wait_log("DHCPRELEASE(rmq6s)", Duration::from_secs(10));
    let end = Instant::now() + Duration::from_secs(5);
    while !dig(&lab, &["AAAA", "client6.lab6"]).is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(dig(&lab, &["AAAA", "client6.lab6"]), "", "{out}");
    lab.stop_ringmasq();
    let text = std::fs::read_to_string(&leases).unwrap();
    assert!(!text.contains(&addr) && text.starts_with("duid "), "{text}");
}
