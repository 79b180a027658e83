//! `--dhcp-hostsdir` and `--dhcp-optsdir` with dnsmasq's semantics: a file added or changed in
//! the directories takes effect without SIGHUP (inotify), a bad line is reported with file and
//! line and the good ones kept; lines removed (a file changed or deleted) stay in force until
//! SIGHUP. A path that is not a directory stops the start with a message.

use std::process::Command;

use ringmasq_tests::binary::ringmasq_bin;
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
    let out = net.dhclient(&["-1"]);
    let leases = std::fs::read_to_string(net.dhclient_leases()).unwrap_or_default();
    (out, leases)
}

/// Writes `text` to `path` as editors do: a temporary file renamed over it.
fn replace(path: &std::path::Path, text: &str) {
    let tmp = path.with_file_name(".tmp-write");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn dhcp_hostsdir_and_optsdir_follow_the_directories() {
    if !dhcp_lab::usable() {
        return;
    }
    let net = DhcpLab::new("hd");
    let hosts = net.dir.join("hosts.d");
    let opts = net.dir.join("opts.d");
    std::fs::create_dir_all(&hosts).unwrap();
    std::fs::create_dir_all(&opts).unwrap();
    std::fs::write(hosts.join("other"), "02:77:00:00:00:99,10.77.0.30\n").unwrap();
    let hd = format!("--dhcp-hostsdir={}", hosts.display());
    let od = format!("--dhcp-optsdir={}", opts.display());

    // Not a directory: refused at start, naming the option and path.
    let not_dir = format!("--dhcp-hostsdir={}", hosts.join("other").display());
    let bin = ringmasq_bin().expect("ringmasq binary");
    let out = Command::new("timeout")
        .args(["10", "ip", "netns", "exec", net.server.name()])
        .arg(&bin)
        .args(["-d", "--port=0", "--conf-file=/dev/null", dhcp_lab::RANGE])
        .arg(format!("--dhcp-leasefile={}", net.lease_file().display()))
        .arg(&not_dir)
        .output()
        .expect("run ringmasq");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with a file as hostsdir");
    assert!(
        err.contains("not a directory") && err.contains("dhcp-hostsdir"),
        "{err}"
    );

    let server = net.ringmasq(&[&hd, &od]);
    let (out, leases) = fresh_dhclient(&net);
    assert!(
        out.contains("DHCPACK of 10.77.0.") && !out.contains("DHCPACK of 10.77.0.21"),
        "{out}"
    );
    assert!(leases.contains("option routers 10.77.0.1;"), "{leases}");

    // New files, no SIGHUP: a router option (and a bad line, reported with its file and
    // line), then a fixed address for our MAC.
    std::fs::write(
        opts.join("router"),
        "option:router,10.77.0.5\nnot-an-option,x\n",
    )
    .unwrap();
    net.wait_log("DHCP: 0 host(s) and 1 option(s) added from directories");
    let want = format!("{}:2: ", opts.join("router").display());
    assert!(net.log().contains(&want), "no {want:?} in\n{}", net.log());
    std::fs::write(
        hosts.join("lab"),
        format!("{CLIENT_MAC},10.77.0.21,dirhost\n"),
    )
    .unwrap();
    net.wait_log("DHCP: 1 host(s) and 0 option(s) added from directories");
    let (out, leases) = fresh_dhclient(&net);
    assert!(
        out.contains("DHCPACK of 10.77.0.21"),
        "{out}\n{}",
        net.log()
    );
    assert!(leases.contains("option routers 10.77.0.5;"), "{leases}");

    // The host line changed, the options file deleted: the new address applies at once, the
    // router option stays until SIGHUP.
    replace(
        &hosts.join("lab"),
        &format!("{CLIENT_MAC},10.77.0.22,dirhost\n"),
    );
    std::fs::remove_file(opts.join("router")).unwrap();
    net.wait_log_count("DHCP: 1 host(s) and 0 option(s) added from directories", 2);
    let (out, leases) = fresh_dhclient(&net);
    assert!(
        out.contains("DHCPACK of 10.77.0.22"),
        "{out}\n{}",
        net.log()
    );
    assert!(leases.contains("option routers 10.77.0.5;"), "{leases}");

    // The hosts file deleted too: still in force until SIGHUP.
    std::fs::remove_file(hosts.join("lab")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    let (out, _) = fresh_dhclient(&net);
    assert!(
        out.contains("DHCPACK of 10.77.0.22"),
        "{out}\n{}",
        net.log()
    );

    // SIGHUP: the directories are read afresh; what was removed is gone.
    server.signal(libc::SIGHUP);
    net.wait_log_count(&format!("read {}", hosts.display()), 2);
    let (out, leases) = fresh_dhclient(&net);
    assert!(
        out.contains("DHCPACK of 10.77.0.")
            && !out.contains("DHCPACK of 10.77.0.21")
            && !out.contains("DHCPACK of 10.77.0.22"),
        "{out}\n{}",
        net.log()
    );
    assert!(leases.contains("option routers 10.77.0.1;"), "{leases}");
    server.stop(libc::SIGTERM);
}
