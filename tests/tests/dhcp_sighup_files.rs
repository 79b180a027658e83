//! `--dhcp-hostsfile` and `--dhcp-optsfile` are read again on SIGHUP: a new fixed address and a
//! new option take effect, and a bad line is reported with file and line.

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab};

#[test]
fn hostsfile_and_optsfile_reread_on_sighup() {
    if !dhcp_lab::usable() {
        return;
    }
    let net = DhcpLab::new("h");
    let hosts = net.dir.join("dhcp-hosts");
    let opts = net.dir.join("dhcp-opts");
    std::fs::write(&hosts, "# none yet\n02:77:00:00:00:99,10.77.0.30\n").unwrap();
    std::fs::write(&opts, "option:ntp-server,10.77.0.8\n").unwrap();
    let hf = format!("--dhcp-hostsfile={}", hosts.display());
    let of = format!("--dhcp-optsfile={}", opts.display());
    let server = net.ringmasq(&[&hf, &of]);
    let first = net.udhcpc();
    assert!(
        first != "10.77.0.21" && first.starts_with("10.77.0."),
        "{first}"
    );
    std::fs::write(
        &hosts,
        format!("02:77:00:00:00:99,10.77.0.30\n{CLIENT_MAC},10.77.0.21,filehost\nbad line,,\n"),
    )
    .unwrap();
    std::fs::write(&opts, "option:router,10.77.0.5\n").unwrap();
    server.signal(libc::SIGHUP);
    net.wait_log_count(&format!("read {}", hosts.display()), 2);
    assert!(
        net.log().contains(":3: "),
        "bad line not reported:\n{}",
        net.log()
    );
    // dhclient (no client identifier, so the MAC's entry is free for it) gets the new fixed
    // address and the options file's new router.
    let out = net.dhclient(&["-1"]);
    assert!(out.contains("DHCPACK of 10.77.0.21"), "{out}");
    let leases = std::fs::read_to_string(net.dhclient_leases()).unwrap();
    assert!(leases.contains("option routers 10.77.0.5;"), "{leases}");
    server.stop(libc::SIGTERM);
}
