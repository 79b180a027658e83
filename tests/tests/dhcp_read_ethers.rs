//! `--read-ethers`: `/etc/ethers` lines act as `dhcp-host` lines (MAC with an address, MAC with
//! a name), a bad line is reported with file and line, and the file is read again on SIGHUP.
//! The server runs with an overlay on `/etc` in its own mount namespace, so the host's
//! `/etc/ethers` is never touched.

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab};

/// A fresh dhclient (previous one stopped, no lease remembered): its output and lease file.
fn fresh_dhclient(net: &DhcpLab) -> (String, String) {
    if let Ok(pid) = std::fs::read_to_string(net.dir.join("dhclient.pid"))
        && let Ok(pid) = pid.trim().parse::<i32>()
    {
        // SAFETY: stops the dhclient this test started, by the PID file it wrote.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(net.dhclient_leases());
    let out = net.dhclient_conf(
        "request subnet-mask, routers, host-name, domain-name;\n",
        &["-1"],
    );
    let leases = std::fs::read_to_string(net.dhclient_leases()).unwrap_or_default();
    (out, leases)
}

#[test]
fn read_ethers_hosts_and_sighup() {
    if !dhcp_lab::usable() {
        return;
    }
    let net = DhcpLab::new("et");
    let upper = net.dir.join("etc-upper");
    std::fs::create_dir_all(&upper).unwrap();
    let ethers = upper.join("ethers");
    std::fs::write(
        &ethers,
        format!("# lab\n{CLIENT_MAC}\t10.77.0.33\n2:77:0:0:0:98 other-host\nnot-a-mac here\n"),
    )
    .unwrap();
    let server = net.ringmasq_etc_overlay(&upper, &["--read-ethers"]);
    net.wait_log("read /etc/ethers - 2 addresses");
    assert!(net.log().contains("/etc/ethers:4: "), "{}", net.log());
    let (out, _) = fresh_dhclient(&net);
    assert!(
        out.contains("DHCPACK of 10.77.0.33"),
        "{out}\n{}",
        net.log()
    );

    // Now a name only: after SIGHUP the client gets a dynamic address and that name.
    std::fs::write(&ethers, format!("{CLIENT_MAC} ethhost\n")).unwrap();
    server.signal(libc::SIGHUP);
    net.wait_log("read /etc/ethers - 1 addresses");
    let (out, leases) = fresh_dhclient(&net);
    assert!(
        out.contains("DHCPACK of 10.77.0.") && !out.contains("DHCPACK of 10.77.0.33"),
        "{out}\n{}",
        net.log()
    );
    assert!(
        leases.contains("option host-name \"ethhost\";"),
        "{leases}\n{}",
        net.log()
    );
    server.stop(libc::SIGTERM);
}
