//! Interface tracking without a restart: a prefix added to the server's interface while ringmasq
//! runs is advertised at once (a fresh burst, RFC 4861 6.2.4) and the client autoconfigures an
//! address in it; a prefix removed stops being advertised.

use std::time::{Duration, Instant};

use ringmasq_tests::lab6::{Lab6, usable};

#[test]
fn added_prefix_is_advertised_without_restart() {
    if !usable(&["rdisc6"]) {
        return;
    }
    let mut lab = Lab6::new("np", &["2001:db8:1::1/64"]);
    // A long interval: only the burst for the new prefix can make the client see it quickly.
    lab.start_ringmasq(&[
        "--port=0",
        "--enable-ra",
        "--dhcp-range=::,constructor:rmq6s,ra-only,1d",
        "--ra-param=rmq6s,1800",
    ]);
    lab.wait_client_addr("2001:db8:1:0:", Duration::from_secs(20));
    // Let the first burst's advertisements go by, so the next scheduled one is >= 16 s away.
    std::thread::sleep(Duration::from_secs(1));
    let added = Instant::now();
    lab.add_server_addr("2001:db8:2::1/64");
    lab.wait_client_addr("2001:db8:2:0:", Duration::from_secs(8));
    assert!(added.elapsed() < Duration::from_secs(8));
    lab.wait_log(
        "router advertisement on rmq6s changed",
        Duration::from_secs(2),
    );
    // Both prefixes are now advertised; then the first goes away and is no longer announced.
    let out = lab.rdisc6();
    assert!(
        out.contains("2001:db8:1::/64") && out.contains("2001:db8:2::/64"),
        "{out}"
    );
    let del = lab.in_server(&["ip", "addr", "del", "2001:db8:1::1/64", "dev", "rmq6s"]);
    assert!(del.status.success());
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let out = lab.rdisc6();
        if !out.contains("2001:db8:1::/64") && out.contains("2001:db8:2::/64") {
            break;
        }
        assert!(
            Instant::now() < end,
            "removed prefix still advertised:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
